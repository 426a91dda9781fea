"""From per-image predictions to the pilot's statistics and its summary: accuracy, macro-F1,
differences against transfer paired over seeds and bootstrapped over evaluation images, the
measured winner when the evidence is clear, and the caveats when it is not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import f1_score

from advisor import __version__
from advisor.schema.pilot import ArmSummary, PairedDifference, PilotPlan, PilotResult, UnitResult
from advisor.schema.vocabulary import LINEAR_READING, PILOT_LEVEL, SSL_ARMS, TRANSFER

BOOTSTRAP = 2000
OVERRUN = 1.1
"""A run longer than this share of its time budget says so in its caveats."""
STILL_IMPROVING = 0.01
"""k-NN accuracy gained over the second half of the self-supervised phase above which SSL is
reported as still improving when the budget ran out."""


def scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1 (every class counts the same, whatever its size)."""
    accuracy = float(np.mean(truth == predicted))
    return accuracy, float(f1_score(truth, predicted, average="macro", zero_division=0))


def bootstrap_means(
    correct: Mapping[int, Mapping[str, np.ndarray]], arms: Sequence[str], seed: int = 0
) -> dict[str, np.ndarray]:
    """For each arm, BOOTSTRAP draws of its accuracy averaged over seeds. Within a seed every arm
    is scored on the same resampled images, so the draws are paired across arms."""
    rng = np.random.default_rng(seed)
    draws = {arm: np.zeros(BOOTSTRAP) for arm in arms}
    seeds = sorted(correct)
    for s in seeds:
        n = len(next(iter(correct[s].values())))
        picks = rng.integers(0, n, size=(BOOTSTRAP, n))
        for arm in arms:
            draws[arm] += correct[s][arm][picks].mean(axis=1) / len(seeds)
    return draws


def interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - PILOT_LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def best_share(draws: Mapping[str, np.ndarray]) -> dict[str, float]:
    """How often each arm is the best across the bootstrap draws; a draw where arms tie is
    shared among them, so two arms that both score every image right get half each rather
    than the first listed getting all of it."""
    arms = list(draws)
    stacked = np.stack([draws[arm] for arm in arms])
    top = stacked == stacked.max(axis=0)
    credit = top / top.sum(axis=0)
    return {arm: float(credit[k].mean()) for k, arm in enumerate(arms)}


def leaders(means: Mapping[str, float]) -> list[str]:
    """The arms with the highest mean accuracy: more than one only on an exact tie, which an
    easy evaluation set gives when several arms score every image right."""
    top = max(means.values())
    return [arm for arm, mean in means.items() if mean == top]


def summarise(
    plan: PilotPlan, units: list[UnitResult], seconds: float, sources: list[str]
) -> PilotResult:
    arms = [arm for arm in plan.arms if any(u.arm == arm for u in units)]
    summaries = []
    for arm in arms:
        mine = [u for u in units if u.arm == arm]
        accuracy = np.array([u.accuracy for u in mine])
        summaries.append(
            ArmSummary(
                arm=arm,
                seeds=len(mine),
                accuracy=round(float(accuracy.mean()), 5),
                accuracy_sd=round(float(accuracy.std(ddof=1)) if len(mine) > 1 else 0.0, 5),
                macro_f1=round(float(np.mean([u.macro_f1 for u in mine])), 5),
            )
        )
    seeds = sorted(
        {
            u.seed
            for u in units
            if all(any(v.arm == arm and v.seed == u.seed for v in units) for arm in arms)
        }
    )
    correct = {
        s: {u.arm: np.array(u.correct, dtype=float) for u in units if u.seed == s} for s in seeds
    }
    differences, best, winner, confidence = [], None, None, None
    caveats = []
    if seeds and TRANSFER in arms:
        draws = bootstrap_means(correct, arms)
        for arm in arms:
            if arm == TRANSFER:
                continue
            diff = (draws[arm] - draws[TRANSFER]) * 100
            low, high = interval(diff)
            means = [correct[s][arm].mean() - correct[s][TRANSFER].mean() for s in seeds]
            differences.append(
                PairedDifference(
                    arm=arm,
                    accuracy_points=round(float(np.mean(means)) * 100, 3),
                    low=round(low, 3),
                    high=round(high, 3),
                    level=PILOT_LEVEL,
                )
            )
        trained = [arm for arm in arms if arm != LINEAR_READING]
        shares = best_share({arm: draws[arm] for arm in trained})
        means = {arm: float(np.mean([correct[s][arm].mean() for s in seeds])) for arm in trained}
        tied = leaders(means)
        if len(tied) > 1:
            caveats.append(
                f"{' and '.join(tied)} tie at {means[tied[0]]:.1%} accuracy: this evaluation set "
                "cannot tell them apart, so there is no measured best."
            )
        else:
            best = tied[0]
            confidence = round(shares[best], 3)
            clear = (best == TRANSFER and all(d.high < 0 for d in differences)) or any(
                d.arm == best and d.low > 0 for d in differences
            )
            if clear:
                winner = best
            else:
                caveats.append(
                    f"No arm is clearly best: the measured best ({best}) is best in "
                    f"{confidence:.0%} of bootstrap draws, but a paired interval against tl "
                    "includes 0."
                )
    improving = None
    ssl_units = [u for u in units if u.arm in SSL_ARMS and len(u.curve) >= 2]
    if ssl_units:
        gains = [u.curve[-1].knn_accuracy - u.curve[-2].knn_accuracy for u in ssl_units]
        improving = bool(np.mean(gains) > STILL_IMPROVING)
        ssl_lost = best is not None and best not in SSL_ARMS
        if improving and ssl_lost:
            caveats.append(
                "Self-supervision was still improving when its steps ran out (k-NN accuracy "
                f"+{np.mean(gains) * 100:.1f} points over the second half), so this budget cannot "
                "judge it: a longer --budget may change the winner."
            )
            if winner is not None and winner not in SSL_ARMS:
                winner = None
    if plan.budget_seconds and seconds > OVERRUN * plan.budget_seconds:
        caveats.append(
            f"The pilot took {seconds:.0f} s, {seconds / plan.budget_seconds - 1:.0%} over its "
            f"budget of {plan.budget}: the steps per seed could not shrink enough to keep to it."
        )
    if len(seeds) < len(plan.seeds):
        caveats.append(f"Only {len(seeds)} of {len(plan.seeds)} seeds finished.")
    return PilotResult(
        tool_version=__version__,
        sources=sources,
        plan=plan,
        complete=len(seeds) == len(plan.seeds),
        seconds=round(seconds, 1),
        units=units,
        arms=summaries,
        differences=differences,
        measured_best=best,
        winner=winner,
        confidence=confidence,
        ssl_still_improving=improving,
        caveats=caveats,
        recommendation=None,
    )
