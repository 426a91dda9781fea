"""The knowledge base as validated data: studies, published results, rules and domains.

Everything here is read from the files beside this module and checked on load (unknown fields,
dangling references, a gap that does not equal the difference of its two values), so a typo in
the data fails loudly in the tests instead of quietly bending the advice.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Paradigm = Literal["tl", "ssl", "tl+ssl"]
Evidence = Literal["V", "V-img", "V-img≈"]
"""Only verified numbers enter the data (the dossier's S and NR numbers never do)."""


class Domain(StrEnum):
    natural = "natural"
    fine_grained_natural = "fine-grained-natural"
    scene = "scene"
    remote_sensing = "remote-sensing"
    medical_xray = "medical-xray"
    medical_ct_mri = "medical-ct-mri"
    medical_pathology = "medical-pathology"
    medical_other = "medical-other"
    microscopy = "microscopy"
    document = "document"
    industrial = "industrial"
    synthetic = "synthetic"
    other = "other"


MEDICAL_DOMAINS = frozenset(
    {Domain.medical_xray, Domain.medical_ct_mri, Domain.medical_pathology, Domain.medical_other}
)


class Task(StrEnum):
    classification = "classification"
    multilabel = "multilabel"
    detection = "detection"
    segmentation = "segmentation"
    retrieval = "retrieval"


DENSE_TASKS = frozenset({Task.detection, Task.segmentation})


class Kind(StrEnum):
    """What a published comparison pits against what (arm a vs arm b)."""

    ssl_vs_tl = "ssl-vs-tl"
    ssl_vs_supervised_in_domain = "ssl-vs-supervised-in-domain"
    continued_vs_tl = "continued-vs-tl"
    public_ssl_vs_public_supervised = "public-ssl-vs-public-supervised"
    in_domain_ssl_vs_offdomain_ssl = "in-domain-ssl-vs-offdomain-ssl"
    tl_vs_scratch = "tl-vs-scratch"
    ssl_vs_scratch = "ssl-vs-scratch"


SSL_FAMILY_VS_SUPERVISED = frozenset(
    {
        Kind.ssl_vs_tl,
        Kind.ssl_vs_supervised_in_domain,
        Kind.continued_vs_tl,
        Kind.public_ssl_vs_public_supervised,
    }
)
"""The kinds that compare the self-supervised family with supervised pretraining: the rows the
gain model is fit on and evaluated against."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Study(_Data):
    id: str
    authors: str
    title: str
    year: int | None
    venue: str | None
    arxiv: str | None
    compared: str


class ResultRow(_Data):
    """One reported comparison; ``gap`` = ``value_a`` - ``value_b``, in points of the metric."""

    id: str
    study: str
    setting: str
    target: str
    domain: Domain
    modality: Literal["image", "text"]
    task: Task
    labeled_images: int | None = Field(ge=1)
    pretraining_images: int | None = Field(ge=1)
    classes: int | None = Field(ge=2)
    image_size: int | None = Field(ge=1)
    fine_grained: bool
    arm_a: str
    arm_b: str
    kind: Kind
    ssl_method: str | None
    early_ssl: bool = Field(
        description="A self-supervised method of the pretext or memory-bank era (before 2020)."
    )
    metric: str
    protocol: Literal["fine-tune", "linear", "other"]
    value_a: float | None
    value_b: float | None
    gap: float
    evidence: Evidence
    source: str
    note: str | None

    @model_validator(mode="after")
    def _gap_is_the_difference(self) -> ResultRow:
        if (self.value_a is None) != (self.value_b is None):
            raise ValueError(f"{self.id}: give both values or neither")
        if self.value_a is not None and abs(self.value_a - self.value_b - self.gap) > 0.011:
            raise ValueError(f"{self.id}: gap {self.gap} != {self.value_a} - {self.value_b}")
        return self


Operator = Literal["lt", "le", "gt", "ge", "eq", "in"]


class Citation(_Data):
    study: str
    where: str


class Rule(_Data):
    id: str
    statement: str
    when: dict[str, dict[Operator, Any]] = Field(min_length=1)
    favours: list[Paradigm] = Field(min_length=1)
    over: list[Paradigm] = Field(min_length=1)
    strength: int = Field(ge=1, le=3)
    rows: list[str]
    cites: list[Citation] = Field(min_length=1)
    secondary: bool = Field(
        default=False, description="Rests partly on secondary (S-tagged) material."
    )

    @field_validator("when")
    @classmethod
    def _one_operator_each(cls, when: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for feature, test in when.items():
            if len(test) != 1:
                raise ValueError(f"condition on {feature} needs exactly one operator")
        return when

    @model_validator(mode="after")
    def _for_and_against_differ(self) -> Rule:
        if set(self.favours) & set(self.over):
            raise ValueError(f"rule {self.id} favours and argues against the same paradigm")
        return self


class DomainEntry(_Data):
    id: Domain
    description: str
    domain_gap: float | None = Field(ge=0, le=1)
    basis: Literal["measured", "judgement"]
    reasoning: str


class KnowledgeBase(_Data):
    studies: dict[str, Study]
    results: list[ResultRow]
    rules: list[Rule]
    domains: dict[Domain, DomainEntry]

    @model_validator(mode="after")
    def _references_resolve(self) -> KnowledgeBase:
        row_ids = [row.id for row in self.results]
        if len(set(row_ids)) != len(row_ids):
            raise ValueError("results.csv has duplicate ids")
        known_rows = set(row_ids)
        for row in self.results:
            if row.study not in self.studies:
                raise ValueError(f"result {row.id} cites unknown study {row.study}")
        rule_ids = [rule.id for rule in self.rules]
        if len(set(rule_ids)) != len(rule_ids):
            raise ValueError("rules.yaml has duplicate ids")
        for rule in self.rules:
            for cite in rule.cites:
                if cite.study not in self.studies:
                    raise ValueError(f"rule {rule.id} cites unknown study {cite.study}")
            missing = set(rule.rows) - known_rows
            if missing:
                raise ValueError(f"rule {rule.id} names unknown results {sorted(missing)}")
        if set(self.domains) != set(Domain):
            raise ValueError("domains.yaml must describe every domain of the vocabulary")
        return self

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    def lookup(
        self, item_id: str
    ) -> (
        tuple[Literal["rule", "study", "result"], Rule | Study | ResultRow, list[ResultRow]] | None
    ):
        """A rule with the result rows behind it, a study with its rows, or one result row."""
        by_id = {row.id: row for row in self.results}
        rule = next((rule for rule in self.rules if rule.id == item_id), None)
        if rule is not None:
            return "rule", rule, [by_id[r] for r in rule.rows]
        if item_id in self.studies:
            return "study", self.studies[item_id], [r for r in self.results if r.study == item_id]
        if item_id in by_id:
            return "result", by_id[item_id], []
        return None


def _text(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _csv_value(value: str) -> str | None:
    return value if value != "" else None


def parse_results(text: str) -> list[ResultRow]:
    """Rows of results.csv; empty cells are missing values (never zeros)."""
    reader = csv.DictReader(io.StringIO(text))
    return [
        ResultRow.model_validate({key: _csv_value(value) for key, value in row.items()})
        for row in reader
    ]


def build_knowledge(
    studies: list[dict[str, Any]],
    results: list[ResultRow],
    rules: list[dict[str, Any]],
    domains: list[dict[str, Any]],
) -> KnowledgeBase:
    return KnowledgeBase(
        studies={entry["id"]: Study.model_validate(entry) for entry in studies},
        results=results,
        rules=[Rule.model_validate(entry) for entry in rules],
        domains={Domain(entry["id"]): DomainEntry.model_validate(entry) for entry in domains},
    )


@cache
def load_knowledge() -> KnowledgeBase:
    """The shipped knowledge base, validated once per process."""
    return build_knowledge(
        yaml.safe_load(_text("studies.yaml")),
        parse_results(_text("results.csv")),
        yaml.safe_load(_text("rules.yaml")),
        yaml.safe_load(_text("domains.yaml")),
    )
