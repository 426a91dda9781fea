"""The feature cache on disk: round trip, key, and where it lives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from advisor.probing.cache import FeatureCache, extract_cached
from advisor.probing.sources import load_backbone


def test_cache_round_trip_and_key(backbone, images, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    digests = [bytes([i]) * 16 for i in range(len(images))]
    first = extract_cached(images, digests, backbone, torch.device("cpu"), cache)
    assert not first.cached
    files = list((tmp_path / "cache").rglob("*.npz"))
    assert len(files) == 1
    second = extract_cached(images, digests, backbone, torch.device("cpu"), cache)
    assert second.cached
    assert np.array_equal(second.features, first.features)
    assert np.array_equal(second.logits, first.logits)
    assert all(np.array_equal(second.bn_var[k], first.bn_var[k]) for k in first.bn_var)
    other_content = FeatureCache.key([b"x" * 16, *digests[1:]], backbone)
    assert other_content != FeatureCache.key(digests, backbone)
    other_resolution = FeatureCache.key(digests, load_backbone("imagenet", 48))
    assert other_resolution != FeatureCache.key(digests, backbone)
    files[0].write_bytes(b"not an npz")  # a damaged entry is recomputed, never trusted
    third = extract_cached(images, digests, backbone, torch.device("cpu"), cache)
    assert not third.cached and np.allclose(third.features, first.features)


def test_cache_folder_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert FeatureCache().root == tmp_path / "elsewhere" / "features"
