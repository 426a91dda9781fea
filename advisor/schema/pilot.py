"""A pilot: its plan, every arm's scores per seed, the paired differences against transfer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Displayed, Model
from advisor.schema.decision import Gain, Recommendation
from advisor.schema.vocabulary import SCHEMA_VERSION, ArmName, SslMethod


class SeedSteps(Model):
    """The steps of one seed. The first seed keeps the plan made before training; each later
    seed is re-planned from the measured time of the seeds before it, so that the run keeps to
    a time budget. The paired differences compare arms within a seed, which all got the same."""

    seed: int
    finetune_steps: int = Field(ge=1, description="Per arm, the same for every arm.")
    ssl_steps: int = Field(ge=0, description="Per self-supervised arm, in addition.")
    curve_steps: list[int] = Field(description="Self-supervised steps where k-NN is measured.")
    basis: str = Field(description="How these steps were chosen.")


class PilotPlan(Model):
    """What the pilot does: made before training, with the steps of later seeds re-planned
    as it runs when the budget is a time, and stored with the result."""

    budget: str
    budget_seconds: float | None
    budget_steps: int | None
    device: str
    devices: int
    backbone: str
    resolution: int
    batch_size: int
    method: SslMethod
    arms: list[ArmName]
    seeds: list[int]
    finetune_images: int = Field(description="Labeled images each arm fine-tunes on (per seed).")
    eval_images: int = Field(description="Held-out labeled images every arm is scored on.")
    eval_source: str
    pool_images: int = Field(description="Images for self-supervision (per seed).")
    steps: list[SeedSteps] = Field(
        description="Steps per seed; within a seed every arm gets the same steps."
    )
    seconds_per_finetune_step: float
    seconds_per_ssl_step: float
    majority_share: float | None = Field(
        default=None,
        description="Share of the evaluation images in their largest class: the accuracy of "
        "always answering it, below which an arm has learned nothing.",
    )
    choices: list[str] = Field(description="What was chosen for this machine, and why.")

    def for_seed(self, seed: int) -> SeedSteps:
        return next(s for s in self.steps if s.seed == seed)


class CurvePoint(Model):
    step: int
    knn_accuracy: float


class UnitResult(Model):
    """One arm trained and scored for one seed."""

    arm: ArmName
    seed: int
    accuracy: float = Field(ge=0, le=1)
    macro_f1: float = Field(ge=0, le=1)
    seconds: float
    final_loss: float | None
    curve: list[CurvePoint]
    correct: list[bool] = Field(description="Per evaluation image, in the split's order.")
    midway_step: int | None = Field(
        default=None, description="Fine-tuning step of the halfway reading; None for tl-linear."
    )
    midway_correct: list[bool] = Field(
        default_factory=list,
        description="Per image read halfway through fine-tuning (the seed's stats.midway_positions "
        "of its evaluation images, the same for every arm); empty for tl-linear.",
    )
    seconds_per_step: float | None = Field(
        default=None,
        description="Median seconds of a fine-tuning step (the first left out); None for the "
        "frozen reading.",
    )
    unlabeled_images: int | None = Field(
        default=None,
        description="tl+st: the seed's unlabeled images its teacher (the seed's tl network) "
        "labeled: the pool less the fine-tuning images, never an evaluation image. None for "
        "the other arms.",
    )
    pseudo_labels: int | None = Field(
        default=None,
        description="tl+st: how many of them the teacher labeled at or above the confidence "
        "threshold, each counted once (class balancing repeats some in training).",
    )
    pseudo_threshold: float | None = Field(
        default=None, description="tl+st: the teacher's softmax confidence a label needed."
    )


class FailedRun(Model):
    """An arm of a seed whose training went wrong: it is set apart, not counted as evidence."""

    arm: ArmName
    seed: int
    reason: str


class Projection(Model):
    """Where a self-supervised arm's k-NN learning curve is going, fitted through its readings:
    a projection, never a measurement."""

    arm: ArmName
    kind: Literal["projection"] = "projection"
    steps_measured: int = Field(description="Self-supervised steps the readings cover.")
    knn_measured: float | None = Field(description="k-NN accuracy at the last reading.")
    knn_transfer: float | None = Field(
        description="k-NN accuracy of the frozen pretrained features (what tl starts from)."
    )
    gain_10x: Gain | None = Field(
        description="Projected k-NN points over the frozen pretrained features at 10x the steps."
    )
    gain_100x: Gain | None = Field(description="The same at 100x the steps.")
    crossing_steps: int | None = Field(
        description="Steps at which the curve would reach the frozen features' k-NN accuracy, "
        "when it starts below and would get there."
    )
    skipped: str | None = Field(default=None, description="Why there is no projection.")


class ArmSummary(Model):
    arm: ArmName
    seeds: int
    accuracy: float
    accuracy_sd: float
    macro_f1: float


class PairedDifference(Model):
    arm: ArmName
    against: Literal["tl"] = "tl"
    accuracy_points: float = Field(description="Mean over seeds, in accuracy points.")
    low: float = Field(
        description="The interval's ends: the bootstrap's, widened for what a longer run may "
        "change (moved_points, climb_points, drift_points)."
    )
    high: float
    level: float
    sampling_low: float | None = Field(
        default=None, description="The bootstrap interval over evaluation images, unwidened."
    )
    sampling_high: float | None = None
    moved_points: float | None = Field(
        default=None,
        description="How far the difference moved over the second half of fine-tuning (mean "
        "over seeds, on the images read halfway).",
    )
    climb_points: float | None = Field(
        default=None,
        description="Self-supervised arms: their k-NN accuracy's gain over the second half of "
        "the self-supervised phase (mean over seeds, 0 when it fell).",
    )
    drift_points: float | None = Field(
        default=None,
        description="Spread of a default pilot's difference against a 5x longer run not "
        "otherwise explained, measured on the benchmark sets.",
    )


class PilotResult(Displayed):
    """What advisor pilot --json writes: the plan, every arm's scores, the paired differences
    against transfer, the learning curves and the measured winner."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    sources: list[str]
    plan: PilotPlan
    complete: bool = Field(description="False when Ctrl-C stopped it; --resume continues.")
    seconds: float
    units: list[UnitResult]
    compared_seeds: list[int] | None = Field(
        default=None,
        description="The seeds the arms, differences and winner are computed over (those every "
        "arm finished under one protocol); None in documents of earlier versions.",
    )
    arms: list[ArmSummary]
    differences: list[PairedDifference]
    measured_best: ArmName | None
    winner: ArmName | None = Field(
        description="The measured best when the evidence is clear; None when it is not."
    )
    confidence: float | None = Field(
        description="Share of bootstrap draws in which the measured best is best."
    )
    too_short: str | None = Field(
        default=None,
        description="Why the pilot was too short to judge (fine-tuned tl had not left the "
        "frozen reading), and what budget would; None when it could judge.",
    )
    ssl_still_improving: bool | None
    projections: list[Projection] = Field(
        default_factory=list, description="Where the self-supervised curves are going."
    )
    failed_runs: list[FailedRun] = Field(
        default_factory=list,
        description="Arms of seeds that ended at chance, or below the frozen features they "
        "started from: left out of the measured best.",
    )
    caveats: list[str]
    recommendation: Recommendation | None = Field(
        description="The literature's prior combined with this measurement."
    )
