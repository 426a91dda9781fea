"""The documents the tool reads and writes, as pydantic models.

Each top-level document carries ``schema_version`` so that tools reading our JSON can tell
which shape they hold; ``advisor schema NAME`` prints the JSON Schema generated from these
models, which is the contract the tests hold every written document to.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from advisor.knowledge.base import Domain, Paradigm, ResultRow, Rule, Study, Task

SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProblemKind(StrEnum):
    unreadable = "unreadable"
    oversized = "oversized"
    duplicate = "duplicate"
    near_duplicate = "near_duplicate"
    conflicting_labels = "conflicting_labels"
    split_leak = "split_leak"


class Problem(_Model):
    """Something in the data that will hurt training or evaluation, and which files it concerns."""

    kind: ProblemKind
    paths: list[str] = Field(min_length=1)
    detail: str = Field(description="One line: what is wrong, why it matters, what to do.")


class NoticeKind(StrEnum):
    hidden_files = "hidden_files"
    non_image_files = "non_image_files"
    linked_folders = "linked_folders"
    high_bit_depth = "high_bit_depth"
    cmyk = "cmyk"
    transparency = "transparency"
    animated = "animated"


class Notice(_Model):
    """Something worth knowing that is not an error: files skipped, modes that get converted."""

    kind: NoticeKind
    count: int = Field(ge=1)
    paths: list[str]
    detail: str


class Imbalance(_Model):
    """How unevenly the labeled training images spread over the classes."""

    basis: str = Field(
        description="Which images were counted: the labeled images outside val/test when there "
        "are any (what a model trains on), else all labeled images."
    )
    class_counts: dict[str, int]
    max_min_ratio: float = Field(ge=1, description="Largest class count / smallest.")
    normalized_entropy: float | None = Field(
        ge=0, le=1, description="Entropy of the class distribution / log(classes); 1 = balanced."
    )
    gini: float = Field(
        ge=0, le=1, description="Gini coefficient of the class counts; 0 = balanced."
    )
    effective_samples: float = Field(
        ge=0, description="Sum over classes of (1 - beta^n) / (1 - beta), Cui et al. 2019."
    )
    effective_samples_beta: float = Field(gt=0, lt=1)
    effective_samples_per_class: dict[str, float]
    missing_classes: list[str] = Field(
        description="Classes with labeled images only in val/test: nothing to train them on."
    )
    reading: str = Field(description="The figures in plain words.")


class Spread(_Model):
    """Summary of a numeric distribution."""

    min: float
    median: float
    max: float
    mean: float


class SizeCount(_Model):
    width: int
    height: int
    count: int


class ImageSizes(_Model):
    width: Spread
    height: Spread
    short_side: Spread
    most_common: list[SizeCount]


class SplitCounts(_Model):
    images: int = Field(ge=0)
    labeled: int = Field(ge=0)
    unlabeled: int = Field(ge=0)
    class_counts: dict[str, int]


class FileCounts(_Model):
    """Every file the scan met, by what became of it; the five parts add up to ``seen``."""

    seen: int = Field(ge=0)
    images: int = Field(ge=0, description="Readable images, the ones every other figure counts.")
    unreadable: int = Field(ge=0)
    oversized: int = Field(ge=0)
    non_image: int = Field(ge=0)
    hidden: int = Field(ge=0)


class Profile(_Model):
    """What the dataset is, measured without any neural network."""

    sources: list[str] = Field(description="The folders and manifest the images came from.")
    decoded: bool = Field(
        description="Every image was fully decoded, which finds truncated files and near "
        "duplicates; false for a quick profile (headers, format checksums, exact duplicates)."
    )
    files: FileCounts
    labeled: int = Field(ge=0)
    unlabeled: int = Field(ge=0)
    splits: dict[str, SplitCounts] = Field(
        description="Per split folder or manifest split; 'unsplit' for images in none."
    )
    classes: list[str]
    class_counts: dict[str, int]
    imbalance: Imbalance | None = Field(description="None without labeled images.")
    sizes: ImageSizes
    modes: dict[str, int]
    formats: dict[str, int]
    bytes: int = Field(ge=0, description="Total size of the readable images on disk.")
    problems: list[Problem]
    notices: list[Notice]


class Measurement(_Model):
    """One probe's reading: its value (None when it could not run, with the reason), the number
    of images it used, and what it means in one line."""

    value: float | None
    spread: float | None = Field(default=None, description="Standard deviation over CV folds.")
    sample: int = Field(ge=0, description="Images the measurement used.")
    meaning: str
    skipped: str | None = Field(default=None, description="Why there is no value.")


class DomainGap(_Model):
    """How far the data lies from the backbone's source, in several readings and one score."""

    score: Measurement = Field(description="The aggregate in [0, 1]: 0 natural photos, 1 noise.")
    batchnorm_divergence: Measurement
    batchnorm_divergence_per_layer: dict[str, float]
    calibration: dict[str, float] = Field(
        description="Batch-norm divergence of the anchor sets at this backbone and resolution."
    )
    source_entropy: Measurement
    knn_gain: Measurement = Field(description="k-NN accuracy, pretrained minus untrained.")
    logme_gain: Measurement = Field(description="LogME, pretrained minus untrained.")
    reference_pad: Measurement = Field(description="Proxy A-distance to --reference images.")
    pool_shift_pad: Measurement = Field(description="Proxy A-distance, labeled vs unlabeled.")


