"""How many steps each seed gets: calibrated from measured step times before training, and
re-planned before each later seed from the measured time of the seeds before it, so that a run
keeps to a time budget. Arms within a seed always get the same steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from advisor.errors import InputError
from advisor.pilot import models, train
from advisor.pilot.data import Split
from advisor.pilot.settings import PilotSettings
from advisor.pilot.units import Bench, knn_reading, linear_unit
from advisor.schema.pilot import PilotPlan, SeedSteps
from advisor.schema.vocabulary import LINEAR_READING, SSL_ARMS

SSL_TO_FINETUNE = 1.0
"""Self-supervised steps per fine-tuning step in an SSL arm (a convention, stated in the plan)."""
MIN_FINETUNE_STEPS = 5
CALIBRATION_STEPS = 4
COSTS = ("ft", "ssl", "trunk", "ft_start", "ssl_start", "curve", "eval", "linear")
"""What the calibration measures: seconds per step of each phase and the fixed costs of a seed."""
RESERVE_SECONDS = 3.0
"""Kept back from a time budget for the summary, the literature's prior and the result file."""


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


def calibrate(bench: Bench, split: Split, order: list[str]) -> dict[str, float]:
    """Seconds per fine-tuning and self-supervised step, and the fixed costs around them
    (building a network, starting its loader, evaluating, a learning-curve reading, the
    linear reading), measured on throwaway copies with the real data path."""
    cost = dict.fromkeys(COSTS, 0.0)
    cost["trunk"] = train.timed(lambda: models.trunk(bench.backbone, False, 0))
    net, dim = models.trunk(bench.backbone, True, 0)
    model = models.classifier(net, dim, len(bench.images.classes), 0)
    batches = bench.finetune_loader(split, 0)
    cost["ft"], cost["ft_start"] = _per_step(
        lambda k: train.finetune(bench.fabric, model, batches, k, bench.stop)
    )
    if any(arm in SSL_ARMS for arm in order):
        net, dim = models.trunk(bench.backbone, True, 0)
        module = models.ssl_module(bench.method, net, dim, 0)
        views = bench.views_loader(split, 0)
        cost["ssl"], cost["ssl_start"] = _per_step(
            lambda k: train.pretrain(bench.fabric, module, views, k, bench.stop)
        )
        cost["curve"] = train.timed(lambda: knn_reading(bench, net, split))
    cost["eval"] = train.timed(lambda: bench.outputs(model, split.evaluate, bench.batch * 2))
    cost["linear"] = train.timed(lambda: linear_unit(bench, split))
    return cost


def _per_step(run: Callable[[int], object]) -> tuple[float, float]:
    """Seconds per step, from ``CALIBRATION_STEPS`` steps beyond a first one, and what a
    phase costs before its steps (set-up, loader start)."""
    first = train.timed(lambda: run(1))
    more = train.timed(lambda: run(CALIBRATION_STEPS + 1))
    per_step = max((more - first) / CALIBRATION_STEPS, 1e-4)
    return per_step, max(first - per_step, 0.0)


def seed_cost(cost: dict[str, float], order: list[str]) -> tuple[float, float]:
    """The cost model of one seed: fixed seconds, and seconds per fine-tuning step of every
    arm together (with the self-supervised steps that go with them)."""
    n_ssl = sum(arm in SSL_ARMS for arm in order)
    fixed = (
        len(order) * (cost["trunk"] + cost["ft_start"] + cost["eval"])
        + n_ssl * (cost["ssl_start"] + 3 * cost["curve"])
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
        f"every arm fine-tunes {steps} steps a seed (AdamW, lr {train.FINETUNE_LR:g}, "
        "warm-up then cosine, crops and flips); each SSL arm first pretrains "
        f"{planned[0].ssl_steps} steps with {s.method} (a 1:1 ratio, a convention)",
        (
            f"steps from a measured {t_ft:.3f} s per fine-tuning step"
            + (f" and {t_ssl:.3f} s per self-supervised step" if n_ssl else "")
            + (
                "; each later seed is re-planned from the measured time of the seeds before "
                "it, to keep to the budget"
                if s.seeds > 1
                else ""
            )
            if s.budget.seconds
            else f"steps divided evenly from the budget of {s.budget.steps} steps"
        ),
    ]
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
        choices=choices,
    )


def steps_within(
    seconds: float, seeds: int, fixed: float, per_step: float, ratio: float = 1.0
) -> int:
    """Fine-tuning steps per arm that let ``seeds`` seeds fit in ``seconds``, when a seed costs
    ``ratio * (fixed + per_step * steps)``."""
    return int((seconds / (seeds * ratio) - fixed) / per_step)


def replan(
    plan: PilotPlan, done: int, spent: float, left: float, fixed: float, per_step: float
) -> PilotPlan:
    """The plan with new steps for the seeds after the first ``done``, which took ``spent``
    seconds: the cost model (``fixed + per_step * steps`` a seed) is scaled by how far it missed
    on them, and the ``left`` seconds are shared evenly among the seeds to go."""
    predicted = sum(fixed + per_step * x.finetune_steps for x in plan.steps[:done])
    ratio = max(spent / predicted, 1e-3)
    steps = max(
        steps_within(left, len(plan.steps) - done, fixed, per_step, ratio), MIN_FINETUNE_STEPS
    )
    basis = (
        f"re-planned after {done} seed{'s' * (done > 1)} took {spent:.0f} s against "
        f"{predicted:.0f} s planned"
    )
    with_ssl = plan.steps[0].ssl_steps > 0
    again = [_seed_steps(x.seed, steps, with_ssl, basis) for x in plan.steps[done:]]
    return plan.model_copy(update={"steps": plan.steps[:done] + again})


def _seed_steps(seed: int, steps: int, with_ssl: bool, basis: str) -> SeedSteps:
    ssl_steps = int(steps * SSL_TO_FINETUNE) if with_ssl else 0
    curve = sorted({0, ssl_steps // 2, ssl_steps}) if ssl_steps else []
    return SeedSteps(
        seed=seed, finetune_steps=steps, ssl_steps=ssl_steps, curve_steps=curve, basis=basis
    )
