"""A pilot: its plan, every arm's scores per seed, the paired differences against transfer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Model
from advisor.schema.decision import Recommendation
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
    low: float
    high: float
    level: float


class PilotResult(Model):
    """What advisor pilot --json writes: the plan, every arm's scores, the paired differences
    against transfer, the learning curves and the measured winner."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    sources: list[str]
    plan: PilotPlan
    complete: bool = Field(description="False when Ctrl-C stopped it; --resume continues.")
    seconds: float
    units: list[UnitResult]
    arms: list[ArmSummary]
    differences: list[PairedDifference]
    measured_best: ArmName | None
    winner: ArmName | None = Field(
        description="The measured best when the evidence is clear; None when it is not."
    )
    confidence: float | None = Field(
        description="Share of bootstrap draws in which the measured best is best."
    )
    ssl_still_improving: bool | None
    caveats: list[str]
    recommendation: Recommendation | None = Field(
        description="The literature's prior combined with this measurement."
    )
