"""advisor.features: sampling, device choice, extraction and the on-disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_png
from PIL import Image

import advisor.features as features_module
from advisor.backbones import load_backbone
from advisor.errors import InputError
from advisor.features import (
    BN_STAT_IMAGES,
    FeatureCache,
    extract,
    extract_cached,
    random_sample,
    resolve_device,
    stratified_sample,
)


def test_stratified_sample_keeps_every_class_and_the_limit() -> None:
    labels = ["a"] * 900 + ["b"] * 90 + ["c"] * 3 + [None] * 50
    chosen = stratified_sample(labels, 100, seed=0)
    assert len(chosen) <= 100
    picked = [labels[i] for i in chosen]
    assert None not in picked
    assert picked.count("c") == 3  # rare classes keep min(size, 5)
    assert picked.count("b") >= 5
    assert picked.count("a") > picked.count("b")
    assert chosen == sorted(set(chosen))
    assert stratified_sample(labels, 100, seed=0) == chosen
    assert stratified_sample(labels, 100, seed=1) != chosen


def test_stratified_sample_takes_everything_under_the_limit() -> None:
    labels = ["a", None, "b", "a"]
    assert stratified_sample(labels, 10, seed=0) == [0, 2, 3]
    with pytest.raises(InputError, match="--sample"):
        stratified_sample(labels, 0, seed=0)


def test_random_sample() -> None:
    assert random_sample([5, 7, 9], 10, seed=0) == [5, 7, 9]
    picked = random_sample(list(range(100)), 10, seed=3)
    assert len(picked) == 10 and picked == sorted(picked)


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="--device"):
        resolve_device("tpu")


@pytest.fixture(scope="module")
def backbone():
    return load_backbone("imagenet", 32)


@pytest.fixture
def images(tmp_path: Path) -> list[str]:
    return [str(write_png(tmp_path / f"{i}.png", i, side=40)) for i in range(12)]


def test_extract_gives_features_logits_and_batchnorm_statistics(backbone, images) -> None:
    out = extract(images, backbone, torch.device("cpu"), batch_size=5)
    assert out.features.shape == (12, 1280)
    assert out.logits is not None and out.logits.shape == (12, 1000)
    layers = dict(backbone.batchnorm_layers())
    assert set(out.bn_mean) == set(layers)
    for name, module in layers.items():
        assert out.bn_mean[name].shape == (module.num_features,)
        assert (out.bn_var[name] >= 0).all()
    # the first layer's input statistics are those of the normalised pixels themselves
    stem = backbone.batchnorm_layers()[0][0]
    assert np.isfinite(out.bn_mean[stem]).all()
    # one batch or many: the same rows
    again = extract(images, backbone, torch.device("cpu"), batch_size=64)
    assert np.allclose(again.features, out.features, atol=1e-4)
    assert BN_STAT_IMAGES >= 12


def test_rows_follow_the_input_order_whatever_order_the_network_saw(backbone, images) -> None:
    forward = extract(images, backbone, torch.device("cpu"), batch_size=5)
    backward = extract(images[::-1], backbone, torch.device("cpu"), batch_size=5)
    assert np.allclose(backward.features[::-1], forward.features, atol=1e-4)
    assert np.allclose(backward.logits[::-1], forward.logits, atol=1e-4)
    alone = extract([images[7]], backbone, torch.device("cpu"))
    assert np.allclose(alone.features[0], forward.features[7], atol=1e-4)
    assert not np.allclose(alone.features[0], forward.features[6], atol=1e-2)


def test_features_match_a_plain_forward_pass(backbone, images) -> None:
    """The probes run the network channels-last on a CPU; the numbers must be the default
    layout's."""
    transform = backbone.preprocessing.transform()
    batch = torch.stack([transform(Image.open(p).convert("RGB")) for p in images])
    plain = load_backbone("imagenet", 32)
    expected, logits = plain.features_and_logits(batch)
    out = extract(images, backbone, torch.device("cpu"))
    assert np.allclose(out.features, expected.numpy(), atol=1e-4)
    assert np.allclose(out.logits, logits.numpy(), atol=1e-3)


def test_batchnorm_statistics_come_from_across_the_list(
    backbone, tmp_path: Path, monkeypatch
) -> None:
    """Files come grouped by class folder: statistics from the first images alone would see one
    class. Here the first half is black and the second white; the stem's input mean must lie
    between the two. (With the fixed shuffle, the first four images through the network are
    two black and two white; in file order they would be four black.)"""
    paths = []
    for i in range(12):
        path = tmp_path / f"{i:02d}.png"
        Image.new("RGB", (40, 40), (0, 0, 0) if i < 6 else (255, 255, 255)).save(path)
        paths.append(str(path))
    monkeypatch.setattr(features_module, "BN_STAT_IMAGES", 4)
    stem = backbone.batchnorm_layers()[0][0]
    mean = extract(paths, backbone, torch.device("cpu"), batch_size=2).bn_mean[stem]
    black = extract(paths[:2], backbone, torch.device("cpu"), batch_size=2).bn_mean[stem]
    white = extract(paths[-2:], backbone, torch.device("cpu"), batch_size=2).bn_mean[stem]
    low, high = np.minimum(black, white), np.maximum(black, white)
    spread = high - low
    inside = (mean > low + 0.1 * spread) & (mean < high - 0.1 * spread)
    assert inside[spread > 1e-3].mean() > 0.9


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