class Transferability(_Model):
    """How well the pretrained features suit the user's labels."""

    logme: Measurement
    leep: Measurement
    nce: Measurement
    h_score: Measurement
    h_score_shrinkage: Measurement
    knn_accuracy: Measurement
    linear_probe_accuracy: Measurement


class Granularity(_Model):
    class_separation: Measurement
    fine_grained: bool | None = Field(
        description="class_separation >= FINE_GRAINED_SEPARATION (None when not measured)."
    )
    threshold: float


class Probes(_Model):
    """A pretrained backbone's view of the data."""

    backbone: str
    backbone_description: str
    resolution: int
    device: str
    labeled_sample: int
    unlabeled_sample: int
    cache: Literal["hit", "miss", "off"]
    seconds: float
    domain_gap: DomainGap
    transferability: Transferability
    granularity: Granularity


class DatasetCard(BaseModel):
    """A dataset described without its images, for ``advisor decide CARD.yaml``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    task: Task
    domain: Domain
    labeled_images: StrictInt = Field(ge=1)
    unlabeled_images: StrictInt = Field(
        ge=0, description="In-domain images without labels available for pretraining."
    )
    classes: StrictInt = Field(ge=2)
    imbalance_ratio: float = Field(default=1.0, ge=1, description="Largest class / smallest.")
    image_size: StrictInt = Field(ge=1, description="Typical short side in pixels.")
    grayscale: StrictBool = False
    fine_grained: StrictBool = False
    source: str = Field(default="imagenet-1k", description="What transfer would start from.")
    domain_gap: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="A measured domain gap (advisor analyze); overrides the domain's typical one.",
    )
    linear_probe_accuracy: float | None = Field(
        default=None, ge=0, le=1, description="Linear-probe accuracy of the pretrained features."
    )


class DecisionFeatures(_Model):
    """What the engine decided from, and where each value came from."""

    labeled_images: int = Field(ge=0)
    labeled_per_class: float | None
    unlabeled_images: int = Field(ge=0)
    pool_images: int = Field(
        ge=0, description="Images self-supervision could use: unlabeled plus labeled ones."
    )
    classes: int | None
    imbalance_ratio: float | None
    image_size: int | None
    grayscale: bool
    task: Task
    fine_grained: bool
    fine_grained_basis: str
    domain: Domain | None
    domain_gap: float | None = Field(ge=0, le=1, description="None: not known.")
    domain_gap_basis: str = Field(description="Measured, given, typical of the domain, or none.")
    medical: bool
    dense: bool
    linear_probe_accuracy: float | None
    knn_accuracy: float | None
    logme: float | None
    pool_shift: float | None = Field(description="Proxy A-distance, labeled vs unlabeled images.")
    source: str


class Gain(_Model):
    """Gain over plain transfer in points of the task's metric, with an interval."""

    mean: float = Field(description="Central estimate (the median of the predictive spread).")
    low: float
    high: float
    level: float = Field(gt=0, lt=1, description="Coverage of [low, high].")


class ArmEstimate(_Model):
    gain: Gain
    probability: float = Field(ge=0, le=1, description="P(this arm beats plain transfer).")


class Cite(_Model):
    study: str
    where: str
    title: str
    year: int | None


class Reason(_Model):
    rule: str
    text: str
    favours: list[Paradigm]
    over: list[Paradigm]
    direction: Literal["ssl-family", "tl", "within-ssl-family", "neutral"] = Field(
        description="Which side of the verdict the rule pushes."
    )
    strength: int = Field(ge=1, le=3)
    secondary: bool
    cites: list[Cite]


class Flip(_Model):
    feature: str
    value: float = Field(description="The value at which the verdict changes.")
    verdict: Paradigm = Field(description="The verdict from that value on.")
    text: str


class RecipeItem(_Model):
    step: str
    detail: str
    cites: list[Cite]
    convention: bool = Field(description="Our convention rather than a cited finding.")


