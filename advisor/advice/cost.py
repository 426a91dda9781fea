"""What each paradigm would cost at full scale: the published schedules (``schedules.yaml``)
applied to the user's pool and labeled images, divided by a throughput measured on the user's
device or read from a reference device (``devices.yaml``).

The forecast counts image-passes: an epoch of a schedule is one pass of every pool image
through the trained network for each of its crops (weighted by the crop's pixels against the
schedule's resolution), plus a forward pass through a momentum or teacher network for each of
its teacher crops (a third of a training pass). A schedule given in steps is carried over as the
epochs it made of its own pool, so that the forecast grows in proportion to the user's pool (a
fine-tuning schedule run for the same steps on targets of every size stays its steps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import median

from advisor.advice.settings import ComputeSettings, reference_device
from advisor.schema.cost import (
    ArmCost,
    CostForecast,
    CostKnowledge,
    Precision,
    Schedule,
    ScheduleUse,
    Spread,
    Throughput,
    ThroughputFigure,
)
from advisor.schema.vocabulary import FULL_SCALE_RESOLUTION, Paradigm

TEACHER_SHARE = 1 / 3
"""A forward pass alone against forward, backward and optimiser step: the backward pass costs
about twice the forward one."""

DEFAULT_REFERENCE = "a100"
"""The reference device when nothing was measured: a common accelerator to rent today, and the
one the A100-era methods in the schedules file were built for."""

ASSUMED_ARCHITECTURE = "resnet50"
"""The network of most published comparisons, taken when no backbone was probed."""

ARM_PHASES: dict[Paradigm, tuple[ScheduleUse, ...]] = {
    "tl": ("finetune",),
    "ssl": ("ssl", "finetune"),
    "tl+ssl": ("continued", "finetune"),
    "tl+st": ("finetune",),
}
"""The phases of each arm at full scale: self-supervision (from random weights or continued
from ImageNet ones) on the pool, then fine-tuning on the labels. Self-training's phases are
fine-tuning schedules run twice (``self_training_passes``)."""


def passes_per_image(schedule: Schedule) -> float:
    """Training passes at the schedule's resolution per pool image and epoch."""

    def area(size: int) -> float:
        return (size / schedule.resolution) ** 2

    trained = sum(area(c) for c in schedule.crops) * (1 - schedule.mask_ratio)
    return trained + TEACHER_SHARE * sum(area(c) for c in schedule.teacher_crops)


def image_passes(schedule: Schedule, images: int) -> float:
    """Training passes at full resolution for ``images`` pool images under ``schedule``: its
    epochs (steps carried over as the epochs they made of the schedule's own pool) over these
    images; steps run over datasets of every size stay the steps they are."""
    if schedule.epochs is not None:
        seen = schedule.epochs * images
    else:
        assert schedule.steps is not None and schedule.batch_size is not None
        seen = schedule.steps * schedule.batch_size
        if schedule.pool_images is not None:
            seen *= images / schedule.pool_images
    return seen * passes_per_image(schedule)


PRECISION_ORDER: dict[Precision | None, tuple[Precision, ...]] = {
    None: ("amp", "tf32", "fp32"),
    "amp": ("amp", "tf32", "fp32"),
    "tf32": ("tf32", "fp32", "amp"),
    "fp32": ("fp32", "tf32", "amp"),
}
"""Which of a device's figures stands for a precision: float32 training on a GPU that has
TF32 units runs its convolutions in TF32 (PyTorch's default), and a device with one precision
only gives that one. Without a stated precision, mixed precision first: what a full-scale run
uses today."""


def reference_throughput(
    costs: CostKnowledge, device_id: str, arch: str, precision: Precision | None = None
) -> Throughput | None:
    """A reference device's training rate for ``arch`` at 224 px, in ``precision`` as far as
    the device has it (``PRECISION_ORDER``): its own figure; or its ResNet-50 figure carried
    over by the two architectures' ratio on a device that times both; or, failing that, by the
    ratio of their compute. None when the device has no figure to start from."""
    device = reference_device(costs, device_id)
    arch = costs.canonical(arch)
    order = PRECISION_ORDER[precision]

    def first(figures: list[ThroughputFigure], name: str) -> ThroughputFigure | None:
        timed = [f for f in figures if f.train and f.architecture == name]
        timed.sort(key=lambda f: order.index(f.precision))
        return timed[0] if timed else None

    own = first(device.figures, arch)
    if own is not None and own.train is not None:
        where = f"{own.source.citation}, {own.source.where}"
        basis = f"{device.name}, {arch}, {own.precision} ({where})"
        return _reference(arch, device.name, own.train, own.batch_size, basis)
    anchor = first(device.figures, ASSUMED_ARCHITECTURE)
    if anchor is None or anchor.train is None:
        return None
    for bridge in (d for d in costs.devices if d.kind == device.kind):
        # both figures in one precision, the anchor's first
        mine = theirs = None
        for precision_read in PRECISION_ORDER[anchor.precision]:
            same = [f for f in bridge.figures if f.precision == precision_read]
            mine, theirs = first(same, arch), first(same, ASSUMED_ARCHITECTURE)
            if mine is not None and theirs is not None:
                break
        if mine is not None and theirs is not None and mine.train and theirs.train:
            ratio = mine.train / theirs.train
            basis = (
                f"{device.name}'s {ASSUMED_ARCHITECTURE} figure, {anchor.precision} "
                f"({anchor.source.citation}, {anchor.source.where}), times {ratio:.2f}, the "
                f"ratio of {arch} to {ASSUMED_ARCHITECTURE} on {bridge.name}"
            )
            return _reference(arch, device.name, anchor.train * ratio, anchor.batch_size, basis)
    target, base = costs.architecture(arch), costs.architecture(ASSUMED_ARCHITECTURE)
    if target is None or base is None:
        return None
    basis = (
        f"{device.name}'s {ASSUMED_ARCHITECTURE} figure, {anchor.precision} "
        f"({anchor.source.citation}, {anchor.source.where}), carried to {arch} by their compute "
        f"({base.gmacs:g} against {target.gmacs:g} GMACs per image)"
    )
    return _reference(
        arch, device.name, anchor.train * base.gmacs / target.gmacs, anchor.batch_size, basis
    )


