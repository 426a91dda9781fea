"""The ``knowledge`` services: the rules and studies behind the advice, one item with its
evidence, and the gain model refitted on the published comparisons (and the user's pilots)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor import __version__
from advisor.errors import InputError
from advisor.schema.knowledge import KnowledgeItem, KnowledgeListing

if TYPE_CHECKING:
    from advisor.knowledge.model import GainModel


def listing() -> KnowledgeListing:
    from advisor.knowledge.base import load_knowledge

    kb = load_knowledge()
    return KnowledgeListing(
        tool_version=__version__, rules=kb.rules, studies=list(kb.studies.values())
    )


def item(item_id: str) -> KnowledgeItem:
    """A rule (with the results behind it), a study (with its results) or one result."""
    from advisor.knowledge.base import load_knowledge

    found = load_knowledge().lookup(item_id)
    if found is None:
        raise InputError(
            f"no rule, study or result with id {item_id!r}; `advisor knowledge list` shows them"
        )
    kind, entry, rows = found
    return KnowledgeItem(tool_version=__version__, kind=kind, item=entry, rows=rows)


def fit(with_experience: bool = False, self_training: bool = False) -> GainModel:
    """The gain model refitted from results.csv and rules.yaml, and from the pilots in the
    local experience store when asked; or the self-training model, from its own comparisons
    (the experience store holds self-supervised pilots only)."""
    from advisor.advice import experience
    from advisor.advice.fit import fit_gain_model, fit_self_training_model
    from advisor.knowledge.base import load_knowledge

    if self_training:
        if with_experience:
            raise InputError(
                "cannot go with `self_training`: the experience store holds self-supervised "
                "pilots, and the self-training model is fitted on published comparisons alone",
                "with_experience",
            )
        return fit_self_training_model(load_knowledge())
    rows = []
    if with_experience:
        records = experience.load()
        if not records:
            raise InputError(f"found no pilots in {experience.store_path()} yet", "with_experience")
        rows = [(r.features.model_dump(), r.arm, r.measured_points) for r in records]
    return fit_gain_model(load_knowledge(), experience=rows)
