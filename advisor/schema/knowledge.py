"""The knowledge base's records (studies, published results, rules, domains) and the documents
of ``advisor knowledge list`` and ``advisor knowledge show``.

The records are validated here, field by field; ``advisor.knowledge`` loads the files and checks
what spans them (references between records, every domain described).
"""

from __future__ import annotations

from string import Formatter
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from advisor.schema.base import Model
from advisor.schema.decision import ENGINE_FEATURES
from advisor.schema.vocabulary import (
    DIRECT_KINDS,
    MODEL_TERMS,
    SCHEMA_VERSION,
    SELF_TRAINING_KINDS,
    Domain,
    Evidence,
    Kind,
    Paradigm,
    PoolRelation,
    SslFamily,
    Task,
)


class Study(Model):
    id: str
    authors: str
    title: str
    year: int | None
    venue: str | None
    arxiv: str | None
    compared: str


class ResultRow(Model):
    """One reported comparison; ``gap`` = ``value_a`` - ``value_b``, in points of the metric."""

    id: str
    study: str
    setting: str
    target: str
    domain: Domain
    modality: Literal["image", "text"]
    task: Task
    labeled_images: int | None = Field(ge=1, description="Labeled training images used.")
    label_fraction: float | None = Field(gt=0, le=1, description="Share of the target's labels.")
    pretraining_images: int | None = Field(
        ge=1,
        description="Images of the pretraining pool; for self-training, the unlabeled images "
        "its pseudo-labels are made on.",
    )
    pool_relation: PoolRelation | None = Field(
        description="Where the self-supervised (or self-training) arm's pool comes from, "
        "relative to the labeled set."
    )
    classes: int | None = Field(ge=2)
    image_size: int | None = Field(ge=1)
    fine_grained: bool
    arm_a: str
    arm_b: str
    kind: Kind
    ssl_method: str | None = Field(
        description="The self-supervised method, or for self-training rows the self-training "
        "method (FixMatch, Pseudo-Label, ...)."
    )
    ssl_family: SslFamily | None = Field(
        description="Family of the self-supervised method; empty for supervised arms and for "
        "self-training."
    )
    early_ssl: bool = Field(
        description="A self-supervised method of the pretext or memory-bank era (before 2020)."
    )
    continued: bool | None = Field(description="Self-supervision started from ImageNet weights.")
    arch: str | None = Field(description="Backbone family (resnet, vit, swin, ...).")
    metric: str
    protocol: Literal["fine-tune", "linear", "knn", "svm", "other", "mixed"] = Field(
        description="How both arms were used on the labels; mixed: each read its own way, as "
        "the study compared them (a self-trained network fine-tuned whole against frozen "
        "self-supervised features under a linear head), kept out of every fit."
    )
    value_a: float | None
    value_b: float | None
    gap: float
    evidence: Evidence
    source: str
    note: str | None

    @model_validator(mode="after")
    def _ssl_arm_is_coded_consistently(self) -> ResultRow:
        if self.kind in DIRECT_KINDS and self.ssl_family is not None:
            continued = self.kind is Kind.continued_vs_tl
            if self.continued is not continued:
                raise ValueError(
                    f"{self.id}: a {self.kind.value} row has continued: {str(continued).lower()}"
                )
        coded = self.ssl_family is None and bool(self.ssl_method)
        if self.kind in SELF_TRAINING_KINDS and not coded:
            raise ValueError(
                f"{self.id}: a {self.kind.value} row names its self-training method in "
                "ssl_method and leaves ssl_family empty (self-training is not a self-supervised "
                "family)"
            )
        sizes = (self.labeled_images, self.pretraining_images)
        if self.pool_relation is PoolRelation.same and None not in sizes and sizes[0] != sizes[1]:
            raise ValueError(
                f"{self.id}: a 'same' pool is the {self.labeled_images} labeled images "
                f"themselves, not {self.pretraining_images}; a larger pool of the same "
                "collection is 'same-collection'"
            )
        return self

    @model_validator(mode="after")
    def _gap_is_the_difference(self) -> ResultRow:
        if (self.value_a is None) != (self.value_b is None):
            raise ValueError(f"{self.id}: give both values or neither")
        if self.value_a is not None and abs(self.value_a - self.value_b - self.gap) > 0.011:
            raise ValueError(f"{self.id}: gap {self.gap} != {self.value_a} - {self.value_b}")
        return self


