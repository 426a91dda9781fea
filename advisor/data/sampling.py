"""Choosing which images a stage looks at, so that its cost does not grow with the dataset and
rare classes still reach it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.errors import InputError


def stratified_sample(labels: Sequence[str | None], limit: int, seed: int) -> list[int]:
    """Indices of at most ``limit`` labeled items, every class represented in proportion to its
    size but with at least min(size, 5) items, so that rare classes still reach the probes."""
    if limit <= 0:
        raise InputError("must be a positive number of images", "sample")
    rng = np.random.default_rng(seed)
    by_class: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        if label is not None:
            by_class.setdefault(label, []).append(index)
    total = sum(len(v) for v in by_class.values())
    if total <= limit:
        return sorted(i for members in by_class.values() for i in members)
    chosen: list[int] = []
    for members in by_class.values():
        share = max(min(len(members), 5), round(limit * len(members) / total))
        chosen += rng.choice(members, size=min(share, len(members)), replace=False).tolist()
    if len(chosen) > limit:
        chosen = rng.choice(chosen, size=limit, replace=False).tolist()
    return sorted(chosen)


def random_sample(indices: Sequence[int], limit: int, seed: int) -> list[int]:
    """At most ``limit`` of ``indices``, chosen with the seed, in their original order."""
    if len(indices) <= limit:
        return list(indices)
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(list(indices), size=limit, replace=False).tolist())
