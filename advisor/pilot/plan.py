"""How many steps each seed gets: calibrated from timed steps before training, and checked
before each later seed against the speed the last unit trained at, so that a run keeps to a time
budget. Seeds are replicates: every arm of every seed gets the same steps, unless the budget
cannot afford a later seed at those steps; then fewer seeds run at full length, and only when
not even one more would fit are the remaining seeds shortened, all alike (``stats`` then keeps
the two protocols apart)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from advisor.errors import InputError
from advisor.pilot import models, selftrain, train
from advisor.pilot.data import Split
from advisor.pilot.settings import PilotSettings
from advisor.pilot.units import (
    READING_BATCH,
    Bench,
    StepClock,
    fit_head,
    knn_reading,
    linear_unit,
)
from advisor.progress import SILENT
from advisor.schema.pilot import PilotPlan, SeedSteps
from advisor.schema.vocabulary import LINEAR_READING, SELF_TRAINING, SSL_ARMS

SSL_TO_FINETUNE = 1.0
"""Self-supervised steps per fine-tuning step in an SSL arm (a convention, stated in the plan)."""
MIN_FINETUNE_STEPS = 5
CALIBRATION_STEPS = 6
"""Steps timed one by one in each phase's calibration (the first, which starts the loader, is
timed apart)."""
CALIBRATION_TRIES = 3
CURVE_POINTS = 6
"""k-NN readings along a self-supervised phase: enough to fit a learning curve through."""
COSTS = ("ft", "ssl", "trunk", "ft_start", "ssl_start", "curve", "eval", "lp", "linear", "label")
"""What the calibration measures: seconds per step of each phase and the fixed costs of a seed
(``lp``: the head fitted on frozen features before fine-tuning; ``label``: the ``tl+st``
teacher's pass over the seed's unlabeled images)."""
LABEL_SAMPLE = 256
"""Unlabeled images the teacher's pass is timed on; the pass is that time scaled to them all
(an inference is linear in the images, and timing a pool of 100,000 would spend the budget)."""
RESERVE_SECONDS = 3.0
"""Kept back from a time budget for the summary, the literature's prior and the result file."""
LENGTHEN = 1.25
"""When the first seed ran so much faster than calibrated (the machine was busier while it was
measured) that the later seeds could run at least this many times its steps, they are
lengthened alike and the summary compares them: a run that keeps to its budget, its seeds of
one protocol, rather than one that ends a third early."""
SLACK = 0.10
"""Share of the time budget the remaining seeds may be predicted to run over it by and still be
kept: the budget's own tolerance (a run more than this over it says so in its caveats). Without
it a first seed a few per cent slower than planned drops a whole seed: on the digits, 10% slower
ended the run 27% early."""


@dataclass(frozen=True)
class Layout:
    """What the plan records about the data and the machine, besides the steps."""

    device: str
    devices: int
    resolution: int
    resolution_given: bool
    labeled_limit: int
    pool_limit: int
    eval_source: str
    split: Split
    notes: tuple[str, ...] = ()
    """What was left out before planning, and why."""


def calibrate(bench: Bench, split: Split, order: list[str]) -> dict[str, float]:
    """Seconds per fine-tuning and self-supervised step, and the fixed costs around them
    (building a network, starting its loader, evaluating, a learning-curve reading, the
    linear reading, the ``tl+st`` teacher's pass), measured on throwaway copies with the real
    data path."""
    cost = dict.fromkeys(COSTS, 0.0)
    cost["trunk"] = train.timed(lambda: models.trunk(bench.backbone, False, 0))
    net, dim = models.trunk(bench.backbone, True, 0)
    model = models.classifier(net, dim, len(bench.images.classes), 0)
    labels = bench.images.labels[split.finetune]
    cost["lp"] = train.timed(
        lambda: fit_head(model[1], bench.outputs(net, split.finetune, READING_BATCH), labels)
    )
    batches = bench.finetune_loader(split, 0)
    cost["ft"], cost["ft_start"] = time_steps(
        lambda k, on_step: train.finetune(bench.fabric, model, batches, k, bench.stop, on_step)
    )
    if any(arm in SSL_ARMS for arm in order):
        net, dim = models.trunk(bench.backbone, True, 0)
        module = models.ssl_module(bench.method, net, dim, 0)
        views = bench.views_loader(split, 0)
        cost["ssl"], cost["ssl_start"] = time_steps(
            lambda k, on_step: train.pretrain(
                bench.fabric, module, views, k, bench.stop, on_step=on_step
            )
        )
        cost["curve"] = train.timed(lambda: knn_reading(bench, net, split))
    if SELF_TRAINING in order:
        unlabeled = split.unlabeled
        sample = unlabeled[:LABEL_SAMPLE]
        seconds = train.timed(lambda: bench.outputs(model, sample, READING_BATCH))
        cost["label"] = seconds * len(unlabeled) / max(len(sample), 1)
    cost["eval"] = train.timed(lambda: bench.outputs(model, split.evaluate, bench.batch * 2))
    cost["linear"] = train.timed(lambda: linear_unit(bench, split))
    return cost


