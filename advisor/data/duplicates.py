"""Exact and near-duplicate grouping.

Exact duplicates come from content hashes. Near duplicates are images whose 16x16 grayscale
thumbnails, standardised to zero mean and unit norm, correlate at >= 0.99: on the digits demo,
re-encoded (JPEG), resized and brightened copies all correlate >= 0.994, while only 6 of the
1.6 million pairs of distinct scans reach 0.99 (those look identical at their 8x8 source
resolution); smoothly resized copies of smooth noise stay >= 0.995 at any scale factor.

Comparing every pair is 5e9 dot products for 100,000 images, so candidates come from
locality-sensitive hashing: the signs of 128 fixed random projections of each thumbnail
(SimHash), cut into 8 bands of 16 bits. Two thumbnails at angle t agree on a bit with
probability 1 - t/pi, so a pair at the threshold (t = 8.1 degrees) shares at least one whole
band with probability 1 - (1 - 0.955^16)^8 = 99.5%, and a typical copy (correlation 0.998) with
probability 1 - 4e-5; unrelated images almost never do. Every candidate is then confirmed by
its actual correlation (after a cheap check of the whole signature). We wrote these few lines
rather than depend on an image-hash library: the hash is one matrix product, and the search,
the part that costs, is not something those libraries offer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from advisor.data.images import THUMB_SIDE

NEAR_DUPLICATE_CORRELATION = 0.99
"""Smallest correlation of two standardised thumbnails at which the images are near duplicates."""

BANDS = 8
BAND_BITS = 16
MAX_SIGNATURE_DISTANCE = 16
"""Candidates whose whole 128-bit signatures differ in more bits than this are dropped before
the correlation is computed: a pair at the threshold differs in 5.8 bits on average (sd 2.3)."""
MIN_CONTRAST = 2.0
"""Thumbnails with a pixel standard deviation under this (grey levels) are blank: any two blank
images correlate arbitrarily, so they are left out of the near-duplicate search."""
CHUNK = 4096
"""Rows converted to float at a time: reusing one small buffer avoids touching hundreds of
megabytes of fresh memory, whose page faults cost more than the arithmetic."""


@cache
def _projections(dimensions: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((dimensions, BANDS * BAND_BITS)).astype(np.float32)


@dataclass(frozen=True)
class Sketch:
    """What the search needs of each thumbnail: its SimHash signature (packed bits), its mean and
    the inverse norm of its centred pixels (0 for a blank thumbnail)."""

    signatures: np.ndarray
    means: np.ndarray
    inverse_norms: np.ndarray


def sketch(flat: np.ndarray) -> Sketch:
    """Signatures, means and inverse norms of (n, d) uint8 rows, computed in small chunks."""
    n, d = flat.shape
    projections = _projections(d)
    column_sums = projections.sum(axis=0)
    signatures = np.empty((n, BANDS * BAND_BITS // 8), dtype=np.uint8)
    means = np.empty(n, dtype=np.float64)
    inverse_norms = np.zeros(n, dtype=np.float64)
    buffer = np.empty((min(n, CHUNK), d), dtype=np.float32)
    projected = np.empty((min(n, CHUNK), projections.shape[1]), dtype=np.float32)
    for start in range(0, n, CHUNK):
        rows = buffer[: min(CHUNK, n - start)]
        rows[...] = flat[start : start + len(rows)]
        mean = rows.mean(axis=1)
        out = projected[: len(rows)]
        np.matmul(rows, projections, out=out)
        out -= mean[:, None] * column_sums  # (x - mean) @ R, without a centred copy of x
        signatures[start : start + len(rows)] = np.packbits(out > 0, axis=1, bitorder="little")
        rows -= mean[:, None]
        norm = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        contrast = norm >= MIN_CONTRAST * np.sqrt(d)
        means[start : start + len(rows)] = mean
        inverse_norms[start : start + len(rows)] = np.where(
            contrast, 1.0 / np.maximum(norm, 1e-9), 0
        )
    return Sketch(signatures, means, inverse_norms)


def correlations(flat: np.ndarray, sk: Sketch, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Correlation of rows a[k] and b[k] of ``flat`` (0 where either is blank)."""
    dots = np.einsum("ij,ij->i", flat[a].astype(np.float64), flat[b].astype(np.float64))
    centred = dots - flat.shape[1] * sk.means[a] * sk.means[b]
    return centred * sk.inverse_norms[a] * sk.inverse_norms[b]


