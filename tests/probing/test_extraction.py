"""Batched extraction: features, logits and batch-norm statistics, in the input's order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

import advisor.probing.extraction as extraction_module
from advisor.probing.extraction import BN_STAT_IMAGES, extract
from advisor.probing.sources import load_backbone


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
    monkeypatch.setattr(extraction_module, "BN_STAT_IMAGES", 4)
    stem = backbone.batchnorm_layers()[0][0]
    mean = extract(paths, backbone, torch.device("cpu"), batch_size=2).bn_mean[stem]
    black = extract(paths[:2], backbone, torch.device("cpu"), batch_size=2).bn_mean[stem]
    white = extract(paths[-2:], backbone, torch.device("cpu"), batch_size=2).bn_mean[stem]
    low, high = np.minimum(black, white), np.maximum(black, white)
    spread = high - low
    inside = (mean > low + 0.1 * spread) & (mean < high - 0.1 * spread)
    assert inside[spread > 1e-3].mean() > 0.9
