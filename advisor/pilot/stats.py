"""From per-image predictions to the pilot's statistics and its summary: accuracy, macro-F1,
differences against transfer paired over seeds and bootstrapped over evaluation images, the
measured winner when the evidence is clear, and the caveats when it is not."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import numpy as np
from sklearn.metrics import f1_score

from advisor import __version__
from advisor.pilot.curves import LEVEL as CURVE_LEVEL
from advisor.pilot.curves import fit_curve
from advisor.schema.decision import Gain
from advisor.schema.pilot import (
    ArmSummary,
    FailedRun,
    PairedDifference,
    PilotPlan,
    PilotResult,
    Projection,
    UnitResult,
)
from advisor.schema.vocabulary import (
    LINEAR_READING,
    PILOT_LEVEL,
    SELF_TRAINING,
    SSL_ARMS,
    TRANSFER,
)

BOOTSTRAP = 2000
STANDARD_NORMAL = NormalDist()
OVERRUN = 1.1
"""A run longer than this share of its time budget says so in its caveats."""
STILL_IMPROVING = 0.01
"""k-NN accuracy gained over the second half of the self-supervised phase above which SSL is
reported as still improving when the budget ran out."""
WORSE_FEATURES = 0.02
"""k-NN accuracy lost over the self-supervised phase from which it is reported as having made
the features worse (two points: above the reading's noise on a few hundred images)."""
STARTS_PRETRAINED = frozenset({"tl", "tl+ssl", "tl+st"})
PROTOCOL_RANGE = (0.5, 1.5)
"""Seeds whose fine-tuning steps are within these shares of the first seed's are replicates of
one protocol, compared together: the budget's re-planning moves the later seeds' steps within
them to spend the time left (``plan.replan``; wide on the short side, so that a machine up to
twice as slow as calibrated still fills its budget, narrow on the long side, since time to
spare goes into more replicates). Every difference is paired within a seed, so a seed at 30
steps and one at 50 each contribute a fair comparison; the mean mixes their lengths, which the
drift term of the interval (``DRIFT_POINTS``) is measured to cover."""
LONGER = 5
"""How many times longer a budget a pilot too short to judge suggests: a convention, the
factor the benchmark's longer runs use (``benchmarks/pilot_drift.py``)."""
MIDWAY_IMAGES = 400
"""Evaluation images every fine-tuned arm is also read on halfway through its fine-tuning (the
same ones for every arm of a seed): how far a difference still moved over the second half."""
DRIFT_POINTS = 0.99
"""Spread (one standard deviation, accuracy points) of a default pilot's difference against
``tl`` that neither its bootstrap nor its own second-half movement explains, measured against
runs 5x longer: on 9 differences of default pilots on the digits, MNIST and the solar cells, the
spread that brings the mean squared standardised change to 1 (``benchmarks/pilot_drift.py
report``; a development figure, the pairs in benchmarks/README.md). What a difference may still
move when the pilot is scaled up."""


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
    """The result: the arms compared over the seeds that ran one protocol (the steps most of
    them ran), failed runs set apart, and what the curves and the budget say."""
    arms = [arm for arm in plan.arms if any(u.arm == arm for u in units)]
    complete = sorted(
        {
            u.seed
            for u in units
            if all(any(v.arm == a and v.seed == u.seed for v in units) for a in arms)
        }
    )
    compared, protocol_note = _one_protocol(plan, complete)
    caveats = [protocol_note] if protocol_note else []
    failed = _failed_runs(plan, [u for u in units if u.seed in compared])
    caveats += [
        f"Failed run, not counted as evidence: {f.arm}, seed {f.seed}: {f.reason}." for f in failed
    ]
    summaries = [
        _arm_summary(arm, [u for u in units if u.arm == arm and u.seed in compared]) for arm in arms
    ]
    correct = {
        s: {u.arm: np.array(u.correct, dtype=float) for u in units if u.seed == s} for s in compared
    }
    midway = {
        s: {u.arm: np.array(u.midway_correct, dtype=float) for u in units if u.seed == s}
        for s in compared
    }
    ssl_units = [u for u in units if u.arm in SSL_ARMS and u.seed in compared and len(u.curve) >= 2]
    differences, best, winner, confidence, too_short = [], None, None, None, None
    if compared and TRANSFER in arms:
        draws = bootstrap_means(correct, arms)
        climbs = {
            arm: max(0.0, float(np.mean([_second_half_gain(u) for u in ssl_units if u.arm == arm])))
            for arm in {u.arm for u in ssl_units}
        }
        differences = [
            _difference(arm, draws, correct, midway, climbs.get(arm, 0.0))
            for arm in arms
            if arm != TRANSFER
        ]
        failed_arms = {f.arm for f in failed}
        candidates = [arm for arm in arms if arm not in failed_arms]
        shares = best_share({arm: draws[arm] for arm in candidates})
        means = {
            arm: float(np.mean([correct[s][arm].mean() for s in compared])) for arm in candidates
        }
        tied = leaders(means) if means else []
        too_short = _too_short(plan, draws, correct, midway) if LINEAR_READING in arms else None
        if len(tied) > 1:
            caveats.append(
                f"{' and '.join(tied)} tie at {means[tied[0]]:.1%} accuracy: this evaluation set "
                "cannot tell them apart, so there is no measured best."
            )
        elif tied:
            best = tied[0]
            confidence = round(shares[best], 3)
            clear = (
                best == TRANSFER and all(d.high < 0 for d in differences if d.arm in candidates)
            ) or any(d.arm == best and d.low > 0 for d in differences)
            if clear and (too_short is None or best == LINEAR_READING):
                winner = best
            elif not clear:
                caveats.append(
                    f"No arm is clearly best: the measured best ({best}) is best in "
                    f"{confidence:.0%} of bootstrap draws, but its interval against tl, widened "
                    "for what a longer run may change, includes 0."
                )
            if best == LINEAR_READING:
                caveats.append(
                    "A linear head on the frozen pretrained features (tl-linear) did better than "
                    "fine-tuning the network: transfer with a linear protocol is the measured "
                    "choice here."
                )
    if too_short is not None:
        caveats.append(too_short)
    improving = None
    if ssl_units:
        late = [_second_half_gain(u) for u in ssl_units]
        improving = bool(np.mean(late) > STILL_IMPROVING)
        if improving:
            caveats.append(
                "Self-supervision was still improving when its steps ran out (k-NN accuracy "
                f"+{np.mean(late) * 100:.1f} points over the second half): the intervals of the "
                "self-supervised arms are widened for it, on both sides alike."
            )
        caveats += _worse_features(ssl_units)
    if plan.budget_seconds and seconds > OVERRUN * plan.budget_seconds:
        caveats.append(
            f"The pilot took {seconds:.0f} s, {seconds / plan.budget_seconds - 1:.0%} over its "
            f"budget of {plan.budget}: a seed ran slower than the last one before it."
        )
    if len(complete) < len(plan.seeds):
        caveats.append(f"Only {len(complete)} of {len(plan.seeds)} seeds finished.")
    return PilotResult(
        tool_version=__version__,
        sources=sources,
        plan=plan,
        complete=len(complete) == len(plan.seeds),
        seconds=round(seconds, 1),
        units=units,
        compared_seeds=compared,
        arms=summaries,
        differences=differences,
        measured_best=best,
        winner=winner,
        confidence=confidence,
        too_short=too_short,
        ssl_still_improving=improving,
        projections=projections([u for u in units if u.seed in compared]),
        failed_runs=failed,
        caveats=caveats,
        recommendation=None,
    )


def _one_protocol(plan: PilotPlan, seeds: list[int]) -> tuple[list[int], str | None]:
    """The seeds whose steps are within ``PROTOCOL_RANGE`` of the first seed's, and what was
    left out, so that no mean mixes seeds trained for very different numbers of steps."""
    first = plan.steps[0].finetune_steps
    shortest, longest = (first * share for share in PROTOCOL_RANGE)
    inside = [s for s in seeds if shortest <= plan.for_seed(s).finetune_steps <= longest]
    others = [
        f"seed {s} ({plan.for_seed(s).finetune_steps} steps)" for s in seeds if s not in inside
    ]
    if not others:
        return seeds, None
    note = (
        f"The summary compares the seeds that ran {shortest:.0f} to {longest:.0f} fine-tuning "
        f"steps ({', '.join(map(str, inside))}); "
        f"{', '.join(others)} ran another number of steps and {'is' if len(others) == 1 else 'are'}"
        " listed with the units only, so that no mean mixes protocols."
    )
    return inside, note


def midway_positions(seed: int, images: int) -> np.ndarray:
    """Which of a seed's evaluation images (positions in its split) every fine-tuned arm is
    read on halfway through: the same for every arm of the seed, so the readings pair."""
    return np.sort(np.random.default_rng(seed).permutation(images)[:MIDWAY_IMAGES])


def _too_short(
    plan: PilotPlan,
    draws: Mapping[str, np.ndarray],
    correct: Mapping[int, Mapping[str, np.ndarray]],
    midway: Mapping[int, Mapping[str, np.ndarray]],
) -> str | None:
    """Why no fine-tuned arm can be judged, if so: fine-tuned ``tl`` had not left the frozen
    reading it started from (its paired interval against ``tl-linear`` reaches 0 or below)
    while it was still climbing (its accuracy on the images read halfway rose over the second
    half, an interval above 0): fine-tuning had not begun to pay, and every fine-tuned arm's
    difference is still the start's. A ``tl`` level with the frozen reading and no longer
    climbing is a finding, not a short run: on the digits and MNIST, runs 5x a default pilot's
    length ended with ``tl`` within a point of the frozen reading and a clear winner. Results
    without halfway readings are judged by the first condition alone. The frozen reading itself
    may still win, clearly ahead of them all. Says what budget to try: ``LONGER`` times this."""
    low, _ = interval((draws[TRANSFER] - draws[LINEAR_READING]) * 100)
    if low > 0:
        return None
    rise = _climb(correct, midway)
    if rise is not None and rise[0] <= 0:
        return None
    steps = float(np.mean([plan.for_seed(s).finetune_steps for s in correct]))
    if plan.budget_seconds:
        longer = f"{math.ceil(plan.budget_seconds * LONGER / 60)}m"
    else:
        longer = f"{math.ceil((plan.budget_steps or 0) * LONGER)}steps"
    climbing = (
        ""
        if rise is None
        else f" and was still climbing ({rise[1]:+.1f} points over its second half)"
    )
    return (
        f"Too short to judge: after {steps:.0f} fine-tuning steps a seed, fine-tuned tl had not "
        f"left the frozen features it started from (tl - tl-linear, {PILOT_LEVEL:.0%} interval "
        f"from {low:+.1f} points){climbing}, so fine-tuning had not begun to pay and no "
        f"fine-tuned arm is named the winner; try --budget {longer}, {LONGER}x this one."
    )


def _climb(
    correct: Mapping[int, Mapping[str, np.ndarray]], midway: Mapping[int, Mapping[str, np.ndarray]]
) -> tuple[float, float] | None:
    """The lower end of the interval of ``tl``'s gain over the second half of fine-tuning, and
    the gain, in points, bootstrapped over the images read halfway (paired: the same images at
    both readings); None without halfway readings."""
    ends, starts = {}, {}
    for seed, arms in correct.items():
        halfway = midway.get(seed, {}).get(TRANSFER)
        positions = midway_positions(seed, len(arms[TRANSFER]))
        if halfway is None or len(halfway) != len(positions):
            return None
        ends[seed] = {TRANSFER: arms[TRANSFER][positions]}
        starts[seed] = {TRANSFER: halfway}
    gain = (
        bootstrap_means(ends, [TRANSFER])[TRANSFER] - bootstrap_means(starts, [TRANSFER])[TRANSFER]
    )
    mean = float(np.mean([ends[s][TRANSFER].mean() - starts[s][TRANSFER].mean() for s in ends]))
    return interval(gain * 100)[0], mean * 100


def _arm_summary(arm: str, mine: list[UnitResult]) -> ArmSummary:
    accuracy = np.array([u.accuracy for u in mine])
    return ArmSummary(
        arm=arm,
        seeds=len(mine),
        accuracy=round(float(accuracy.mean()), 5),
        accuracy_sd=round(float(accuracy.std(ddof=1)) if len(mine) > 1 else 0.0, 5),
        macro_f1=round(float(np.mean([u.macro_f1 for u in mine])), 5),
    )


def _difference(
    arm: str,
    draws: Mapping[str, np.ndarray],
    correct: Mapping[int, Mapping[str, np.ndarray]],
    midway: Mapping[int, Mapping[str, np.ndarray]],
    climb: float,
) -> PairedDifference:
    """The paired difference against ``tl``, its bootstrap interval widened, on both sides
    alike, by what a longer run may still change: how far the difference moved over the second
    half of fine-tuning, the self-supervised phase's own late k-NN gain (``climb``, for the SSL
    arms) and the drift measured against longer runs (``DRIFT_POINTS``), added as independent
    spreads."""
    low, high = interval((draws[arm] - draws[TRANSFER]) * 100)
    means = [c[arm].mean() - c[TRANSFER].mean() for c in correct.values()]
    mean = float(np.mean(means)) * 100
    moved = _moved(arm, correct, midway)
    extra = math.hypot(moved or 0.0, climb * 100, DRIFT_POINTS)
    z = STANDARD_NORMAL.inv_cdf(0.5 + PILOT_LEVEL / 2)
    return PairedDifference(
        arm=arm,
        accuracy_points=round(mean, 3),
        low=round(mean - math.hypot(mean - low, z * extra), 3),
        high=round(mean + math.hypot(high - mean, z * extra), 3),
        level=PILOT_LEVEL,
        sampling_low=round(low, 3),
        sampling_high=round(high, 3),
        moved_points=None if moved is None else round(moved, 3),
        climb_points=round(climb * 100, 3) if arm in SSL_ARMS else None,
        drift_points=DRIFT_POINTS,
    )


def _moved(
    arm: str,
    correct: Mapping[int, Mapping[str, np.ndarray]],
    midway: Mapping[int, Mapping[str, np.ndarray]],
) -> float | None:
    """How far the difference against ``tl`` moved over the second half of fine-tuning, in
    points, mean over seeds, on the images read halfway (the frozen reading does not move);
    None when a seed has no halfway reading."""
    moves = []
    for seed, ends in correct.items():
        halfway = midway.get(seed, {})
        positions = midway_positions(seed, len(ends[TRANSFER]))
        if len(halfway.get(TRANSFER, ())) != len(positions):
            return None
        start = ends[arm][positions] if arm == LINEAR_READING else halfway.get(arm)
        if start is None or len(start) != len(positions):
            return None
        end = ends[arm][positions].mean() - ends[TRANSFER][positions].mean()
        moves.append(end - (start.mean() - halfway[TRANSFER].mean()))
    return float(np.mean(moves)) * 100 if moves else None


def _noise(accuracy: float, n: int) -> float:
    """Two binomial standard errors of an accuracy measured on ``n`` images."""
    return 2 * float(np.sqrt(max(accuracy * (1 - accuracy), 1 / n) / n))


def _failed_runs(plan: PilotPlan, units: list[UnitResult]) -> list[FailedRun]:
    """Trained arms whose run went wrong, so that it says nothing about the paradigm; a
    ``tl+st`` student also fails with its teacher, or without a pseudo-label to learn from."""
    frozen = {u.seed: u for u in units if u.arm == LINEAR_READING}
    teachers = {u.seed: u for u in units if u.arm == TRANSFER}
    found = []
    for unit in units:
        if unit.arm != LINEAR_READING:
            reason = _failure(unit, plan.majority_share, frozen.get(unit.seed))
            if unit.arm == SELF_TRAINING:
                teacher = teachers.get(unit.seed)
                reason = _untaught(unit, plan, teacher, frozen.get(unit.seed)) or reason
            if reason is not None:
                found.append(FailedRun(arm=unit.arm, seed=unit.seed, reason=reason))
    return found


def _untaught(
    unit: UnitResult, plan: PilotPlan, teacher: UnitResult | None, reading: UnitResult | None
) -> str | None:
    """Why a ``tl+st`` student learned nothing of self-training, if so: its teacher (the
    seed's ``tl`` run) failed, so its pseudo-labels are no evidence either way, or it labeled
    no unlabeled image confidently enough, so the student learned from the labels alone."""
    failed = None if teacher is None else _failure(teacher, plan.majority_share, reading)
    if failed is not None:
        return f"its teacher, the tl run of the same seed, failed ({failed})"
    if unit.pseudo_labels == 0:
        return (
            f"its teacher labeled none of the {unit.unlabeled_images} unlabeled images with "
            f"{unit.pseudo_threshold:.0%} confidence or more, so the student learned from the "
            "labels alone"
        )
    return None


def _failure(unit: UnitResult, chance: float | None, reading: UnitResult | None) -> str | None:
    """Why a run failed, if it did: it ended at chance (no better than always answering the
    largest class), or it started from the pretrained network and ended below the frozen
    reading of that network by more than the noise of the difference of two accuracies."""
    n = len(unit.correct)
    if chance is not None and unit.accuracy <= chance + _noise(chance, n):
        return (
            f"{unit.accuracy:.1%} accuracy, no better than always answering the largest class "
            f"({chance:.1%})"
        )
    if unit.arm in STARTS_PRETRAINED and reading is not None:
        below = reading.accuracy - unit.accuracy
        if below > _noise(reading.accuracy, n) * np.sqrt(2):
            return (
                f"{unit.accuracy:.1%} accuracy, {below * 100:.1f} points below the frozen "
                f"features of the pretrained network it started from ({reading.accuracy:.1%})"
            )
    return None


def _second_half_gain(unit: UnitResult) -> float:
    """k-NN accuracy gained over the second half of a unit's self-supervised phase."""
    end = unit.curve[-1]
    middle = min(unit.curve[:-1], key=lambda p: abs(p.step - end.step / 2))
    return end.knn_accuracy - middle.knn_accuracy


def _worse_features(units: list[UnitResult]) -> list[str]:
    """Self-supervision that left the features worse than it found them is a finding."""
    found = []
    for arm in SSL_ARMS:
        mine = [u for u in units if u.arm == arm]
        if not mine:
            continue
        start = float(np.mean([u.curve[0].knn_accuracy for u in mine]))
        end = float(np.mean([u.curve[-1].knn_accuracy for u in mine]))
        if end < start - WORSE_FEATURES:
            found.append(
                f"Self-supervised pretraining made the {arm} features worse: their k-NN accuracy "
                f"fell from {start:.2f} to {end:.2f} over the phase (mean over seeds)."
            )
    return found


def projections(units: list[UnitResult]) -> list[Projection]:
    """For each self-supervised arm, its mean k-NN curve over seeds fitted and projected."""
    frozen = [u.curve[0].knn_accuracy for u in units if u.arm == LINEAR_READING and u.curve]
    transfer = float(np.mean(frozen)) if frozen else None
    found = []
    for arm in SSL_ARMS:
        curves = [u.curve for u in units if u.arm == arm and u.curve]
        if not curves:
            continue
        steps = np.array([p.step for p in curves[0]])
        values = np.mean([[p.knn_accuracy for p in c] for c in curves], axis=0)
        found.append(_projection(arm, steps, values, transfer))
    return found


def _projection(
    arm: str, steps: np.ndarray, values: np.ndarray, transfer: float | None
) -> Projection:
    empty = {"gain_10x": None, "gain_100x": None, "crossing_steps": None}
    base = {
        "arm": arm,
        "steps_measured": int(steps[-1]),
        "knn_measured": round(float(values[-1]), 4),
        "knn_transfer": None if transfer is None else round(transfer, 4),
    }
    if transfer is None:
        return Projection(**base, **empty, skipped="no k-NN reading of the frozen features")
    try:
        curve = fit_curve(steps, values)
    except ValueError as failed:
        return Projection(**base, **empty, skipped=str(failed))

    def gain(factor: int) -> Gain:
        mean, low, high = curve.interval(factor * steps[-1])
        return Gain(
            mean=round((mean - transfer) * 100, 1),
            low=round((low - transfer) * 100, 1),
            high=round((high - transfer) * 100, 1),
            level=CURVE_LEVEL,
        )

    crossing = curve.crossing(transfer)
    return Projection(
        **base,
        gain_10x=gain(10),
        gain_100x=gain(100),
        crossing_steps=None if crossing is None else round(crossing),
    )
