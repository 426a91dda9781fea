"""What to do next for the chosen paradigm: the steps of ``knowledge/recipe.yaml`` whose
conditions hold, each with its citation or marked as our convention, their text filled in with
the dataset's own figures."""

from __future__ import annotations

from advisor.advice.rules import holds
from advisor.knowledge.base import KnowledgeBase
from advisor.schema.decision import Cite, DecisionFeatures, RecipeItem
from advisor.schema.vocabulary import Paradigm


def cite(kb: KnowledgeBase, study: str, where: str) -> Cite:
    entry = kb.studies[study]
    return Cite(study=study, where=where, title=entry.title, year=entry.year)


def build_recipe(
    features: DecisionFeatures, verdict: Paradigm, kb: KnowledgeBase
) -> list[RecipeItem]:
    values = {**features.model_dump(), "verdict": verdict}
    shown = {name: "unknown" if value is None else value for name, value in values.items()}
    return [
        RecipeItem(
            step=step.step,
            detail=step.detail.format_map(shown),
            cites=[cite(kb, c.study, c.where) for c in step.cites],
            convention=not step.cites,
        )
        for step in kb.recipe
        if holds(step.when, values)
    ]
