"""advisor.duplicates: the SimHash band search against brute force, and the grouping."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from helpers import encode, smooth_noise
from PIL import Image

from advisor.data.duplicates import (
    MIN_CONTRAST,
    NEAR_DUPLICATE_CORRELATION,
    fingerprints,
    groups_of,
    near_duplicate_groups,
    similar_pairs,
    sketch,
)
from advisor.data.images import THUMB_SIDE, _as_read, _inspect_bytes


def correlation_matrix(rows: np.ndarray) -> np.ndarray:
    x = rows.astype(np.float64)
    x -= x.mean(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x @ x.T


def brute_force_pairs(rows: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    i, j = np.nonzero(np.triu(correlation_matrix(rows) >= threshold, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


def row_set(seed: int, n_random: int = 400) -> np.ndarray:
    """Thumbnail-like uint8 rows: smooth random images, plus copies of some of them with pixel
    noise of growing strength, so that pairs exist just above, at and below the threshold."""
    rng = np.random.default_rng(seed)
    base = np.stack(
        [
            np.asarray(smooth_noise(int(s), THUMB_SIDE, mode="L"))
            for s in rng.integers(0, 10**6, n_random)
        ]
    ).reshape(n_random, -1)
    rows = [base]
    for sigma in (1, 2, 4, 6, 8, 12, 16, 24):
        picked = base[rng.choice(n_random, 6, replace=False)].astype(np.float64)
        noisy = picked + rng.normal(0, sigma, picked.shape)
        rows.append(np.clip(noisy, 0, 255).round().astype(np.uint8))
    return np.concatenate(rows)[rng.permutation(n_random + 48)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_similar_pairs_agrees_with_brute_force(seed: int) -> None:
    rows = row_set(seed)
    found = set(map(tuple, similar_pairs(rows).tolist()))
    expected = brute_force_pairs(rows, NEAR_DUPLICATE_CORRELATION)
    assert found <= expected  # every reported pair really correlates above the threshold
    # the band search is probabilistic; at the threshold it keeps >= 99.5% of pairs in theory
    assert len(expected) >= 20
    assert len(expected - found) <= max(1, len(expected) // 50)
    # copies that are clearly copies (correlation >= 0.998) are never missed
    clear = brute_force_pairs(rows, 0.998)
    assert clear <= found


def test_similar_pairs_ignores_pairs_below_the_threshold() -> None:
    rows = row_set(3)
    corr = correlation_matrix(rows)
    for i, j in similar_pairs(rows, 0.999).tolist():
        assert corr[i, j] >= 0.999
    assert all(i < j for i, j in similar_pairs(rows).tolist())


def test_sketch_is_chunked_consistently() -> None:
    rng = np.random.default_rng(4)
    rows = rng.integers(0, 256, (5000, THUMB_SIDE * THUMB_SIDE), dtype=np.uint8)
    whole = sketch(rows)
    parts = [sketch(rows[:2500]), sketch(rows[2500:])]
    assert np.array_equal(whole.signatures, np.concatenate([p.signatures for p in parts]))
    assert np.allclose(whole.means, rows.mean(axis=1))
    blank = np.full((1, THUMB_SIDE * THUMB_SIDE), 128, np.uint8)
    assert sketch(blank).inverse_norms[0] == 0


def thumb_of(data: bytes) -> np.ndarray:
    facts = _as_read(_inspect_bytes(data, hashlib.blake2b(data, digest_size=16).digest())).facts
    assert facts.thumb is not None
    return np.frombuffer(facts.thumb, dtype=np.uint8).reshape(THUMB_SIDE, THUMB_SIDE)


@pytest.mark.parametrize("quality", [95, 90, 75])
def test_jpeg_reencoded_copies_are_grouped(quality: int) -> None:
    originals = [thumb_of(encode(smooth_noise(s), "PNG")) for s in range(30)]
    copies = [thumb_of(encode(smooth_noise(s), "JPEG", quality=quality)) for s in range(30)]
    groups = near_duplicate_groups(np.stack(originals + copies))
    assert sorted(sorted(g) for g in groups) == [[s, s + 30] for s in range(30)]


@pytest.mark.parametrize("side", [32, 40, 45, 48, 56, 72, 80, 96])
def test_resized_copies_are_grouped_at_any_scale(side: int) -> None:
    originals = [thumb_of(encode(smooth_noise(s), "PNG")) for s in range(20)]
    copies = [
        thumb_of(
            encode(
                smooth_noise(s).resize((side, side), Image.Resampling.BILINEAR), "JPEG", quality=90
            )
        )
        for s in range(20)
    ]
    groups = near_duplicate_groups(np.stack(originals + copies))
    assert sorted(sorted(g) for g in groups) == [[s, s + 20] for s in range(20)]


def test_distinct_images_are_not_grouped() -> None:
    thumbs = np.stack([thumb_of(encode(smooth_noise(s), "PNG")) for s in range(100, 300)])
    assert near_duplicate_groups(thumbs) == []


def test_blank_images_group_only_with_identical_ones() -> None:
    flat = [np.full((THUMB_SIDE, THUMB_SIDE), v, np.uint8) for v in (0, 0, 200, 201)]
    faint = np.full((THUMB_SIDE, THUMB_SIDE), 100, np.uint8)
    faint[0, 0] = 101  # some texture, but far below MIN_CONTRAST
    assert faint.std() < MIN_CONTRAST
    groups = near_duplicate_groups(np.stack([*flat, faint, faint + 50]))
    assert groups == [[0, 1]]


def test_tiny_and_malformed_inputs() -> None:
    empty = np.zeros((0, THUMB_SIDE, THUMB_SIDE), np.uint8)
    assert near_duplicate_groups(empty) == []
    one = np.full((1, THUMB_SIDE, THUMB_SIDE), 7, np.uint8)
    assert near_duplicate_groups(one) == []
    with pytest.raises(ValueError, match="expected thumbnails"):
        near_duplicate_groups(np.zeros((2, 8, 8), np.uint8))


def test_identical_thumbnails_merge_without_quadratic_pairs() -> None:
    one = np.asarray(smooth_noise(9, THUMB_SIDE, mode="L"))
    thumbs = np.stack([one] * 3000 + [np.asarray(smooth_noise(10, THUMB_SIDE, mode="L"))])
    groups = near_duplicate_groups(thumbs)
    assert groups == [list(range(3000))]


def test_fingerprints_tell_rows_apart() -> None:
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (2000, THUMB_SIDE * THUMB_SIDE), dtype=np.uint8)
    rows[1] = rows[0]
    rows[2] = rows[0]
    rows[2, -1] ^= 1  # one bit of one pixel
    prints = fingerprints(rows)
    assert prints[0] == prints[1]
    assert prints[0] != prints[2]
    assert len(np.unique(prints)) == 1999


def test_groups_of() -> None:
    assert groups_of(["a", "b", "a", "c", "b", "a"]) == [[0, 2, 5], [1, 4]]
    assert groups_of(np.array([1, 2, 3])) == []
    assert groups_of([]) == []
