"""The moderators of the meta-regression: one setting (a published comparison, or the user's
dataset) as the vector the fitted model reads, for one self-supervised arm against transfer.

The same function serves the fit and the advice, so a study's row and a user's card land on the
same scale. A moderator a study did not report takes its reference value (the centre of the
logarithmic sizes, the default pool relation and protocol, the middle of the domain-gap scale).
The data stay empty where a study is silent; the model, though, reads such a row as if it sat at
the centre, which pulls the size slopes towards zero: most direct comparisons report no labeled
count, so ``log_labeled`` rests on few rows, and its uncertainty says so.
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
UNKNOWN_DOMAIN_GAP = 0.5
"""Taken for a domain gap nobody knows: the middle of the scale, near neither end."""


def _decades(count: Any, centre: float) -> float:
    return math.log10(count) - centre if count else 0.0


def moderators(values: Mapping[str, Any], arm: Paradigm) -> np.ndarray:
    """The vector the model reads for ``arm`` (ssl or tl+ssl) against transfer."""
    relation = values.get("pool_relation")
    relation = PoolRelation(relation) if relation is not None else PoolRelation.same_collection
    protocol = values.get("protocol")
    protocol = Protocol(protocol) if protocol is not None else Protocol.fine_tune
    gap = values.get("domain_gap")
    found = {
        "intercept": 1.0,
        "continued": float(arm == "tl+ssl"),
        "frozen": float(protocol in FROZEN_PROTOCOLS),
        "log_labeled": _decades(values.get("labeled_images"), LABELED_CENTRE),
        "log_pool": _decades(values.get("pool_images"), POOL_CENTRE),
        "pool_same": float(relation is PoolRelation.same),
        "pool_related": float(relation is PoolRelation.related),
        "pool_other": float(relation is PoolRelation.other),
        "domain_gap": UNKNOWN_DOMAIN_GAP if gap is None else float(gap),
        "fine_grained": float(bool(values.get("fine_grained"))),
        "early_ssl": float(bool(values.get("early_ssl"))),
    }
    return np.array([found[term] for term in MODEL_TERMS])
