"""What each paradigm costs: the published training schedules and reference devices the
forecast is built from (knowledge records), the throughput measured on the user's device, and
the forecast itself (a section of the decision document)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, model_validator

from advisor.schema.base import Model
from advisor.schema.vocabulary import Paradigm

ScheduleUse = Literal["ssl", "continued", "finetune", "supervised"]
"""What a schedule trains: self-supervision from random weights, self-supervision continued
from ImageNet weights, fine-tuning a pretrained network on a target's labels, or supervised
training from random weights (the back-casts' reference runs)."""

SourceKind = Literal["paper", "full-text copy", "repository", "documentation", "own run"]
"""Where a figure was read: the paper itself, a full-text copy of it kept in a public
repository, a repository's file (a configuration or a results table), a library's documentation
page, or a run of this project's own scripts that anyone can repeat."""

Precision = Literal["fp32", "tf32", "amp"]


class Source(Model):
    citation: str = Field(min_length=1, description="Authors, year, title, and an arXiv id or URL.")
    where: str = Field(min_length=1, description="Table, section or file the figure is in.")
    kind: SourceKind


class Hardware(Model):
    device: str = Field(description="A device id of devices.yaml.")
    count: int = Field(ge=1)
    precision: Precision | None = Field(
        default=None, description="None when the source does not say."
    )


class Schedule(Model):
    """One published training run's schedule, and its wall time where the source reports it.

    ``crops`` are the image sizes that go through the trained network with gradients, per
    image and epoch (two views of 224 px for most joint-embedding methods; multi-crop adds small
    ones); ``teacher_crops`` go only forward, through a momentum or teacher network."""

    id: str
    family: str = Field(description="simclr, moco, byol, swav, dino, mae, supervised, ...")
    use: ScheduleUse
    architecture: str
    dataset: str
    pool_images: int | None = Field(
        default=None,
        ge=1,
        description="Images trained on per epoch; None when no source gives it (a schedule in "
        "steps is then carried over as its steps).",
    )
    epochs: float | None = Field(default=None, gt=0)
    steps: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    resolution: int = Field(ge=8)
    crops: list[int] = Field(min_length=1)
    teacher_crops: list[int] = Field(default_factory=list)
    mask_ratio: float = Field(
        default=0.0, ge=0, lt=1, description="Share of patches the encoder never sees (MAE)."
    )
    wall_hours: float | None = Field(default=None, gt=0)
    hardware: Hardware | None = None
    source: Source
    note: str | None = None

    @model_validator(mode="after")
    def _length_given(self) -> Schedule:
        if (self.epochs is None) == (self.steps is None):
            raise ValueError(f"schedule {self.id}: give epochs or steps, not both or neither")
        if self.steps is not None and self.batch_size is None:
            raise ValueError(f"schedule {self.id}: steps need a batch_size")
        if self.steps is not None and self.use != "finetune" and self.pool_images is None:
            raise ValueError(
                f"schedule {self.id}: pretraining steps carry over to another pool only as the "
                "epochs they made of their own, so they need pool_images"
            )
        if self.wall_hours is not None and self.hardware is None:
            raise ValueError(f"schedule {self.id}: a wall time needs its hardware")
        return self


class ThroughputFigure(Model):
    """Training (forward, backward and optimiser step) and inference images per second of one
    device at 224 px."""

    architecture: str
    precision: Precision
    train: float | None = Field(default=None, gt=0)
    infer: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, ge=1)
    source: Source
    note: str | None = None


class Device(Model):
    id: str
    name: str
    kind: Literal["cpu", "accelerator"] = Field(
        description="A ratio between two architectures is carried only between devices of one "
        "kind: what is cheap on a CPU core need not be on a GPU."
    )
    figures: list[ThroughputFigure] = Field(min_length=1)


class Architecture(Model):
    """An architecture's compute per 224 px image: the last resort for carrying a device's
    figure for one architecture to another, when no device times both."""

    id: str
    aliases: list[str] = Field(default_factory=list, description="Other names of the same net.")
    gmacs: float = Field(gt=0, description="Multiply-accumulates per 224 px image, billions.")
    source: Source


class Utilization(Model):
    """The share of a device's benchmark speed that whole published training runs reached
    (data loading, augmentation, evaluation and communication take the rest): what turns a
    rate into the hours a run really takes."""

    value: float = Field(gt=0, le=1)
    basis: str


