"""The scan worker's shortcuts give what the plain per-image functions give."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from advisor.data import quality
from advisor.data.images import _box_averaged, gray_rgb_flags, inspect_files, is_gray_rgb


def _reference_gray_rgb(img: Image.Image) -> bool:
    small = np.asarray(img.reduce(4) if min(img.size) >= 16 else img, dtype=np.int16)
    return int((small.max(axis=2) - small.min(axis=2)).max()) <= 3


def test_gray_check_of_a_chunk_matches_each_image_alone() -> None:
    rng = np.random.default_rng(0)
    images = []
    for side in (1, 7, 16, 33, 64, 130):
        gray = rng.integers(0, 256, (side, side + 3), dtype=np.uint8)
        images.append(Image.fromarray(gray).convert("RGB"))
        marked = np.repeat(gray[:, :, None], 3, axis=2)
        marked[side // 2, side // 2] = (255, 0, 0)
        images.append(Image.fromarray(marked))
        images.append(Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)))
    expected = [_reference_gray_rgb(img) for img in images]
    assert gray_rgb_flags([_box_averaged(img) for img in images]) == expected
    assert [is_gray_rgb(img) for img in images] == expected
    assert any(expected) and not all(expected)


def test_a_thumbnail_reused_as_working_image_reads_as_the_working_image(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    paths = []
    for side in (32, 64, 127, 128, 300):
        small = rng.integers(0, 256, (8, 8), dtype=np.uint8)
        img = Image.fromarray(small).resize((side, side), Image.Resampling.BILINEAR)
        paths.append(tmp_path / f"{side}.png")
        img.save(paths[-1])
    facts = inspect_files([str(p) for p in paths])
    for path, fact in zip(paths, facts, strict=True):
        with Image.open(path) as img:
            working = quality.working_image(img.convert("L"))
        assert fact.quality == quality.measure([working], [math.nan])[0], path.name
