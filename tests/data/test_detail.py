"""advisor.data.detail: near duplicates of images larger than their thumbnail confirmed on the
images themselves: planted copies of real photographs kept, look-alikes and a copy with a crack
drawn in rejected, and the registration's correlation map against a direct computation."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import encode, problems, profile_of, thumb_of
from PIL import Image, ImageDraw, ImageEnhance

from advisor.data import detail
from advisor.data.detail import DETAIL_SIDE, Originals, verdicts
from advisor.data.duplicates import near_duplicate_groups
from advisor.data.images import THUMB_SIDE, open_gray


def camera_tiles(side: int = 160) -> list[Image.Image]:
    """Non-overlapping tiles of scikit-image's camera man, a real photograph, leaving out the
    nearly flat ones (the sky: a standard deviation of 10 grey levels, where a one-pixel shift
    of its one small dark feature is the whole of its variance)."""
    from skimage.data import camera

    pixels = camera()
    tiles = [
        pixels[y : y + side, x : x + side]
        for y in range(0, pixels.shape[0] - side + 1, side)
        for x in range(0, pixels.shape[1] - side + 1, side)
    ]
    return [Image.fromarray(tile) for tile in tiles if tile.std() >= 30]


def decoded(data: bytes, folder: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """The image at detail size as the profile reads it (from a file), and its size."""
    path = folder / f"{hash(data) & 0xFFFFFFFF:08x}.img"
    path.write_bytes(data)
    with Image.open(path) as img:
        size = (img.height, img.width)
    return open_gray(str(path), DETAIL_SIDE), size


def scanned(
    files: list[bytes], folder: Path
) -> tuple[list[np.ndarray], list[tuple[int, int]], list[np.ndarray]]:
    """What the profile hands the search for these encoded images: their thumbnails, sizes and
    detail images."""
    read = [decoded(data, folder) for data in files]
    return [thumb_of(data) for data in files], [s for _, s in read], [i for i, _ in read]


def shifted(img: Image.Image, dx: int, dy: int) -> Image.Image:
    out = Image.new(img.mode, img.size)
    out.paste(img, (dx, dy))
    return out


def cropped(img: Image.Image, share: float) -> Image.Image:
    w, h = img.size
    left, top = round(w * share / 2), round(h * share / 3)
    return img.crop((left, top, w - round(w * share) + left, h - round(h * share) + top))


def cracked(img: Image.Image) -> Image.Image:
    """The image with a dark line drawn across part of it, as a crack in a solar cell (4 px
    wide and 110 px long on a 160 px tile)."""
    out = img.copy()
    ImageDraw.Draw(out).line([(20, 30), (116, 88)], fill=0, width=4)
    return out


COPIES = {
    "jpeg 60": lambda img: encode(img, "JPEG", quality=60),
    "half size": lambda img: encode(img.resize((80, 80), Image.Resampling.BICUBIC), "PNG"),
    "double size": lambda img: encode(img.resize((320, 320), Image.Resampling.BICUBIC), "PNG"),
    "brighter": lambda img: encode(ImageEnhance.Brightness(img).enhance(1.1), "PNG"),
    "less contrast": lambda img: encode(ImageEnhance.Contrast(img).enhance(0.85), "PNG"),
    "crop 4%": lambda img: encode(cropped(img, 0.04), "PNG"),
    "shift": lambda img: encode(shifted(img, 1, 0), "PNG"),
    "shift down": lambda img: encode(shifted(img, 0, -1), "JPEG", quality=90),
}


def judge(first: bytes, second: bytes, folder: Path) -> detail.Verdict:
    images = [decoded(first, folder), decoded(second, folder)]
    originals = Originals([size for _, size in images], lambda i: images[i][0])
    return verdicts(np.array([[0, 1]]), originals)[0]


@pytest.mark.parametrize("kind", list(COPIES))
def test_copies_of_a_photograph_are_confirmed(kind: str, tmp_path: Path) -> None:
    for tile in camera_tiles()[:6]:
        verdict = judge(encode(tile, "PNG"), COPIES[kind](tile), tmp_path)
        assert verdict.same, (kind, verdict)


def test_a_crack_or_a_different_tile_is_not_a_copy(tmp_path: Path) -> None:
    # A dark line across a busy photograph is a small share of its variance: measured on 80
    # tiles of 160 px (benchmark photo tiles), a 4 px line across 60% of the tile left 9 judged
    # copies, a 2 px line across a third 22. Of the camera tiles, one in seven is such a tile.
    tiles = camera_tiles()
    judged = [judge(encode(t, "PNG"), encode(cracked(t), "PNG"), tmp_path) for t in tiles]
    assert sum(verdict.same for verdict in judged) <= 1, judged
    assert not judge(encode(tiles[0], "PNG"), encode(tiles[1], "PNG"), tmp_path).same


def test_look_alike_digits_enlarged_are_not_grouped() -> None:
    # The 182 scikit-learn 1s enlarged to 256 px: smooth images, whose differences are spread
    # over the digit (no single cell stands out) and show at 16 px. Only scans that are the
    # same picture at their 8x8 source resolution (every pixel within 3 of 16 levels) may
    # group; before the coarse check, 39 different 1s made one group.
    from sklearn.datasets import load_digits

    from advisor.data.digits import digit_scan

    digits = load_digits()
    ones = np.flatnonzero(digits.target == 1)
    big = [
        digit_scan(digits.images[i]).convert("L").resize((256, 256), Image.Resampling.BICUBIC)
        for i in ones
    ]
    thumbs = [np.asarray(img.resize((THUMB_SIDE,) * 2, Image.Resampling.BILINEAR)) for img in big]
    images = [np.asarray(img.resize((DETAIL_SIDE,) * 2, Image.Resampling.BILINEAR)) for img in big]
    originals = Originals([(256, 256)] * len(big), images.__getitem__)
    groups = near_duplicate_groups(thumbs, [True] * len(big), originals).groups
    for group in groups:
        sources = digits.images[ones[group]]
        assert np.abs(sources - sources[0]).max() <= 3, ones[group]


def test_the_coarse_test_on_thumbnails_keeps_copies_and_sets_look_alikes_aside() -> None:
    # Before anything is decoded again: every copy kind of the camera tiles passes on its
    # thumbnails; of the pairs of different scikit-learn 1s enlarged to 256 px that pass the
    # candidate stage, most are set aside.
    from sklearn.datasets import load_digits

    from advisor.data.digits import digit_scan
    from advisor.data.duplicates import candidate_pairs, views

    tiles = camera_tiles()
    copies = [make(t) for t in tiles for make in COPIES.values()]
    originals = [encode(t, "PNG") for t in tiles for _ in COPIES]
    thumbs = [thumb_of(data) for data in originals + copies]
    sizes = []
    for data in originals + copies:
        with Image.open(io.BytesIO(data)) as img:
            sizes.append((img.height, img.width))
    n = len(copies)
    pairs = np.array([[k, n + k] for k in range(n)])
    assert detail.coarsely_alike(pairs, thumbs, sizes).all()

    digits = load_digits()
    ones = np.flatnonzero(digits.target == 1)
    big = [digit_scan(digits.images[i]).resize((256, 256), Image.Resampling.BICUBIC) for i in ones]
    thumbs = [thumb_of(encode(img, "PNG")) for img in big]
    rows, owners, probes = views(thumbs, [True] * len(thumbs))
    pairs, _ = candidate_pairs(rows, owners, probes, np.ones(len(owners), dtype=bool))
    sources = digits.images[ones]
    different = np.array([np.abs(sources[i] - sources[j]).max() > 3 for i, j in pairs.tolist()])
    assert different.sum() > 100
    kept = detail.coarsely_alike(pairs[different], thumbs, [(256, 256)] * len(thumbs))
    assert kept.mean() < 0.5


def test_correlation_map_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(0)
    for _ in range(12):
        hx, wx = rng.integers(20, 48, 2)
        hy, wy = hx - rng.integers(-3, 7), wx - rng.integers(-3, 7)
        x, y = rng.random((hx, wx)) * 255, rng.random((hy, wy)) * 255
        scores, top, left = detail._correlation_map(x, y)
        least = detail.MIN_OVERLAP * max(x.size, y.size)
        expected = {}
        for dy in range(-hy, hx):
            for dx in range(-wy, wx):
                p, q = detail._overlap(x, y, dy, dx)
                if p.size >= least:
                    expected[(dy, dx)] = np.corrcoef(p.ravel(), q.ravel())[0, 1]
        found = {
            (i + top, j + left): scores[i, j]
            for i in range(scores.shape[0])
            for j in range(scores.shape[1])
            if scores[i, j] > -1
        }
        assert found.keys() == expected.keys()
        assert all(abs(found[k] - expected[k]) < 1e-6 for k in expected)


def test_large_copies_are_grouped_and_look_alikes_are_not(tmp_path: Path) -> None:
    tiles = camera_tiles()[:8]
    files = [encode(tile, "PNG") for tile in tiles]
    files += [COPIES["crop 4%"](tiles[0]), COPIES["shift"](tiles[1]), COPIES["jpeg 60"](tiles[2])]
    thumbs, sizes, images = scanned(files, tmp_path)
    reduced = [max(size) >= 2 * THUMB_SIDE for size in sizes]
    groups = near_duplicate_groups(thumbs, reduced, Originals(sizes, images.__getitem__)).groups
    n = len(tiles)
    assert sorted(groups) == [[0, n], [1, n + 1], [2, n + 2]]
    heard = Recorder()
    near_duplicate_groups(thumbs, reduced, Originals(sizes, images.__getitem__), heard)
    described = [description for description, _, _ in heard.stages]
    assert described == ["looking for near duplicates", "judging look-alike pairs"]
    assert heard.stages[0][1:] == (len(files), len(files))
    _, total, done = heard.stages[1]
    assert total == done >= 3  # every pair counted, at least the copies
    vanished = Originals(sizes, lambda i: None if i == n else images[i])
    assert sorted(near_duplicate_groups(thumbs, reduced, vanished).groups) == [
        [1, n + 1],
        [2, n + 2],
    ]


@pytest.mark.parametrize("shape", [(1000, 30), (30, 1000), (600, 60), (60, 600)])
def test_copies_of_elongated_images_are_grouped(shape: tuple[int, int], tmp_path: Path) -> None:
    # A thumbnail 1 px wide (over 20:1) cannot be registered on thumbnails: the pair goes on to
    # the images themselves. A tall crop is scaled axis by axis: the detail image's short side
    # is rounded to a few pixels, so one scale for both axes would zoom it.
    rng = np.random.default_rng(sum(shape))
    small = rng.integers(0, 256, (max(2, shape[0] // 10), max(2, shape[1] // 10)), np.uint8)
    original = Image.fromarray(small).resize(shape[::-1], Image.Resampling.BICUBIC)
    others = [
        Image.fromarray(rng.integers(0, 256, small.shape, np.uint8)).resize(
            shape[::-1], Image.Resampling.BICUBIC
        )
        for _ in range(3)
    ]
    h, w = shape
    crop = original.crop((0, round(h * 0.02), w, h - round(h * 0.02)))
    files = [encode(img, "PNG") for img in [original, *others]]
    files += [encode(ImageEnhance.Brightness(original).enhance(1.1), "PNG"), encode(crop, "PNG")]
    thumbs, sizes, images = scanned(files, tmp_path)
    reduced = [max(size) >= 2 * THUMB_SIDE for size in sizes]
    groups = near_duplicate_groups(thumbs, reduced, Originals(sizes, images.__getitem__)).groups
    assert groups == [[0, 4, 5]]


class Recorder:
    """A ``Progress`` that keeps each stage's description, total and the items it heard of."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, int, int]] = []

    def stage(self, description: str, total: int, unit: str) -> None:
        self.stages.append((description, total, 0))

    def advance(self, done: int) -> None:
        description, total, so_far = self.stages[-1]
        self.stages[-1] = (description, total, so_far + done)

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass


def test_profile_finds_a_cropped_copy_of_a_large_image(tmp_path: Path) -> None:
    data = tmp_path / "data"
    tiles = camera_tiles()
    for i, tile in enumerate(tiles[:6]):
        (data / "cls").mkdir(parents=True, exist_ok=True)
        (data / "cls" / f"tile{i}.png").write_bytes(encode(tile, "PNG"))
    (data / "cls" / "tile0-crop.png").write_bytes(COPIES["crop 4%"](tiles[0]))
    (data / "cls" / "tile1-cracked.png").write_bytes(encode(cracked(tiles[1]), "PNG"))
    found = problems(profile_of(data), "near_duplicate")
    assert [sorted(Path(p).name for p in group) for group in found] == [
        ["tile0-crop.png", "tile0.png"]
    ]
