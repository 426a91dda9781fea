"""advisor.data.resolution: the share of an image's detail its thumbnail cannot hold, small for
small originals enlarged (whatever the filter and format) and large for photographs, measured
along each axis at the thumbnail's own resolution; and the scan's workers keeping it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import encode, smooth_noise
from PIL import Image

from advisor.data.images import inspect_file, thumb_shape
from advisor.data.quality import REDUCING_GAP
from advisor.data.resolution import FINE_SHARE, SIDE, fine_shares


def square(img: Image.Image) -> bytes:
    """The image as the scan measures it (a PNG's: a JPEG is decoded at a reduced scale first):
    grayscale, resampled to the ``SIDE`` square."""
    gray = img.convert("L")
    return gray.resize((SIDE, SIDE), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP).tobytes()


def share(img: Image.Image) -> float:
    return float(fine_shares([square(img)], [thumb_shape(*img.size)])[0])


@pytest.mark.parametrize("filter_", [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC])
@pytest.mark.parametrize("side", [96, 256])
def test_small_originals_enlarged_have_no_detail_beyond_the_thumbnail(
    filter_: Image.Resampling, side: int
) -> None:
    for seed in range(10):
        original = smooth_noise(seed, 28, grid=12, mode="L")
        assert share(original.resize((side, side), filter_)) <= FINE_SHARE


def test_textures_and_busy_photographs_have_detail_beyond_the_thumbnail() -> None:
    import skimage.data

    for name in ("brick", "grass", "gravel", "text"):
        pixels = getattr(skimage.data, name)()
        tiles = [
            pixels[y : y + 160, x : x + 160]
            for y in range(0, pixels.shape[0] - 159, 160)
            for x in range(0, pixels.shape[1] - 159, 160)
        ]
        assert min(share(Image.fromarray(tile)) for tile in tiles) > 4 * FINE_SHARE, name


def test_smooth_parts_of_a_photograph_have_little() -> None:
    # the camera man's sky and coat hold almost nothing a 32 px thumbnail misses: such a tile is
    # judged at thumbnail scale, as an enlarged image is
    from skimage.data import camera

    assert share(Image.fromarray(camera()[:160, 160:320])) <= FINE_SHARE
    assert share(Image.fromarray(camera()[320:480, 320:480])) > 20 * FINE_SHARE


def test_each_axis_is_judged_at_the_thumbnails_resolution_along_it() -> None:
    # 256 x 64 images have 32 x 8 thumbnails: 6 stripes fit 32 columns, not 8 rows
    wave = (127 + 100 * np.sin(np.linspace(0, 12 * np.pi, 256, endpoint=False))).astype(np.uint8)
    across = Image.fromarray(np.tile(wave, (64, 1)))  # stripes along the width
    down = Image.fromarray(np.tile(wave[::4, None], (1, 256)))  # 6 stripes along the height
    assert share(across) <= FINE_SHARE
    assert share(down) > 0.5


def test_flat_and_empty_inputs() -> None:
    assert fine_shares([bytes(SIDE * SIDE)], [(32, 32)]).tolist() == [0.0]
    assert fine_shares([], []).tolist() == []


def test_the_scan_keeps_the_share_of_images_reduced_for_their_thumbnail(tmp_path: Path) -> None:
    enlarged = smooth_noise(1, 28, grid=12, mode="L").resize((256, 256), Image.Resampling.BICUBIC)
    from skimage.data import camera

    files = {
        "enlarged.jpg": encode(enlarged, "JPEG", quality=90),
        "photo.png": encode(Image.fromarray(camera()[100:260, 100:260]), "PNG"),
        "small.png": encode(smooth_noise(2, 48, mode="L"), "PNG"),
        "tiny.png": encode(smooth_noise(3, 28), "PNG"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    facts = {name: inspect_file(str(tmp_path / name)) for name in files}
    assert facts["enlarged.jpg"].fine is not None and facts["enlarged.jpg"].fine <= FINE_SHARE
    assert facts["photo.png"].fine is not None and facts["photo.png"].fine > FINE_SHARE
    assert facts["small.png"].fine is None  # under twice the thumbnail: kept near full size
    assert facts["tiny.png"].fine is None
    assert inspect_file(str(tmp_path / "photo.png"), decode=False).fine is None