def _reference(arch: str, name: str, rate: float, batch: int | None, basis: str) -> Throughput:
    return Throughput(
        architecture=arch,
        device=name,
        batch_sizes=[batch],
        resolutions=[FULL_SCALE_RESOLUTION],
        forward=None,
        train=[rate],
        basis=basis,
    )


def _spread(values: Sequence[float]) -> Spread:
    return Spread(mean=median(values), low=min(values), high=max(values))


SELF_TRAINING_NOTE = (
    "tl+st is costed as a teacher fine-tuned on the labels, one labelling pass over the "
    "unlabeled images, and a student fine-tuned by the same schedule on every image (our "
    "convention; the schedules file holds no self-training run yet)."
)


def self_training_passes(schedule: Schedule, labeled: int, unlabeled: int) -> tuple[float, float]:
    """Image-passes of ``tl+st`` under one fine-tuning schedule: before the student (the teacher
    fine-tuned on the labels, then one forward pass over the unlabeled images to label them),
    and the student, fine-tuned by the same schedule on the labeled images and every unlabeled
    one (the most a confidence threshold keeps). Our convention: self-training schedules from
    random weights (FixMatch's million steps, Noisy Student's iterations on ImageNet) say
    nothing of a student that starts from pretrained weights, and the runs that start there
    (TLlib's, USB's) are not in the schedules file."""
    teacher = image_passes(schedule, labeled) + TEACHER_SHARE * unlabeled
    return teacher, image_passes(schedule, labeled + unlabeled)


def arm_cost(
    arm: Paradigm,
    costs: CostKnowledge,
    pool_images: int,
    labeled_images: int,
    rate: float,
    price: float | None,
    budget: float | None,
    unlabeled_images: int = 0,
) -> ArmCost:
    """Device-hours of one arm: for each phase, the image-passes of every published schedule of
    that phase on these images; the arm's central value adds the phases' medians, its low and
    high ends their least and most costly schedules."""
    phases = ARM_PHASES[arm]
    by_phase = {use: [s for s in costs.schedules if s.use == use] for use in phases}
    used = [s.id for use in phases for s in by_phase[use]]
    missing = [use for use in phases if not by_phase[use]]
    pretraining = next((use for use in phases if use != "finetune"), None)

    def passes(use: ScheduleUse) -> list[float]:
        images = labeled_images if use == "finetune" else pool_images
        return [image_passes(s, images) for s in by_phase[use]]

    pre = _spread(passes(pretraining)) if pretraining and by_phase[pretraining] else None
    tune = _spread(passes("finetune")) if by_phase["finetune"] else None
    if arm == "tl+st" and by_phase["finetune"]:
        both = [
            self_training_passes(s, labeled_images, unlabeled_images) for s in by_phase["finetune"]
        ]
        pre = _spread([teacher for teacher, _ in both])
        tune = _spread([student for _, student in both])
    if missing:
        return ArmCost(
            arm=arm,
            pretraining_images=0,
            finetuning_images=0,
            hours=None,
            missing=f"no published {' or '.join(missing)} schedule in the knowledge base",
            schedules=used,
        )
    assert tune is not None
    total = [tune.mean, tune.low, tune.high]
    if pre is not None:
        total = [a + b for a, b in zip(total, [pre.mean, pre.low, pre.high], strict=True)]
    speed = rate * costs.utilization.value
    mean, low, high = (passes / speed / 3600 for passes in total)
    hours = Spread(mean=_round(mean), low=_round(low), high=_round(high))
    cost = None
    if price is not None:
        cost = Spread(mean=_round(mean * price), low=_round(low * price), high=_round(high * price))
    return ArmCost(
        arm=arm,
        pretraining_images=round(pre.mean) if pre is not None else 0,
        finetuning_images=round(tune.mean),
        hours=hours,
        price=cost,
        affordable=None if budget is None else within(hours.mean, budget),
        schedules=used,
    )


