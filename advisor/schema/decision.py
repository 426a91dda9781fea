"""The recommendation: verdict, probability, expected gain, reasons, caveats, flips, recipe, and
the features it was decided from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Displayed, Model
from advisor.schema.cost import CostForecast
from advisor.schema.vocabulary import (
    SCHEMA_VERSION,
    Domain,
    Origin,
    Paradigm,
    PoolRelation,
    Protocol,
    Task,
)


class DecisionFeatures(Model):
    """What the engine decided from, and where each value came from."""

    labeled_images: int = Field(ge=0)
    labeled_per_class: float | None
    unlabeled_images: int = Field(ge=0)
    pool_images: int = Field(
        ge=0,
        description="Images self-supervision could use: unlabeled plus labeled ones (the "
        "labeled ones alone when the pool relation is 'same').",
    )
    classes: int | None
    imbalance_ratio: float | None
    image_size: int | None
    low_resolution_share: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of the images whose short side is below half the networks' 224 px "
        "input, so that they are upsampled 2x or more; None from a card.",
    )
    grayscale: bool
    task: Task
    fine_grained: bool
    fine_grained_basis: str
    fine_grained_origin: Origin = Field(
        description="given (in a card) or assumed (the images alone do not tell)."
    )
    domain: Domain | None
    domain_gap: float | None = Field(ge=0, le=1, description="None: not known.")
    domain_gap_basis: str = Field(description="Measured, given, typical of the domain, or none.")
    domain_gap_origin: Origin = Field(
        description="measured, given, typical (of the domain) or unknown; the basis in words "
        "is domain_gap_basis."
    )
    medical: bool
    dense: bool
    linear_probe_accuracy: float | None
    knn_accuracy: float | None
    logme: float | None
    pool_shift: float | None = Field(description="Proxy A-distance, labeled vs unlabeled images.")
    source: str
    protocol: Protocol = Field(description="How the network will be used on the labels.")
    protocol_origin: Origin = Field(description="given, or assumed (the default, fine-tune).")
    pool_relation: PoolRelation = Field(
        description="Where the images for self-supervision come from, relative to the labeled ones."
    )
    pool_relation_basis: str
    pool_relation_origin: Origin = Field(
        description="given, measured (from the proxy A-distance) or assumed."
    )
    measured_domain_gap: float | None = Field(
        default=None,
        description="The probes' domain gap when a declared domain's typical gap was used in "
        "its place (shown beside it, and said to disagree when 0.2 or more apart).",
    )
    measured_pool_relation: PoolRelation | None = Field(
        default=None,
        description="The pool relation the probes suggest, when a declared one was used.",
    )


ROW_ONLY_FEATURES = frozenset({"early_ssl"})
"""Features that only a published comparison has: whether its self-supervised method is of the
pretext or memory-bank era. A user's dataset never sets them, so rules on them speak in the fit
and stay silent in advice."""

ENGINE_FEATURES = frozenset(DecisionFeatures.model_fields) | ROW_ONLY_FEATURES
"""What a rule's conditions may read."""


class Gain(Model):
    """Gain over plain transfer in points of the task's metric (accuracy, or whatever the
    published comparisons measured), with a predictive interval: where the gain of a new dataset
    like this one falls with the stated probability, given how much the studies disagree. Every
    value lies within what a metric of 0 to 100 points allows."""

    mean: float = Field(description="Central estimate (the median of the predictive spread).")
    low: float
    high: float
    level: float = Field(gt=0, lt=1, description="Coverage of [low, high].")
    ceiling: float = Field(
        default=100.0,
        gt=0,
        le=100,
        description="The largest gain the metric allows here: 100 points, less the accuracy the "
        "pretrained features already reach under a linear probe when the probes measured it.",
    )


