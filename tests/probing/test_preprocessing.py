"""Preprocessing: any image mode and shape in, the weights' framing and normalisation out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from helpers import IMAGENET_MEAN, IMAGENET_STD, SMALL
from PIL import Image

from advisor.probing.backbone import Backbone
from advisor.probing.preprocessing import Preprocessing


def test_transform_takes_any_mode_and_shape():
    prep = Preprocessing(SMALL, 0.875, "bilinear", IMAGENET_MEAN, IMAGENET_STD)
    assert prep.resize_side == 73
    transform = prep.transform()
    gray = Image.fromarray(np.full((50, 100), 128, np.uint8), mode="L")
    clear = Image.new("RGBA", (80, 120), (0, 0, 0, 0))  # transparent: white, as in a viewer
    for img in (gray, clear, Image.new("RGB", (300, 200), (255, 0, 0))):
        out = transform(img)
        assert type(out) is torch.Tensor and out.dtype == torch.float32
        assert out.shape == (3, SMALL, SMALL)
    white = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    assert torch.allclose(transform(clear)[:, 0, 0], white, atol=1e-5)


def test_preprocessing_key_tracks_every_field():
    base = Preprocessing(SMALL, 0.875, "bicubic", (0.5,) * 3, (0.5,) * 3)
    variants = [
        replace(base, resolution=96),
        replace(base, crop_ratio=0.9),
        replace(base, interpolation="bilinear"),
        replace(base, mean=IMAGENET_MEAN),
        replace(base, std=IMAGENET_STD),
    ]
    keys = {base.key(), *(v.key() for v in variants)}
    assert len(keys) == 6
    assert Preprocessing(SMALL, 0.875, "bicubic", (0.5,) * 3, (0.5,) * 3).key() == base.key()


def test_pixels_then_a_batch_normalised_equal_the_per_image_transform(
    imagenet: Backbone, photos: dict[str, Image.Image], photo_batch: torch.Tensor
) -> None:
    pre = imagenet.preprocessing
    pixels = torch.stack([pre.pixels()(photos["china"]), pre.pixels()(photos["flower"])])
    side = pre.resolution
    assert pixels.dtype == torch.uint8 and pixels.shape == (2, 3, side, side)
    assert torch.equal(pre.normalize()(pixels), photo_batch)