def _round(value: float) -> float:
    """Three significant figures: the forecast is good to a factor, not to a minute."""
    if value <= 0 or not math.isfinite(value):
        return max(value, 0.0)
    return round(value, max(2 - math.floor(math.log10(value)), 0))


def forecast(
    costs: CostKnowledge,
    pool_images: int,
    labeled_images: int,
    throughput: Throughput | None,
    settings: ComputeSettings,
    architecture: str | None,
    unlabeled_images: int = 0,
) -> CostForecast:
    """Every arm's forecast on the measured device, or on the reference device asked for (or
    the default one when nothing was measured); ``tl+st`` only when there are unlabeled images
    for it to label."""
    notes: list[str] = []
    arch = architecture or ASSUMED_ARCHITECTURE
    if architecture is None:
        notes.append(
            f"No network was timed or named: the forecast is for {ASSUMED_ARCHITECTURE}, the "
            "network of most published comparisons."
        )
    if settings.device_profile is not None or throughput is None:
        device_id = settings.device_profile or DEFAULT_REFERENCE
        throughput = reference_throughput(costs, device_id, arch)
        origin = "reference"
        if settings.device_profile is None:
            notes.append(
                f"Nothing was timed on your device: the hours are for the reference "
                f"{device_id} (choose another with --device-profile)."
            )
    else:
        origin = "measured"
    if throughput is None:
        why = f"no throughput for {arch} on this device"
        return _unforecast(arch, settings, notes, why, _paradigms(unlabeled_images))
    rate = throughput.train_rate(FULL_SCALE_RESOLUTION)
    return CostForecast(
        device=throughput.device,
        device_origin=origin,
        architecture=arch,
        resolution=FULL_SCALE_RESOLUTION,
        images_per_second=rate,
        arms=_arms(costs, pool_images, labeled_images, rate, settings, unlabeled_images),
        budget_hours=settings.budget_hours,
        price_per_hour=settings.price_per_hour,
        notes=[
            *notes,
            *([SELF_TRAINING_NOTE] if unlabeled_images > 0 else []),
            f"Throughput: {throughput.basis}.",
            f"The hours assume {costs.utilization.value:.0%} of that speed: "
            f"{costs.utilization.basis}.",
        ],
    )


def _paradigms(unlabeled: int) -> list[Paradigm]:
    return [arm for arm in ARM_PHASES if arm != "tl+st" or unlabeled > 0]


def _arms(
    costs: CostKnowledge,
    pool: int,
    labeled: int,
    rate: float,
    settings: ComputeSettings,
    unlabeled: int,
) -> list[ArmCost]:
    price, budget = settings.price_per_hour, settings.budget_hours
    return [
        arm_cost(arm, costs, pool, labeled, rate, price, budget, unlabeled)
        for arm in _paradigms(unlabeled)
    ]


def recost(
    cost: CostForecast, costs: CostKnowledge, pool: int, labeled: int, unlabeled: int
) -> CostForecast:
    """The same forecast (device, budget, price) for other numbers of images: what the flip
    conditions judge a moved dataset by."""
    if cost.images_per_second <= 0:  # nothing to forecast with: the same arms, unforecast
        why = cost.arms[0].missing or "not forecast"
        kept = _unforecast(cost.architecture, ComputeSettings(), [], why, _paradigms(unlabeled))
        return cost.model_copy(update={"arms": kept.arms})
    settings = ComputeSettings(budget_hours=cost.budget_hours, price_per_hour=cost.price_per_hour)
    return cost.model_copy(
        update={"arms": _arms(costs, pool, labeled, cost.images_per_second, settings, unlabeled)}
    )


def _unforecast(
    arch: str,
    settings: ComputeSettings,
    notes: list[str],
    why: str,
    paradigms: list[Paradigm],
) -> CostForecast:
    return CostForecast(
        device="unknown",
        device_origin="reference",
        architecture=arch,
        resolution=FULL_SCALE_RESOLUTION,
        images_per_second=0.0,
        arms=[
            ArmCost(
                arm=arm,
                pretraining_images=0,
                finetuning_images=0,
                hours=None,
                missing=why,
                schedules=[],
            )
            for arm in paradigms
        ],
        budget_hours=settings.budget_hours,
        price_per_hour=settings.price_per_hour,
        notes=[*notes, f"No forecast: {why}."],
    )


def within(hours: float, budget: float) -> bool:
    """The one test of affordability: the central forecast at most the budget."""
    return hours <= budget


def affordable(cost: CostForecast, arm: Paradigm) -> bool:
    """Within the budget (or no budget given); an arm that cannot be forecast, or that the
    forecast does not list, is not ruled out by a budget it cannot be measured against."""
    entry = next((a for a in cost.arms if a.arm == arm), None)
    if cost.budget_hours is None or entry is None or entry.hours is None:
        return True
    return within(entry.hours.mean, cost.budget_hours)
