"""What transfer then self-training (``tl+st``) gains over transfer alone, from its own
comparisons: the self-training model's estimate for a setting, and whether the evidence is too
thin for a verdict to rest on it.

Self-training has its own model because its evidence is its own: the semi-supervised studies
that compare it with transfer share few settings with the self-supervised ones, and folding
them into one fit would let either family's quirks speak for the other. The form is smaller
(``SELF_TRAINING_TERMS``) because the studies are few, and where a dataset lies outside what
they measured the estimate is shown but never named by the verdict: the advice says the
evidence is thin instead of extrapolating a handful of studies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.advice.moderators import moderators
from advisor.knowledge.base import KnowledgeBase
from advisor.knowledge.model import GainModel
from advisor.schema.vocabulary import (
    FROZEN_PROTOCOLS,
    MODEL_TERMS,
    SELF_TRAINING_TERMS,
    TRANSFER,
    PoolRelation,
    Protocol,
)

MIN_STUDIES = 3
"""Studies the self-training model must be fitted on before a verdict may name ``tl+st``: with
fewer, the spread between studies is a guess."""


def st_moderators(values: Mapping[str, Any]) -> np.ndarray:
    """The self-training model's vector: the gain model's terms of the same names, so that a
    label count or a protocol means the same thing to both models."""
    full = dict(zip(MODEL_TERMS, moderators(values, TRANSFER), strict=True))
    return np.array([full[term] for term in SELF_TRAINING_TERMS])


@dataclass(frozen=True)
class SelfTrainingEstimate:
    """``tl+st`` against ``tl``, asinh scale; ``thin``: why a verdict may not rest on it."""

    mean: float
    sd: float
    thin: str | None


def labeled_span(kb: KnowledgeBase, model: GainModel) -> tuple[int, int] | None:
    """The fewest and most labeled images among the comparisons the model was fitted on."""
    fitted = set(model.fit_rows)
    sizes = [r.labeled_images for r in kb.results if r.id in fitted and r.labeled_images]
    return (min(sizes), max(sizes)) if sizes else None


def estimate(
    values: Mapping[str, Any], kb: KnowledgeBase, model: GainModel
) -> SelfTrainingEstimate | None:
    """None when there is nothing to pseudo-label (no unlabeled images)."""
    if not values.get("unlabeled_images"):
        return None
    mean, sd = model.predict(st_moderators(values))
    return SelfTrainingEstimate(mean=mean, sd=sd, thin=thin_reason(values, kb, model))


def thin_reason(values: Mapping[str, Any], kb: KnowledgeBase, model: GainModel) -> str | None:
    """Too few studies, a label count outside those they measured, fewer unlabeled images than
    any of them had, an unlabeled pool of a kind none of them had (the semi-supervised
    benchmarks take the unlabeled images from the labeled set's own collection; a teacher
    labelling images of another kind is a different experiment, and can hurt), or a protocol
    none of them used (a frozen reading, where every comparison fine-tuned its student whole).
    Where one of these holds the model would be speaking from its priors, not from the
    comparisons."""
    if model.metrics.studies < MIN_STUDIES:
        return (
            f"only {model.metrics.studies} stud{'y' if model.metrics.studies == 1 else 'ies'} "
            f"compare self-training with transfer; a verdict needs {MIN_STUDIES}"
        )
    fitted = set(model.fit_rows)
    span = labeled_span(kb, model)
    labeled = values.get("labeled_images")
    if span is not None and labeled and not span[0] <= labeled <= span[1]:
        return (
            f"the self-training comparisons had {span[0]:,} to {span[1]:,} labeled images, "
            f"and this dataset has {labeled:,}"
        )
    rows = [r for r in kb.results if r.id in fitted]
    pools = [r.pretraining_images for r in rows if r.pretraining_images]
    unlabeled = values.get("unlabeled_images") or 0
    if pools and unlabeled < min(pools):
        return (
            f"the self-training comparisons had at least {min(pools):,} unlabeled images, and "
            f"this dataset has {unlabeled:,}"
        )
    relations = {r.pool_relation for r in rows if r.pool_relation}
    relation = values.get("pool_relation")
    if relation is not None and relations and PoolRelation(relation) not in relations:
        return (
            f"every self-training comparison took its unlabeled images from "
            f"{' or '.join(sorted(r.value for r in relations))} pools, and this pool is "
            f"'{PoolRelation(relation).value}'"
        )
    frozen = {r.protocol not in ("fine-tune",) for r in rows}
    protocol = values.get("protocol")
    if protocol is not None and (Protocol(protocol) in FROZEN_PROTOCOLS) not in frozen:
        return (
            f"no self-training comparison read a frozen network's features, as the "
            f"{Protocol(protocol).value} protocol asked for here does"
        )
    return None
