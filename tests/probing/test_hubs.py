"""Weights from the local torchvision and Hugging Face caches, and what to do when they are not
there."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub
import pytest
import torch
from helpers import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    SMALL,
    same_weights,
    sha256,
    use_hf_cache,
    use_torch_cache,
)

from advisor.errors import InputError
from advisor.probing.preprocessing import Preprocessing
from advisor.probing.sources import load_backbone, random_counterpart


def test_torchvision_weights_come_from_the_torch_cache(
    torch_home: tuple[Path, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
):
    home, state = torch_home
    use_torch_cache(monkeypatch, home)
    backbone = load_backbone("torchvision:resnet18", resolution=SMALL)
    path = home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert backbone.spec == "torchvision:resnet18" and backbone.pretrained
    assert same_weights(backbone.model, state)
    assert backbone.weights_id == sha256(path)
    assert str(path) in backbone.description
    assert backbone.preprocessing == Preprocessing(
        SMALL, 224 / 256, "bilinear", IMAGENET_MEAN, IMAGENET_STD
    )
    assert backbone.source_classes is not None and backbone.source_classes[0] == "tench"
    features, logits = backbone.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 512) and logits is not None and logits.shape == (2, 1000)
    assert len(backbone.batchnorm_layers()) == 20
    twin = random_counterpart(backbone)
    assert twin.spec == "random:torchvision:resnet18" and twin.preprocessing.resolution == SMALL
    assert not same_weights(twin.model, state)


def test_torchvision_weights_not_cached_say_where_to_put_them():
    with pytest.raises(InputError) as caught:
        load_backbone("torchvision:resnet18", resolution=SMALL)
    message = str(caught.value)
    expected = Path(torch.hub.get_dir()) / "checkpoints" / "resnet18-f37072fd.pth"
    assert str(expected) in message
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    assert "\n" not in message


def test_timm_weights_come_from_the_hugging_face_cache(
    hf_home: tuple[Path, dict[str, torch.Tensor]], monkeypatch: pytest.MonkeyPatch
):
    home, state = hf_home
    use_hf_cache(monkeypatch, home)
    backbone = load_backbone("timm:resnet18", resolution=SMALL)
    assert backbone.spec == "timm:resnet18" and backbone.pretrained
    assert same_weights(backbone.model, state)
    assert backbone.weights_id == sha256(home / "hub/models--timm--resnet18.a1_in1k/blobs/f00d")
    assert "timm/resnet18.a1_in1k" in backbone.description
    assert backbone.preprocessing == Preprocessing(
        SMALL, 0.95, "bicubic", IMAGENET_MEAN, IMAGENET_STD
    )
    assert backbone.source_classes is not None and len(backbone.source_classes) == 1000
    features, logits = backbone.features_and_logits(torch.zeros(2, 3, SMALL, SMALL))
    assert features.shape == (2, 512) and logits is not None and logits.shape == (2, 1000)
    assert random_counterpart(backbone).spec == "random:resnet18"


def test_timm_weights_not_cached_say_how_to_get_them():
    with pytest.raises(InputError) as caught:
        load_backbone("timm:resnet18", resolution=SMALL)
    message = str(caught.value)
    assert "timm/resnet18.a1_in1k" in message
    assert huggingface_hub.constants.HF_HUB_CACHE in message
    assert "file:PATH:resnet18" in message
