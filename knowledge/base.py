"""The knowledge base as validated data: studies, published results, rules, domains and the
recipe's steps.

Everything here is read from the files beside this module and checked on load (unknown fields,
dangling references, a gap that does not equal the difference of its two values), so a typo in
the data fails loudly in the tests instead of quietly bending the advice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field, model_validator

from advisor.schema.base import Model
from advisor.schema.knowledge import DomainEntry, RecipeStep, ResultRow, Rule, Study
from advisor.schema.vocabulary import Domain


class KnowledgeBase(Model):
    studies: dict[str, Study]
    results: list[ResultRow]
    rules: list[Rule]
    domains: dict[Domain, DomainEntry]
    recipe: list[RecipeStep]
    sealed: list[str] = Field(
        default_factory=list,
        description="Studies sealed away as the final test of the gain model: never fitted on.",
    )

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
        for step in self.recipe:
            for cite in step.cites:
                if cite.study not in self.studies:
                    raise ValueError(f"recipe step {step.id} cites unknown study {cite.study}")
        unknown_sealed = set(self.sealed) - set(self.studies)
        if unknown_sealed:
            raise ValueError(f"sealed_studies.txt names unknown studies {sorted(unknown_sealed)}")
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


def parse_sealed(text: str) -> list[str]:
    """Study ids, one per line; ``#`` starts a comment (the seed and the date of the draw)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


FILES = (
    "studies.yaml",
    "results.csv",
    "rules.yaml",
    "domains.yaml",
    "recipe.yaml",
    "sealed_studies.txt",
)


def build_knowledge(texts: Mapping[str, str]) -> KnowledgeBase:
    """The knowledge base from the text of each of its ``FILES``."""
    studies = yaml.safe_load(texts["studies.yaml"])
    domains = yaml.safe_load(texts["domains.yaml"])
    return KnowledgeBase(
        studies={entry["id"]: Study.model_validate(entry) for entry in studies},
        results=parse_results(texts["results.csv"]),
        rules=[Rule.model_validate(entry) for entry in yaml.safe_load(texts["rules.yaml"])],
        domains={Domain(entry["id"]): DomainEntry.model_validate(entry) for entry in domains},
        recipe=[RecipeStep.model_validate(entry) for entry in yaml.safe_load(texts["recipe.yaml"])],
        sealed=parse_sealed(texts.get("sealed_studies.txt", "")),
    )


@cache
def load_knowledge() -> KnowledgeBase:
    """The shipped knowledge base, validated once per process."""
    return build_knowledge({name: _text(name) for name in FILES})
