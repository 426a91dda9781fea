"""How many steps each seed gets: calibrated from timed steps before training, and checked
before each later seed against the speed the last seed trained at, so that a run spends its
time budget. A budget too small for what was asked shrinks the plan in a stated order rather
than refusing it (``shape``); the seeds are replicates of one protocol, their steps free to move
within ``stats.PROTOCOL_RANGE`` of the first seed's so that the last seeds can fill the time
that is left (``replan``, ``more_seeds``).

"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.errors import InputError
from advisor.pilot import models, selftrain, train
from advisor.pilot.budget import Budget
from advisor.pilot.data import Split
from advisor.pilot.settings import PilotSettings
from advisor.pilot.stats import MIDWAY_IMAGES, PROTOCOL_RANGE
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
COSTS = (
    "ft",
    "ssl",
    "trunk",
    "ft_start",
    "ssl_start",
    "curve",
    "eval",
    "midway",
    "lp",
    "linear",
    "label",
)
"""What the calibration measures: seconds per step of each phase and the fixed costs of a seed
(``lp``: the head fitted on frozen features before fine-tuning; ``midway``: the reading halfway
through fine-tuning; ``label``: the ``tl+st`` teacher's pass over the seed's unlabeled
images)."""
LABEL_SAMPLE = 256
"""Unlabeled images the teacher's pass is timed on; the pass is that time scaled to them all
(an inference is linear in the images, and timing a pool of 100,000 would spend the budget)."""
RESERVE_SECONDS = 3.0
"""Kept back from a time budget for the summary, the literature's prior and the result file."""
DROPPED_FIRST = ("scratch", "ssl", SELF_TRAINING)
"""Arms left out, in this order, when not even one seed of every arm fits the budget: training
from no pretrained weights at all answers the question a user of this tool least often has,
self-supervision from scratch rarely competes at a pilot's length, and self-training is the
last extra; ``tl`` and one other arm (``tl+ssl`` when asked for) are never left out, since a
pilot compares against ``tl``."""
MAX_SEEDS_FACTOR = 2
"""A budget that affords more replicates than were asked for gets at most this many times
them."""
ON_TIME = 0.05
"""Share of the budget a plan's predicted end may miss it by before the later seeds are
re-planned: finer than the budget's own 10% tolerance, coarse enough not to re-plan a step or
two at every seed."""


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
        lambda k, on_step: train.finetune(bench.fabric, model, batches, k, bench.stop, on_step),
        bench.agree,
    )
    if any(arm in SSL_ARMS for arm in order):
        net, dim = models.trunk(bench.backbone, True, 0)
        module = models.ssl_module(bench.method, net, dim, 0)
        views = bench.views_loader(split, 0)
        cost["ssl"], cost["ssl_start"] = time_steps(
            lambda k, on_step: train.pretrain(
                bench.fabric, module, views, k, bench.stop, on_step=on_step
            ),
            bench.agree,
        )
        cost["curve"] = train.timed(lambda: knn_reading(bench, net, split))
    if SELF_TRAINING in order:
        unlabeled = split.unlabeled
        sample = unlabeled[:LABEL_SAMPLE]
        seconds = train.timed(lambda: bench.outputs(model, sample, READING_BATCH))
        cost["label"] = seconds * len(unlabeled) / max(len(sample), 1)
    cost["eval"] = train.timed(lambda: bench.outputs(model, split.evaluate, bench.batch * 2))
    cost["midway"] = cost["eval"] * min(1.0, MIDWAY_IMAGES / max(len(split.evaluate), 1))
    cost["linear"] = train.timed(lambda: linear_unit(bench, split))
    return cost