def similar_pairs(
    flat: np.ndarray, min_correlation: float = NEAR_DUPLICATE_CORRELATION
) -> np.ndarray:
    """Index pairs (i < j) of (n, d) uint8 rows that share a SimHash band and correlate at
    ``min_correlation`` or more, shape (m, 2). Blank rows are never paired."""
    n = len(flat)
    sk = sketch(flat)
    words = sk.signatures.view("<u8")
    keys = sk.signatures.view(f"<u{BAND_BITS // 8}")
    found = [np.zeros((0, 2), dtype=np.int64)]
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        ordered = keys[order, band]
        step = 1
        alive = np.flatnonzero(ordered[:-1] == ordered[1:])
        while alive.size:  # pair each row with the rows `step` places later in its key run
            a, b = order[alive], order[alive + step]
            near = np.bitwise_count(words[a] ^ words[b]).sum(axis=1) <= MAX_SIGNATURE_DISTANCE
            a, b = a[near], b[near]
            close = correlations(flat, sk, a, b) >= min_correlation
            found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1)[close])
            step += 1
            alive = alive[alive + step < n]
            alive = alive[ordered[alive + step] == ordered[alive]]
    pairs = np.concatenate(found)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def fingerprints(flat: np.ndarray) -> np.ndarray:
    """64-bit fingerprint of each uint8 row (a random linear hash of its 8-byte words, modulo
    2^64), to merge identical thumbnails without sorting 256-byte rows; the caller checks the
    merge, so a collision costs time, never a wrong group."""
    words = np.ascontiguousarray(flat).view("<u8")
    multipliers = np.random.default_rng(1).integers(1, 2**63, words.shape[1], dtype=np.uint64) | 1
    return (words * multipliers).sum(axis=1, dtype=np.uint64)


def near_duplicate_groups(
    thumbs: np.ndarray, min_correlation: float = NEAR_DUPLICATE_CORRELATION
) -> list[list[int]]:
    """Indices of images that look the same, grouped transitively, groups of two or more.

    Identical thumbnails are merged before the search, so a thousand copies of one picture cost
    one row rather than half a million pairs; blank ones group only with identical ones.
    """
    if thumbs.ndim != 3 or thumbs.shape[1:] != (THUMB_SIDE, THUMB_SIDE):
        raise ValueError(f"expected thumbnails of shape (n, {THUMB_SIDE}, {THUMB_SIDE})")
    if len(thumbs) < 2:
        return []
    flat = np.ascontiguousarray(thumbs.reshape(len(thumbs), -1))
    _, first, inverse = np.unique(fingerprints(flat), return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if not (flat == flat[first][inverse]).all():  # a fingerprint collision: merge exactly
        _, first, inverse = np.unique(
            flat.view(f"V{flat.shape[1]}").ravel(), return_index=True, return_inverse=True
        )
        inverse = inverse.ravel()
    pairs = similar_pairs(flat[first], min_correlation)
    graph = coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(first),) * 2)
    _, component = connected_components(graph, directed=False)
    return groups_of(component[inverse])


def groups_of(keys: Sequence | np.ndarray) -> list[list[int]]:
    """Indices sharing a key, for every key held by two or more indices, in order of first index.

    Sorting (numpy) rather than a dict of lists: 100,000 keys, nearly all unique, would otherwise
    build 100,000 one-element lists.
    """
    keys = np.asarray(keys)
    if keys.size < 2:
        return []
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(ordered)])
    shared = sizes > 1
    groups = [order[a : a + n].tolist() for a, n in zip(starts[shared], sizes[shared], strict=True)]
    return sorted(groups, key=lambda group: group[0])