class CostKnowledge(Model):
    schedules: list[Schedule]
    devices: list[Device]
    architectures: list[Architecture]
    utilization: Utilization

    @model_validator(mode="after")
    def _references_resolve(self) -> CostKnowledge:
        ids = [s.id for s in self.schedules]
        if len(set(ids)) != len(ids):
            raise ValueError("schedules.yaml has duplicate ids")
        devices = {d.id for d in self.devices}
        for schedule in self.schedules:
            if schedule.hardware is not None and schedule.hardware.device not in devices:
                raise ValueError(
                    f"schedule {schedule.id} names unknown device {schedule.hardware.device}"
                )
        return self

    def device(self, device_id: str) -> Device | None:
        return next((d for d in self.devices if d.id == device_id), None)

    def architecture(self, arch: str) -> Architecture | None:
        return next((a for a in self.architectures if arch in (a.id, *a.aliases)), None)

    def canonical(self, arch: str) -> str:
        """The table's name for ``arch`` (``tf_efficientnet_lite0`` is ``efficientnet_lite0``)."""
        entry = self.architecture(arch)
        return entry.id if entry is not None else arch


class Throughput(Model):
    """Images per second of the chosen backbone on the device that will train it, measured on
    synthetic batches (the arithmetic does not depend on the pixels), at each resolution timed."""

    architecture: str
    device: str
    batch_sizes: list[int | None] = Field(
        description="Images per timed batch, per resolution (None: the source does not say)."
    )
    resolutions: list[int] = Field(min_length=1)
    forward: list[PositiveFloat] | None = Field(
        description="Images/s in inference, per resolution; None where a reference device "
        "has no inference figure."
    )
    train: list[PositiveFloat] = Field(
        description="Images/s of forward, backward and an optimiser step, per resolution."
    )
    basis: str = Field(description="How it was measured, or which reference figure it is.")

    @model_validator(mode="after")
    def _one_reading_per_size(self) -> Throughput:
        sizes = len(self.resolutions)
        lists = [self.batch_sizes, self.train, *([self.forward] if self.forward else [])]
        if any(len(values) != sizes for values in lists):
            raise ValueError("one batch size and one rate per resolution timed")
        return self

    def train_rate(self, resolution: int) -> float:
        """Training images/s at ``resolution``: the time per image is taken to grow linearly
        with the pixels between and beyond the resolutions timed (a fixed part per image and a
        part per pixel), which is what a convolution's cost does."""
        return _rate_at(self.resolutions, self.train, resolution)


def _rate_at(resolutions: list[int], rates: list[float], resolution: int) -> float:
    """Through the smallest and the largest resolution timed, seconds per image as a fixed part
    and a part per pixel; from one resolution, the part per pixel alone."""
    low, high = resolutions.index(min(resolutions)), resolutions.index(max(resolutions))
    pixels_low, pixels_high = resolutions[low] ** 2, resolutions[high] ** 2
    if pixels_low == pixels_high:
        return rates[low] * pixels_low / resolution**2
    per_pixel = max((1 / rates[high] - 1 / rates[low]) / (pixels_high - pixels_low), 0.0)
    fixed = max(1 / rates[low] - per_pixel * pixels_low, 0.0)
    seconds = fixed + per_pixel * resolution**2
    return 1 / seconds if seconds > 0 else rates[low]


class Spread(Model):
    """A central value with the least and the most the published schedules give: device-hours,
    or their price."""

    mean: float = Field(ge=0)
    low: float = Field(ge=0)
    high: float = Field(ge=0)


class ArmCost(Model):
    arm: Paradigm
    pretraining_images: int = Field(
        ge=0,
        description="Image-passes before the final fine-tuning: self-supervision, or for "
        "tl+st the teacher's fine-tuning and its labelling pass over the unlabeled images.",
    )
    finetuning_images: int = Field(
        ge=0,
        description="Image-passes of the final fine-tuning (for tl+st, the student's, on the "
        "labeled and the pseudo-labeled images).",
    )
    hours: Spread | None = Field(
        description="Device-hours on the device of ``CostForecast.device``; None when it cannot "
        "be forecast (``missing`` says why)."
    )
    missing: str | None = None
    price: Spread | None = Field(default=None, description="Given --price-per-hour.")
    affordable: bool | None = Field(
        default=None, description="Within --compute-budget; None when no budget was given."
    )
    schedules: list[str] = Field(description="The schedules the spread is taken over.")


class CostForecast(Model):
    """What each arm would cost at full scale on this dataset: the published schedules applied
    to the pool and the labeled images, at ``resolution``, on one device."""

    device: str = Field(description="The device the hours are for, in words.")
    device_origin: Literal["measured", "reference"]
    architecture: str
    resolution: int
    images_per_second: float = Field(
        description="Training images/s at ``resolution`` (before the utilization)."
    )
    arms: list[ArmCost]
    budget_hours: float | None = None
    price_per_hour: float | None = None
    unbudgeted_verdict: Paradigm | None = Field(
        default=None,
        description="The engine's verdict without --compute-budget, set when the budget "
        "changed it.",
    )
    notes: list[str] = Field(default_factory=list)

    def arm(self, arm: str) -> ArmCost:
        return next(a for a in self.arms if a.arm == arm)