class ModelInfo(_Model):
    method: str
    fit_rows: int
    studies: int


class PilotEvidence(_Model):
    """How a pilot's measurement moved the literature's prior (asinh scale, as the model)."""

    arm: Paradigm
    measured_points: float = Field(description="Pilot: the arm's accuracy minus tl's, points.")
    low: float
    high: float
    prior_points: float = Field(description="The literature's expected gain before the pilot.")
    weight: float = Field(ge=0, le=1, description="Share of the combined estimate from the pilot.")


class Recommendation(_Model):
    """What advisor decide --json writes, and the recommendation section of analyze."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    name: str | None
    verdict: Paradigm
    probability: float = Field(
        ge=0.5,
        le=1,
        description="Probability that the verdict is the better choice than the "
        "other side (transfer vs the self-supervised family).",
    )
    expected_gain: Gain = Field(
        description="Of the better self-supervised arm over transfer (negative: transfer wins)."
    )
    arms: dict[str, ArmEstimate] = Field(description="ssl and tl+ssl, each against tl.")
    reasons: list[Reason]
    caveats: list[str]
    flip: list[Flip]
    recipe: list[RecipeItem]
    features: DecisionFeatures
    model: ModelInfo
    pilot: PilotEvidence | None = Field(
        default=None, description="Set when a pilot's result was combined with the prior."
    )


ArmName = Literal["scratch", "tl", "ssl", "tl+ssl", "tl-linear"]


class SeedSteps(_Model):
    """The steps of one seed. The first seed keeps the plan made before training; each later
    seed is re-planned from the measured time of the seeds before it, so that the run keeps to
    a time budget. The paired differences compare arms within a seed, which all got the same."""

    seed: int
    finetune_steps: int = Field(ge=1, description="Per arm, the same for every arm.")
    ssl_steps: int = Field(ge=0, description="Per self-supervised arm, in addition.")
    curve_steps: list[int] = Field(description="Self-supervised steps where k-NN is measured.")
    basis: str = Field(description="How these steps were chosen.")


class PilotPlan(_Model):
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
    method: Literal["simclr", "byol"]
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


class CurvePoint(_Model):
    step: int
    knn_accuracy: float


class UnitResult(_Model):
    """One arm trained and scored for one seed."""

    arm: ArmName
    seed: int
    accuracy: float = Field(ge=0, le=1)
    macro_f1: float = Field(ge=0, le=1)
    seconds: float
    final_loss: float | None
    curve: list[CurvePoint]
    correct: list[bool] = Field(description="Per evaluation image, in the split's order.")


class ArmSummary(_Model):
    arm: ArmName
    seeds: int
    accuracy: float
    accuracy_sd: float
    macro_f1: float


class PairedDifference(_Model):
    arm: ArmName
    against: Literal["tl"] = "tl"
    accuracy_points: float = Field(description="Mean over seeds, in accuracy points.")
    low: float
    high: float
    level: float


class PilotResult(_Model):
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


class Analysis(_Model):
    """What advisor analyze --json writes: the profile of a dataset."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    seed: int
    profile: Profile
    probes: Probes | None = Field(description="None with --no-probes.")
    recommendation: Recommendation | None = Field(
        description="None when there are no labeled images to advise on."
    )


class DemoDataset(_Model):
    """What advisor demo --json writes: what the demo folder holds."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    dataset: Literal["digits", "shapes"]
    seed: int
    out: str
    images: int
    labeled: dict[str, dict[str, int]] = Field(description="Per split, images per class.")
    unlabeled: int
    planted: list[str] = Field(description="Problems placed on purpose for the report to find.")


class BackboneEntry(_Model):
    spec: str
    description: str
    available: bool
    why_not: str | None = None


class BackboneList(_Model):
    """What advisor backbones --json writes: the specs usable offline on this machine."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    backbones: list[BackboneEntry]


class KnowledgeListing(_Model):
    """What advisor knowledge list --json writes: the rules and the studies behind them."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    rules: list[Rule]
    studies: list[Study]


class KnowledgeItem(_Model):
    """What advisor knowledge show ID --json writes: one rule, study or result, with the
    result rows behind it."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    kind: Literal["rule", "study", "result"]
    item: Rule | Study | ResultRow
    rows: list[ResultRow]


DOCUMENTS: dict[str, type[BaseModel]] = {
    "analyze": Analysis,
    "demo": DemoDataset,
    "backbones": BackboneList,
    "decision": Recommendation,
    "card": DatasetCard,
    "knowledge-list": KnowledgeListing,
    "knowledge-show": KnowledgeItem,
    "pilot": PilotResult,
}
"""Name given to ``advisor schema`` -> the model of the document."""