class ArmEstimate(Model):
    gain: Gain
    probability: float = Field(ge=0, le=1, description="P(this arm beats plain transfer).")
    thin: str | None = Field(
        default=None,
        description="Why the published evidence for this arm is too thin for the verdict to "
        "name it (it is shown, not weighed); None when a verdict may rest on it, or when a "
        "pilot measured the arm on these data.",
    )


class Cite(Model):
    study: str
    where: str
    title: str
    year: int | None


class Reason(Model):
    rule: str
    model_check: Literal["supported", "consistent", "contradicted", "prior"] | None = Field(
        description="What the fitted gain model says of the rule's direction: its moderator's "
        "90% interval on the rule's side, spanning 0, or on the other side; prior: no direct "
        "comparison varies the moderator, so the rule sets its prior; None: the rule has no "
        "moderator in the model and is context, not part of the estimate."
    )
    text: str
    favours: list[Paradigm]
    over: list[Paradigm]
    direction: Literal["ssl-family", "tl", "within-ssl-family", "self-training", "neutral"] = Field(
        description="Which side of the verdict the rule pushes."
    )
    strength: int = Field(ge=1, le=3)
    secondary: bool
    cites: list[Cite]


class Flip(Model):
    feature: str
    value: float = Field(description="The value at which the verdict changes.")
    verdict: Paradigm = Field(description="The verdict from that value on.")
    text: str


class RecipeItem(Model):
    step: str
    detail: str
    cites: list[Cite]
    convention: bool = Field(description="Our convention rather than a cited finding.")
    from_pilot: bool = Field(default=False, description="Measured by your own pilot.")


class ModelInfo(Model):
    method: str
    fit_rows: int
    studies: int


class PilotEvidence(Model):
    """How a pilot's measurement moved the literature's prior (asinh scale, as the model)."""

    arm: Paradigm
    measured_points: float = Field(description="Pilot: the arm's accuracy minus tl's, points.")
    low: float
    high: float
    prior_points: float = Field(description="The literature's expected gain before the pilot.")
    weight: float = Field(ge=0, le=1, description="Share of the combined estimate from the pilot.")


class Recommendation(Displayed):
    """What advisor decide --json writes, and the recommendation section of analyze."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    name: str | None
    verdict: Paradigm
    probability: float = Field(
        ge=0,
        le=1,
        description="Probability that the verdict is the better choice than the "
        "other side (transfer against the arm likeliest to beat it: the self-supervised "
        "family's best, or self-training). It can be below 0.5 in a toss-up "
        "(tl is named there because it costs no pretraining, not because it is likelier to win) "
        "and when a compute budget set the likelier arm aside (cost.unbudgeted_verdict).",
    )
    toss_up: bool = Field(
        description="Neither side reaches the toss-up threshold: the expected gain is within the "
        "noise of the evidence, and a pilot is what will decide."
    )
    contender: Paradigm | None = Field(
        default=None,
        description="The arm the probability and the expected gain are about: the verdict's "
        "own, or when the verdict is transfer, the arm likeliest to beat it among those a "
        "verdict may weigh (within the compute budget when one was given). None in documents "
        "of earlier versions.",
    )
    expected_gain: Gain = Field(
        description="Of the contender over transfer (negative: transfer wins)."
    )
    arms: dict[str, ArmEstimate] = Field(
        description="ssl and tl+ssl, and tl+st when there are unlabeled images to "
        "pseudo-label, each against tl."
    )
    reasons: list[Reason]
    caveats: list[str]
    flip: list[Flip]
    recipe: list[RecipeItem]
    features: DecisionFeatures
    model: ModelInfo
    self_training_model: ModelInfo | None = Field(
        default=None,
        description="The self-training model the tl+st estimate comes from; None in documents "
        "of earlier versions.",
    )
    pilot: PilotEvidence | None = Field(
        default=None, description="Set when a pilot's result was combined with the prior."
    )
    cost: CostForecast | None = Field(
        default=None,
        description="What each arm would cost at full scale; None in documents of earlier "
        "versions.",
    )