def time_steps(
    run: Callable[[int, Callable[[int], None]], object],
    agree: Callable[[Any], Any] = lambda value: value,
) -> tuple[float, float]:
    """Seconds per step and what a phase costs before its first step (set-up, loader start),
    from ``CALIBRATION_STEPS + 1`` steps timed one by one: the median of the steps after the
    first, so that a step slowed by something else on the machine does not set the plan.

    A reading that cannot be right is measured again, never clamped: the phase's time after
    its first step, less its slowest step, must match the median times the other steps within
    a factor of two (a phase that took far longer than its steps means the machine changed
    speed while measuring), and the median must be positive (``agree``: with more than one
    process, every one takes the first one's judgement, so that all run the same steps). After
    ``CALIBRATION_TRIES``
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
        if agree(middle > 0 and expected / 2 <= others <= 2 * expected):
            return middle, max(steps[0] - middle, 0.0)
    return average, 0.0


def seed_cost(cost: dict[str, float], order: list[str]) -> tuple[float, float]:
    """The cost model of one seed: fixed seconds, and seconds per fine-tuning step of every
    arm together (with the self-supervised steps that go with them)."""
    n_ssl = sum(arm in SSL_ARMS for arm in order)
    fixed = (
        len(order) * (cost["trunk"] + cost["ft_start"] + cost["eval"] + cost["midway"] + cost["lp"])
        + n_ssl * (cost["ssl_start"] + CURVE_POINTS * cost["curve"])
        + (SELF_TRAINING in order) * cost["label"]
        + cost["linear"]
    )
    return fixed, len(order) * cost["ft"] + n_ssl * SSL_TO_FINETUNE * cost["ssl"]


@dataclass(frozen=True)
class Shape:
    """How many seeds of which arms at how many steps the budget holds, and what was cut from
    what was asked to get there."""

    arms: list[str]
    seeds: int
    steps: int
    cut: list[str]


def _fitted(budget: Budget, arms: list[str], seeds: int, cost: dict[str, float], left: float):
    n_ssl = sum(arm in SSL_ARMS for arm in arms)
    if budget.steps is not None:
        return int(budget.steps // (seeds * (len(arms) + n_ssl * SSL_TO_FINETUNE)))
    return steps_within(left, seeds, *seed_cost(cost, arms))


def shape(budget: Budget, order: list[str], seeds: int, cost: dict[str, float], left: float):
    """What fits in ``left`` seconds (or the budget's steps), shrunk in a stated order until
    every arm gets ``MIN_FINETUNE_STEPS``: first fewer seeds, down to one; then, one seed at
    the minimum steps still too much, arms left out in ``DROPPED_FIRST`` order. Refused only
    when not even one seed of ``tl`` and one other arm fits, with the smallest budget that
    would."""
    arms = list(order)
    for count in range(seeds, 0, -1):
        steps = _fitted(budget, arms, count, cost, left)
        if steps >= MIN_FINETUNE_STEPS:
            cut = [f"{seeds} seeds reduced to {count}"] if count < seeds else []
            return Shape(arms, count, steps, cut)
    dropped = []
    for arm in DROPPED_FIRST:
        if arm not in arms or len(arms) <= 2:
            continue
        arms.remove(arm)
        dropped.append(arm)
        steps = _fitted(budget, arms, 1, cost, left)
        if steps >= MIN_FINETUNE_STEPS:
            cut = [f"{seeds} seeds reduced to 1"] * (seeds > 1)
            return Shape(arms, 1, steps, [*cut, f"{', '.join(dropped)} left out"])
    fixed, per_step = seed_cost(cost, arms)
    n_ssl = sum(arm in SSL_ARMS for arm in arms)
    if budget.steps is not None:
        need = f"{MIN_FINETUNE_STEPS * (len(arms) + n_ssl)}steps"
    else:
        spent = (budget.seconds or 0.0) - left
        need = f"{int(spent + fixed + MIN_FINETUNE_STEPS * per_step) + 1}s (a fine-tuning step "
        need += f"takes {cost['ft']:.2f} s here)"
    raise InputError(
        f"{budget.text} cannot hold even one seed of {' and '.join(arms)} at "
        f"{MIN_FINETUNE_STEPS} fine-tuning steps; give at least {need}",
        "budget",
    )


def make_plan(
    settings: PilotSettings,
    bench: Bench,
    layout: Layout,
    cost: dict[str, float],
    fits: Shape,
    remeasured: str | None = None,
) -> PilotPlan:
    """The plan before training, of the ``shape`` the budget holds; ``remeasured``: what a
    second calibration found, when the first would have cut the plan."""
    s = settings
    trained, steps = fits.arms, fits.steps
    n_ssl = sum(arm in SSL_ARMS for arm in trained)
    t_ft, t_ssl = cost["ft"], cost["ssl"]
    basis = "planned before training" if s.budget.seconds else "divided from the budget"
    planned = [_seed_steps(s.seed + k, steps, n_ssl > 0, basis) for k in range(fits.seeds)]
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
        f"crops and flips), read once halfway; each SSL arm first pretrains "
        f"{planned[0].ssl_steps} steps with {s.method} (a 1:1 ratio, a convention)",
        (
            f"steps from a measured {t_ft:.3f} s per fine-tuning step"
            + (f" and {t_ssl:.3f} s per self-supervised step" if n_ssl else "")
            + (
                "; before each later seed the budget left is checked against the speed the "
                "last seed ran at, and the later seeds' steps set to spend it"
                if fits.seeds > 1 or s.seeds > 1
                else ""
            )
            if s.budget.seconds
            else f"steps divided evenly from the budget of {s.budget.steps} steps"
        ),
    ]
    if remeasured:
        choices.append(remeasured)
    if fits.cut:
        choices.append(
            f"{s.budget.text} could not hold {len(s.order)} arms x {s.seeds} seeds at "
            f"{MIN_FINETUNE_STEPS} or more steps: {'; '.join(fits.cut)}"
        )
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
        seeds=[s.seed + k for k in range(fits.seeds)],
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


def trained_arms(plan: PilotPlan) -> list[str]:
    """The arms a plan trains (its arms less the frozen reading)."""
    return [arm for arm in plan.arms if arm != LINEAR_READING]


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
    ``ratio * (fixed + per_step * steps)`` (a ratio near 0, a seed that took no measurable
    time, counts as a hundredth)."""
    return int((seconds / (seeds * max(ratio, 0.01)) - fixed) / per_step)


def _protocol(plan: PilotPlan) -> tuple[int, int]:
    """The fewest and most fine-tuning steps a later seed may run and still be compared with
    the first."""
    first = plan.steps[0].finetune_steps
    shortest, longest = PROTOCOL_RANGE
    return max(MIN_FINETUNE_STEPS, math.ceil(first * shortest)), int(first * longest)


def _fill(
    left: float,
    most: int,
    cost: tuple[float, float, float],
    bounds: tuple[int, int],
    target: int | None = None,
) -> tuple[int, int]:
    """How many seeds (up to ``most``) at how many steps within ``bounds`` spend ``left``
    seconds, a seed costing ``ratio * (fixed + per_step * steps)`` (``cost``): the most seeds
    that fit, or with a ``target``, the count whose steps come closest to it (a tie to more
    seeds); the steps at most the upper bound."""
    fixed, per_step, ratio = cost
    low, high = bounds
    options = []
    for count in range(most, 0, -1):
        steps = steps_within(left, count, fixed, per_step, ratio)
        if steps >= low:
            options.append((count, min(steps, high)))
    if not options:
        return 0, 0
    if target is None:
        return options[0]
    return min(options, key=lambda o: (abs(math.log(o[1] / target)), -o[0]))


def replan(
    plan: PilotPlan, done: int, left: float, fixed: float, per_step: float, ratio: float
) -> PilotPlan:
    """The plan for the seeds after the first ``done``, given ``left`` seconds and a machine
    running ``ratio`` times the calibrated time (the last seed's time against its prediction):
    unchanged when the remaining seeds are predicted to end within ``ON_TIME`` of the budget;
    else as many of them as fit, their steps set alike to spend the time left, within
    ``stats.PROTOCOL_RANGE`` of the first seed's (time beyond its upper end is left for
    ``more_seeds``)."""
    later = plan.steps[done:]
    current = later[0].finetune_steps
    with_ssl = later[0].ssl_steps > 0
    predicted = sum(ratio * (fixed + per_step * x.finetune_steps) for x in later)
    if abs(left - predicted) <= ON_TIME * (plan.budget_seconds or 0.0):
        return plan
    count, steps = _fill(left, len(later), (fixed, per_step, ratio), _protocol(plan))
    if count == len(later) and steps == current:
        return plan
    context = f"with {left:.0f} s left at {ratio:.2f}x the calibrated time"
    verb = "lengthened" if steps > current else "shortened"
    basis = f"{verb} before it started: {context}, {steps} steps spend the budget"
    kept = [_seed_steps(x.seed, steps, with_ssl, basis) for x in later[:count]]
    dropped = [x.seed for x in later[count:]]
    if count:
        seeds = ", ".join(str(x.seed) for x in kept)
        alike = " alike" if count > 1 else ""
        note = f"seed{'s' * (count > 1)} {seeds} {verb}{alike} from {current} to {steps} steps"
    else:
        note = "no later seed fits"
    if dropped:
        note += (
            f"; {len(dropped)} seed{'s' * (len(dropped) > 1)} dropped "
            f"({', '.join(map(str, dropped))})"
        )
    return plan.model_copy(
        update={
            "seeds": plan.seeds[:done] + [x.seed for x in kept],
            "steps": plan.steps[:done] + kept,
            "choices": [*plan.choices, f"{note}: {context}"],
        }
    )


def more_seeds(
    plan: PilotPlan, asked: int, left: float, fixed: float, per_step: float, ratio: float
) -> PilotPlan:
    """After the planned seeds, more replicates to spend the ``left`` seconds at the speed the
    last seed ran at: as many as bring their steps closest to the first seed's, within
    ``stats.PROTOCOL_RANGE`` of them, up to ``MAX_SEEDS_FACTOR`` times the ``asked`` seeds.
    Time a busy calibration or a shrunk plan left unspent goes back into the comparison."""
    room = MAX_SEEDS_FACTOR * asked - len(plan.seeds)
    first = plan.steps[0].finetune_steps
    count, steps = _fill(left, room, (fixed, per_step, ratio), _protocol(plan), first)
    if count < 1:
        return plan
    with_ssl = plan.steps[-1].ssl_steps > 0
    basis = f"added after the planned seeds: the {left:.0f} s left afforded another replicate"
    added = [_seed_steps(plan.seeds[-1] + k + 1, steps, with_ssl, basis) for k in range(count)]
    note = (
        f"{count} more seed{'s' * (count > 1)} ({', '.join(str(x.seed) for x in added)}) at "
        f"{steps} steps: with {left:.0f} s left at {ratio:.2f}x the calibrated time, the budget "
        "afforded more replicates than the plan had"
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
