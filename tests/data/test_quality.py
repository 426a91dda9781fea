"""Quality measures on real images (solar cells, digits, scikit-image's pictures): each reading
moves the way it should, outliers planted among real images are found, and a dataset that is
dark, soft or small as a whole yields no findings."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import problems, profile_of
from PIL import Image, ImageFilter

from advisor.data.digits import digit_scan
from advisor.data.quality import (
    MIN_IMAGES,
    Finding,
    Measure,
    jpeg_quality_of,
    measure,
    outliers,
    unpack,
    working_image,
)


@pytest.fixture(scope="module")
def cells() -> list[Image.Image]:
    """120 of the elpv solar cells: real 300 px electroluminescence images."""
    import elpv_dataset

    folder = Path(elpv_dataset.__file__).parent / "data" / "images"
    paths = sorted(folder.glob("*.png"))[::20][:120]
    images = []
    for path in paths:
        with Image.open(path) as img:
            images.append(img.convert("L"))
    return images


@pytest.fixture(scope="module")
def digit_scans() -> list[Image.Image]:
    from sklearn.datasets import load_digits

    return [digit_scan(x) for x in load_digits().images[:300]]


def measures_of(images: list[Image.Image]) -> dict[Measure, np.ndarray]:
    rows = measure([working_image(img) for img in images], [math.nan] * len(images))
    return unpack(rows)


def findings(images: list[Image.Image]) -> dict[int, Finding]:
    return {o.index: o.kind for o in outliers(measures_of(images))}


def test_each_reading_moves_with_its_degradation(cells) -> None:
    img = cells[0]
    a = np.asarray(img, dtype=np.float64)
    noisy = Image.fromarray(
        np.clip(a + np.random.default_rng(0).normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    )
    variants = [
        img,
        img.filter(ImageFilter.GaussianBlur(20)),
        noisy,
        Image.fromarray((a * 0.2).astype(np.uint8)),
        Image.fromarray(np.full(a.shape, 128, np.uint8)),
    ]
    m = measures_of(variants)
    assert m[Measure.sharpness][1] < m[Measure.sharpness][0] / 10
    assert m[Measure.noise][2] > 2 * m[Measure.noise][0]
    assert m[Measure.brightness][3] == pytest.approx(m[Measure.brightness][0] * 0.2, rel=0.05)
    assert m[Measure.contrast][4] == 0 and m[Measure.sharpness][4] == 0
    assert np.isnan(m[Measure.jpeg_quality]).all()


def test_noise_estimate_reads_the_sigma_of_added_noise() -> None:
    rng = np.random.default_rng(1)
    flat = np.full((32, 32), 120.0)
    for sigma in (4, 10, 20):
        img = Image.fromarray(np.clip(flat + rng.normal(0, sigma, flat.shape), 0, 255).astype("u1"))
        assert measures_of([img])[Measure.noise][0] == pytest.approx(sigma, rel=0.25)


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 95])
def test_jpeg_quality_is_read_exactly_from_pillow_files(quality: int) -> None:
    from skimage.data import camera

    buf = io.BytesIO()
    Image.fromarray(camera()).save(buf, format="JPEG", quality=quality)
    with Image.open(buf) as img:
        assert jpeg_quality_of(img.quantization) == quality
    assert math.isnan(jpeg_quality_of(None))


def test_planted_outliers_among_solar_cells_are_found(cells) -> None:
    base = cells[:100]
    a = np.asarray(base[0], dtype=np.float64)
    planted = [
        Image.fromarray(np.zeros_like(a, dtype=np.uint8)),  # black frame
        Image.fromarray(np.full(a.shape, 250, np.uint8)),  # white frame
        Image.fromarray(np.full(a.shape, 150, np.uint8)),  # uniform grey
        Image.fromarray((a * 0.1).astype(np.uint8)),  # under-exposed
        base[1].filter(ImageFilter.GaussianBlur(300 / 12)),  # out of focus
    ]
    found = findings(base + planted)
    n = len(base)
    assert found.get(n) == Finding.dark
    assert found.get(n + 1) == Finding.bright
    assert found.get(n + 2) == Finding.low_information
    assert found.get(n + 3) == Finding.dark
    assert found.get(n + 4) == Finding.blurry
    # among the originals, only the near-black dead cells of the dataset may be findings
    assert all(np.asarray(base[i]).mean() < 40 for i in found if i < n)


def test_datasets_dark_soft_or_small_as_a_whole_yield_no_findings(cells, digit_scans) -> None:
    darkened = [Image.fromarray((np.asarray(c) * 0.12).astype(np.uint8)) for c in cells[:100]]
    softened = [c.filter(ImageFilter.GaussianBlur(8)) for c in cells[:100]]
    assert findings(darkened) == {}
    assert findings(softened) == {}
    assert findings(digit_scans) == {}  # 32 px upsampled 8x8 scans, white on black


def test_too_few_images_yield_no_findings(cells) -> None:
    few = [*cells[: MIN_IMAGES - 2], Image.new("L", (300, 300), 0)]
    assert findings(few) == {}


def test_profile_reports_quality_and_its_findings(tmp_path: Path, digit_scans) -> None:
    for i, img in enumerate(digit_scans[:80]):
        img.save(tmp_path / f"digit_{i:03d}.png")
    Image.new("L", (32, 32), 0).save(tmp_path / "black.png")
    digit_scans[0].save(tmp_path / "scan.jpg", quality=20)
    profile = profile_of(tmp_path)
    assert problems(profile, "dark") == [[str(tmp_path / "black.png")]]
    q = profile.quality
    assert q is not None and q.sharpness is not None and q.brightness is not None
    assert q.brightness.images == 82 and q.brightness.lowest[0] == str(tmp_path / "black.png")
    assert q.jpeg_quality is not None and q.jpeg_quality.spread.median == 20
    assert q.resolution.below_pipeline == q.resolution.below_quarter == 1.0
    assert "upsampled" in q.resolution.reading


def test_a_quick_profile_reports_only_the_resolution(tmp_path: Path, digit_scans) -> None:
    from advisor.services.analyze import AnalyzeSettings, analyze

    for i, img in enumerate(digit_scans[:10]):
        img.resize((128, 128)).save(tmp_path / f"digit_{i}.png")
    profile = analyze(AnalyzeSettings(tmp_path, quick=True)).profile
    q = profile.quality
    assert q is not None and q.sharpness is None and q.jpeg_quality is None
    assert q.resolution.below_pipeline == 1.0 and q.resolution.below_half == 0.0