def time_steps(run: Callable[[int, Callable[[int], None]], object]) -> tuple[float, float]:
    """Seconds per step and what a phase costs before its first step (set-up, loader start),
    from ``CALIBRATION_STEPS + 1`` steps timed one by one: the median of the steps after the
    first, so that a step slowed by something else on the machine does not set the plan.

    A reading that cannot be right is measured again, never clamped: the phase's time after
    its first step, less its slowest step, must match the median times the other steps within
    a factor of two (a phase that took far longer than its steps means the machine changed
    speed while measuring), and the median must be positive. After ``CALIBRATION_TRIES``
    readings that all fail, the phase's own average is used, which overstates a step rather
    than understating it."""
    average = 0.0
    for _ in range(CALIBRATION_TRIES):
        clock = StepClock(SILENT, "calibration", CALIBRATION_STEPS + 1, 0)
        run(CALIBRATION_STEPS + 1, clock)
        total = time.perf_counter() - clock.marks[0]
        steps = clock.durations()
        middle = clock.seconds_per_step() or 0.0
        others = total - steps[0] - max(steps[1:])
        expected = middle * (len(steps) - 2)
        average = total / len(steps)
        if middle > 0 and expected / 2 <= others <= 2 * expected:
            return middle, max(steps[0] - middle, 0.0)
    return average, 0.0


def seed_cost(cost: dict[str, float], order: list[str]) -> tuple[float, float]:
    """The cost model of one seed: fixed seconds, and seconds per fine-tuning step of every
    arm together (with the self-supervised steps that go with them)."""
    n_ssl = sum(arm in SSL_ARMS for arm in order)
    fixed = (
        len(order) * (cost["trunk"] + cost["ft_start"] + cost["eval"] + cost["lp"])
        + n_ssl * (cost["ssl_start"] + CURVE_POINTS * cost["curve"])
        + (SELF_TRAINING in order) * cost["label"]
        + cost["linear"]
    )
    return fixed, len(order) * cost["ft"] + n_ssl * SSL_TO_FINETUNE * cost["ssl"]