Operator = Literal["lt", "le", "gt", "ge", "eq", "in"]
Conditions = dict[str, dict[Operator, Any]]
"""Feature name -> {operator: bound}; all must hold."""


def _check_conditions(when: Conditions, known: frozenset[str]) -> Conditions:
    """A condition on a name the engine never sets would stay silent for ever: a load error."""
    for feature, test in when.items():
        if feature not in known:
            raise ValueError(
                f"condition on {feature!r}, which is none of {', '.join(sorted(known))}"
            )
        if len(test) != 1:
            raise ValueError(f"condition on {feature} needs exactly one operator")
    return when


class Citation(Model):
    study: str
    where: str


class ModelTerm(Model):
    """The moderator of the gain model a rule stands for, and the sign the rule implies."""

    term: str
    sign: Literal[-1, 1]

    @field_validator("term")
    @classmethod
    def _known_term(cls, term: str) -> str:
        if term not in MODEL_TERMS:
            raise ValueError(f"model term {term!r} is none of {', '.join(MODEL_TERMS)}")
        return term


class Rule(Model):
    id: str
    statement: str
    when: Conditions = Field(min_length=1)
    favours: list[Paradigm] = Field(min_length=1)
    over: list[Paradigm] = Field(min_length=1)
    strength: int = Field(ge=1, le=3)
    rows: list[str]
    cites: list[Citation] = Field(min_length=1)
    secondary: bool = Field(
        default=False, description="Rests partly on secondary (S-tagged) material."
    )
    model: ModelTerm | None = Field(
        default=None,
        description="The gain model's moderator this rule speaks for (its prior, when no direct "
        "comparison varies it); none when the model has no such moderator (the rule is then "
        "context, not part of the estimate).",
    )

    @field_validator("when")
    @classmethod
    def _conditions_on_engine_features(cls, when: Conditions) -> Conditions:
        return _check_conditions(when, ENGINE_FEATURES)

    @model_validator(mode="after")
    def _for_and_against_differ(self) -> Rule:
        if set(self.favours) & set(self.over):
            raise ValueError(f"rule {self.id} favours and argues against the same paradigm")
        return self


RECIPE_VALUES = ENGINE_FEATURES | {"verdict"}
"""What a recipe step's conditions and text may name: the features and the verdict."""


class RecipeStep(Model):
    """One step of the recipe: shown when its conditions hold, our convention when it cites
    nothing."""

    id: str
    step: str
    when: Conditions = Field(default_factory=dict)
    detail: str = Field(description="Text; {feature} or {feature:,} are filled in.")
    cites: list[Citation] = Field(default_factory=list)

    @field_validator("when")
    @classmethod
    def _conditions_on_known_values(cls, when: Conditions) -> Conditions:
        return _check_conditions(when, RECIPE_VALUES)

    @field_validator("detail")
    @classmethod
    def _fills_in_known_values(cls, detail: str) -> str:
        named = {field for _, field, _, _ in Formatter().parse(detail) if field is not None}
        unknown = named - RECIPE_VALUES
        if unknown:
            raise ValueError(
                f"the text names {', '.join(sorted(unknown))}, which it cannot fill in"
            )
        return detail


class DomainEntry(Model):
    id: Domain
    description: str
    domain_gap: float | None = Field(ge=0, le=1)
    basis: Literal["measured", "judgement"]
    reasoning: str


class KnowledgeListing(Model):
    """What advisor knowledge list --json writes: the rules and the studies behind them."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    rules: list[Rule]
    studies: list[Study]


class KnowledgeItem(Model):
    """What advisor knowledge show ID --json writes: one rule, study or result, with the
    result rows behind it."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    kind: Literal["rule", "study", "result"]
    item: Rule | Study | ResultRow
    rows: list[ResultRow]