def make_plan(
    settings: PilotSettings,
    bench: Bench,
    layout: Layout,
    cost: dict[str, float],
    elapsed: float,
) -> PilotPlan:
    """The plan before training; ``elapsed``: seconds of the budget already spent."""
    s = settings
    trained = list(s.order)
    n_ssl = sum(arm in SSL_ARMS for arm in trained)
    t_ft, t_ssl = cost["ft"], cost["ssl"]
    fixed_per_seed, per_step = seed_cost(cost, trained)
    if s.budget.steps is not None:
        steps = int(s.budget.steps // (s.seeds * (len(trained) + n_ssl * SSL_TO_FINETUNE)))
    else:
        left = s.budget.seconds - elapsed - RESERVE_SECONDS
        steps = steps_within(left, s.seeds, fixed_per_seed, per_step)
    if steps < MIN_FINETUNE_STEPS:
        need = (MIN_FINETUNE_STEPS * per_step + fixed_per_seed) * s.seeds + elapsed
        raise InputError(
            f"{s.budget.text} is too small for {len(trained)} arms x {s.seeds} "
            f"seeds here (a fine-tuning step takes {t_ft:.2f} s); give at least "
            f"{int(need) + 1}s or {MIN_FINETUNE_STEPS * s.seeds * (len(trained) + n_ssl)}"
            "steps, or fewer `seeds` or `paradigms`",
            "budget",
        )
    basis = "planned before training" if s.budget.seconds else "divided from the budget"
    planned = [_seed_steps(s.seed + k, steps, n_ssl > 0, basis) for k in range(s.seeds)]
    cpu = layout.device == "cpu"
    choices = [
        f"resolution {layout.resolution} px"
        + (
            " (CPU default: small images keep enough training steps within a CPU budget)"
            if cpu and not layout.resolution_given
            else ""
        ),
        f"batch {bench.batch}" + (" (CPU: small batches keep the step count up)" if cpu else ""),
        f"at most {layout.labeled_limit:,} labeled and {layout.pool_limit:,} unlabeled images "
        "decoded once into memory",
        f"every arm fits a linear head on its frozen features, then fine-tunes {steps} steps a "
        f"seed (AdamW, lr {train.FINETUNE_LR:g} for the head and "
        f"{train.FINETUNE_LR * train.BACKBONE_LR_FACTOR:g} for the rest, warm-up then cosine, "
        f"crops and flips); each SSL arm first pretrains {planned[0].ssl_steps} steps with "
        f"{s.method} (a 1:1 ratio, a convention)",
        (
            f"steps from a measured {t_ft:.3f} s per fine-tuning step"
            + (f" and {t_ssl:.3f} s per self-supervised step" if n_ssl else "")
            + (
                "; before each later seed the budget left is checked against the speed the "
                "last seed ran at"
                if s.seeds > 1
                else ""
            )
            if s.budget.seconds
            else f"steps divided evenly from the budget of {s.budget.steps} steps"
        ),
    ]
    if SELF_TRAINING in trained:
        choices.append(_self_training(layout, steps, cost["label"]))
    choices += layout.notes
    return PilotPlan(
        budget=s.budget.text,
        budget_seconds=s.budget.seconds,
        budget_steps=s.budget.steps,
        device=layout.device,
        devices=layout.devices,
        backbone=bench.backbone.spec,
        resolution=layout.resolution,
        batch_size=bench.batch,
        method=s.method,
        arms=[*trained, LINEAR_READING],
        seeds=[s.seed + k for k in range(s.seeds)],
        finetune_images=len(layout.split.finetune),
        eval_images=len(layout.split.evaluate),
        eval_source=layout.eval_source,
        pool_images=len(layout.split.pool),
        steps=planned,
        seconds_per_finetune_step=round(t_ft, 4),
        seconds_per_ssl_step=round(t_ssl, 4),
        majority_share=round(_majority_share(bench.images.labels[layout.split.evaluate]), 5),
        choices=choices,
    )


def _self_training(layout: Layout, steps: int, seconds: float) -> str:
    """The ``tl+st`` arm in a sentence: its teacher, threshold, balance and augmentation."""
    return (
        f"tl+st: each seed's fine-tuned tl network labels the seed's "
        f"{len(layout.split.unlabeled):,} unlabeled images"
        + (f" (a pass of about {seconds:.0f} s)" if seconds else "")
        + "; a student started as tl is (the same pretrained weights and head) fine-tunes the "
        f"same {steps} steps on batches of the same size, on average "
        f"{1 - selftrain.PSEUDO_SHARE:.0%} labeled images and {selftrain.PSEUDO_SHARE:.0%} "
        f"images the teacher labeled with at least {selftrain.THRESHOLD:.0%} confidence, "
        "balanced to the same count per class (a small class's images repeated, a large "
        "class's most confident kept) and seen under RandAugment (Noisy Student; FixMatch)"
    )


def _majority_share(labels: np.ndarray) -> float:
    return float(np.bincount(labels).max() / len(labels))


def steps_within(
    seconds: float, seeds: int, fixed: float, per_step: float, ratio: float = 1.0
) -> int:
    """Fine-tuning steps per arm that let ``seeds`` seeds fit in ``seconds``, when a seed costs
    ``ratio * (fixed + per_step * steps)``."""
    return int((seconds / (seeds * ratio) - fixed) / per_step)


def replan(
    plan: PilotPlan, done: int, left: float, fixed: float, per_step: float, ratio: float
) -> PilotPlan:
    """The plan for the seeds after the first ``done``, given ``left`` seconds and a machine
    running ``ratio`` times the calibrated time (the last seed's time against its prediction):
    unchanged when every remaining seed fits at its steps (within ``SLACK``), unless they
    outnumber the seeds done and could all run ``LENGTHEN`` times their steps, then lengthened
    alike; else as many seeds as fit at full length, the others dropped; and when not even one
    fits, the remaining seeds shortened alike, as many as keep at least half the steps, or
    none."""
    later = plan.steps[done:]
    current = later[0].finetune_steps
    with_ssl = later[0].ssl_steps > 0
    slack = SLACK * (plan.budget_seconds or 0.0)
    fits = int((left + slack) // (ratio * (fixed + per_step * current)))
    if fits >= len(later):
        longer = steps_within(left, len(later), fixed, per_step, ratio)
        if len(later) <= done or longer < LENGTHEN * current:
            return plan
        basis = (
            f"lengthened before it started: the seeds before it ran at {ratio:.2f}x the "
            f"calibration's time, and the {left:.0f} s left afforded {longer} steps"
        )
        note = (
            f"seeds {', '.join(str(x.seed) for x in later)} lengthened alike to {longer} steps: "
            f"the first seed{'s' * (done > 1)} ran at {ratio:.2f}x the calibrated time (the "
            "machine was busier while it was measured); the summary compares the longer seeds"
        )
        return plan.model_copy(
            update={
                "steps": plan.steps[:done]
                + [_seed_steps(x.seed, longer, with_ssl, basis) for x in later],
                "choices": [*plan.choices, note],
            }
        )
    if fits >= 1:
        kept, why = later[:fits], "at full length"
    else:
        floor = max(MIN_FINETUNE_STEPS, current // 2)
        kept, why = [], "none fit even at half their steps"
        for count in range(len(later), 0, -1):
            steps = steps_within(left, count, fixed, per_step, ratio)
            if steps >= floor:
                basis = (
                    f"shortened before it started: at the speed of the last seed ({ratio:.2f}x "
                    f"the calibration's time) the {left:.0f} s left could not afford {current} "
                    "steps"
                )
                kept = [_seed_steps(x.seed, steps, with_ssl, basis) for x in later[:count]]
                why = f"shortened to {steps} steps"
                break
    dropped = [x.seed for x in later[len(kept) :]]
    context = f"with {left:.0f} s left at {ratio:.2f}x the calibrated time"
    if dropped:
        note = (
            f"{len(dropped)} seed{'s' * (len(dropped) > 1)} dropped "
            f"({', '.join(map(str, dropped))}): {context}, the budget afforded {len(kept)} more "
            f"({why})"
        )
    else:
        seeds = ", ".join(str(x.seed) for x in kept)
        note = f"seed{'s' * (len(kept) > 1)} {seeds} {why}: {context}, {current} did not fit"
    return plan.model_copy(
        update={
            "seeds": plan.seeds[:done] + [x.seed for x in kept],
            "steps": plan.steps[:done] + kept,
            "choices": [*plan.choices, note],
        }
    )


def more_seeds(
    plan: PilotPlan, left: float, fixed: float, per_step: float, ratio: float
) -> PilotPlan:
    """After the planned seeds, as many more replicates of their protocol as the ``left``
    seconds afford at the speed the last seed ran at (no slack, at most as many again as were
    asked for): a machine that was busy while the plan was measured leaves time that more
    seeds of the same steps put to use, where longer steps would start another protocol."""
    if len({(x.finetune_steps, x.ssl_steps) for x in plan.steps}) != 1:
        return plan
    current = plan.steps[-1]
    fits = int(left // (ratio * (fixed + per_step * current.finetune_steps)))
    extra = min(fits, len(plan.seeds))
    if extra < 1:
        return plan
    basis = f"added after the planned seeds: the {left:.0f} s left afforded another replicate"
    added = [
        current.model_copy(update={"seed": plan.seeds[-1] + k + 1, "basis": basis})
        for k in range(extra)
    ]
    note = (
        f"{extra} more seed{'s' * (extra > 1)} ({', '.join(str(x.seed) for x in added)}) at the "
        f"same {current.finetune_steps} steps: with {left:.0f} s left at {ratio:.2f}x the "
        "calibrated time, the budget afforded more replicates than were asked for"
    )
    return plan.model_copy(
        update={
            "seeds": [*plan.seeds, *(x.seed for x in added)],
            "steps": [*plan.steps, *added],
            "choices": [*plan.choices, note],
        }
    )


def _seed_steps(seed: int, steps: int, with_ssl: bool, basis: str) -> SeedSteps:
    ssl_steps = int(steps * SSL_TO_FINETUNE) if with_ssl else 0
    points = range(CURVE_POINTS)
    curve = sorted({round(ssl_steps * k / (CURVE_POINTS - 1)) for k in points}) if ssl_steps else []
    return SeedSteps(
        seed=seed, finetune_steps=steps, ssl_steps=ssl_steps, curve_steps=curve, basis=basis
    )
