"""Near duplicates in catalogues of look-alikes (issue 29): items of one cut, enlarged from small
originals, are judged at the detail they have, grouped only with their copies, never chained;
the judging keeps to its budget on any content and says when it ran out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import encode, problems, profile_of, smooth_noise
from PIL import Image, ImageDraw

from advisor.data import detail, duplicates
from advisor.data.detail import DETAIL_SIDE, Originals
from advisor.data.duplicates import _nearest, _star_labels, near_duplicate_groups
from advisor.data.images import inspect_file, open_gray, thumb_shape
from advisor.data.resolution import FINE_SHARE
from advisor.schema.profile import NoticeKind

ITEMS = 27


def item(k: int) -> Image.Image:
    """Item ``k`` of a catalogue of one cut: a bar on a plain ground drawn at 28 px with a small
    mark in a place of its own, enlarged to 256 px as catalogues serve their photos."""
    img = Image.new("L", (28, 28), 20)
    draw = ImageDraw.Draw(img)
    draw.rectangle((9, 3, 18, 24), fill=180)
    x, y = 10 + 3 * (k % 3), 4 + 2 * (k // 3)
    draw.rectangle((x, y, x + 1, y + 1), fill=90)
    return img.resize((256, 256), Image.Resampling.BICUBIC)


def stored(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("L")


def catalogue(folder: Path) -> dict[str, str]:
    """The catalogue as JPEGs (quality 90) with five planted copies; returns copy -> original."""
    folder.mkdir()
    files = {f"item{k:02d}.jpg": encode(item(k), "JPEG", quality=90) for k in range(ITEMS)}
    copies = {
        "copy-jpeg.jpg": ("item00.jpg", lambda img: encode(img, "JPEG", quality=65)),
        "copy-resized.png": (
            "item04.jpg",
            lambda img: encode(img.resize((192, 192), Image.Resampling.BICUBIC), "PNG"),
        ),
        "copy-cropped.png": ("item08.jpg", lambda img: encode(img.crop((5, 4, 250, 251)), "PNG")),
        "copy-shifted.png": (
            "item13.jpg",
            lambda img: encode(
                img.transform(img.size, Image.Transform.AFFINE, (1, 0, 1, 0, 1, 0)), "PNG"
            ),
        ),
        "copy-brighter.png": ("item20.jpg", lambda img: encode(img.point(lambda v: v + 12), "PNG")),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    for name, (original, make) in copies.items():
        (folder / name).write_bytes(make(stored(files[original])))
    return {name: original for name, (original, _) in copies.items()}


def test_items_of_one_cut_group_only_with_their_copies(tmp_path: Path) -> None:
    planted = catalogue(tmp_path / "data")
    profile = profile_of(tmp_path / "data")
    found = [sorted(Path(p).name for p in group) for group in problems(profile, "near_duplicate")]
    assert sorted(found) == sorted(sorted([copy, original]) for copy, original in planted.items())
    assert not any(n.kind == NoticeKind.unjudged_pairs for n in profile.notices)


def scanned(folder: Path) -> tuple[list[str], list[np.ndarray], Originals]:
    """The paths, thumbnails and originals (with their held flags) the profile would pass."""
    paths = sorted(str(p) for p in folder.iterdir())
    facts = [inspect_file(p) for p in paths]
    thumbs = [
        np.frombuffer(f.thumb or b"", np.uint8).reshape(thumb_shape(f.width, f.height))
        for f in facts
    ]
    sizes = [(f.height, f.width) for f in facts]
    held = [f.fine is not None and f.fine <= FINE_SHARE for f in facts]
    return paths, thumbs, Originals(sizes, lambda k: open_gray(paths[k], DETAIL_SIDE), held)


def test_items_and_copies_judged_at_thumbnail_scale(tmp_path: Path) -> None:
    planted = catalogue(tmp_path / "data")
    paths, thumbs, originals = scanned(tmp_path / "data")
    assert all(originals.held)
    names = [Path(p).name for p in paths]
    items = [i for i, name in enumerate(names) if name.startswith("item")]
    distinct = np.array([[a, b] for a in items for b in items if a < b])
    assert not detail.held_alike(distinct, thumbs, originals).same.any()
    copies = np.array([[names.index(o), names.index(c)] for c, o in planted.items()])
    found = detail.held_alike(copies, thumbs, originals)
    assert found.same.all()
    cropped = names.index("copy-cropped.png")
    assert not found.decoded[[c != cropped for _, c in copies]].any()  # only a crop, if any
    # one-pixel-high thumbnails cannot be registered: never called copies here, even identical
    thin = [np.arange(32, dtype=np.uint8)[None] * 7] * 2
    lines = Originals([(8, 256)] * 2, lambda k: np.zeros((4, 128)), [True, True])
    assert not detail.held_alike(np.array([[0, 1]]), thin, lines).same.any()


def test_a_crop_that_failed_on_thumbnails_is_decoded_again_once_with_its_best_partner() -> None:
    # image 0 (smaller) against 1, 2 and 3; image 4 (smaller) against 5, already matched to 6
    pairs = np.array([[0, 1], [0, 2], [0, 3], [4, 5], [4, 6]])
    sizes = [(240, 240), (256, 256), (256, 256), (256, 256), (240, 240), (256, 256), (256, 256)]
    best = np.array([0.985, 0.995, 0.99, 0.99, 1.0])
    eligible = np.array([True, True, True, True, False])
    same = np.array([False, False, False, False, True])
    assert detail._escalated(pairs, eligible, best, same, sizes).tolist() == [1]


def test_same_frame_aligns_a_fraction_of_a_pixel() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(0)
    x = np.stack([np.asarray(smooth_noise(s, 32, grid=8, mode="L"), np.float32) for s in range(8)])
    moves = rng.uniform(-0.9, 0.9, (8, 2))
    y = np.stack(
        [ndimage.shift(a, m, order=3, mode="nearest") for a, m in zip(x, moves, strict=True)]
    )
    correlation, same = detail._same_frame(x, y)
    assert correlation.min() > 0.999 and same.all()
    other = np.roll(x, 1, axis=0)  # each image against another
    assert not detail._same_frame(x, other)[1].any()


def test_a_chain_of_matches_is_never_one_group() -> None:
    # 0-1, 1-2, 2-3, 3-4: each close to the next, the ends far apart
    labels = _star_labels(np.array([[0, 1], [1, 2], [2, 3], [3, 4]]), 6)
    groups = duplicates.groups_of(labels)
    assert groups == [[0, 1, 2], [3, 4]]
    pairs = {(0, 1), (1, 2), (2, 3), (3, 4)}
    for group in groups:  # every member matched its representative
        rep = labels[group[0]]
        assert all(m == rep or (min(m, rep), max(m, rep)) in pairs for m in group)
    star = _star_labels(np.array([[0, 5], [1, 5], [2, 5], [3, 4]]), 6)
    assert duplicates.groups_of(star) == [[0, 1, 2, 5], [3, 4]]
    # 4 matched only 1, which 0 took: it joins 0's group rather than stand alone
    left_over = _star_labels(np.array([[0, 1], [0, 2], [0, 3], [1, 4]]), 5)
    assert duplicates.groups_of(left_over) == [[0, 1, 2, 3, 4]]


def test_each_image_keeps_its_nearest_partners_nearest_first() -> None:
    # image 0 has four partners, each of which has a nearer partner of its own
    pairs = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 5], [2, 6], [3, 7], [4, 8]])
    scores = np.array([0.99, 0.98, 0.97, 0.96, 0.999, 0.998, 0.997, 0.996], dtype=np.float32)
    assert _nearest(pairs, scores, 1).tolist() == [4, 5, 6, 7, 0]
    # judged in rounds: every image's nearest, then the second nearest
    assert _nearest(pairs, scores, 2).tolist() == [4, 5, 6, 7, 0, 1, 2, 3]
    # image 5's nearest partner has the lower index: it comes first all the same
    pairs = np.array([[1, 5], [5, 6], [5, 7], [1, 2], [6, 8], [7, 9]])
    scores = np.array([0.99, 0.90, 0.91, 0.999, 0.999, 0.999], dtype=np.float32)
    kept = _nearest(pairs, scores, 1).tolist()
    assert 0 in kept and 2 not in kept
    assert _nearest(np.zeros((0, 2), np.int64), np.zeros(0, np.float32), 2).tolist() == []


def look_alike_textures(folder: Path, count: int) -> None:
    """``count`` 128 px images of one smooth picture under one fine weave, each with a small
    square of its own inverted: alike in every view the candidate search looks at, detailed (the
    weave) so judged on the images, and different there (the marks)."""
    folder.mkdir()
    base = np.asarray(smooth_noise(5, 128, mode="L"), dtype=np.float32)
    weave = 30 * np.sin(2 * np.pi * np.indices(base.shape).sum(axis=0) / 6)  # 6 px a period
    for k in range(count):
        pixels = np.clip(base + weave, 0, 255)
        y, x = 8 + 12 * (k // 9), 8 + 12 * (k % 9)
        pixels[y : y + 10, x : x + 10] = 255 - pixels[y : y + 10, x : x + 10]
        (folder / f"{k:03d}.png").write_bytes(
            encode(Image.fromarray(pixels.astype(np.uint8)), "PNG")
        )


def test_the_judging_keeps_to_its_budget_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    look_alike_textures(tmp_path / "data", 54)
    heard: list[list] = []
    notes: list[str] = []

    class Counter:
        def stage(self, description: str, total: int, unit: str) -> None:
            heard.append([description, total, 0])

        def advance(self, done: int) -> None:
            heard[-1][2] += done

        def note(self, text: str) -> None:
            notes.append(text)

        def warn(self, text: str) -> None: ...

    monkeypatch.setattr(duplicates, "ALLOWANCE", {"thumbnail": 0.5, "larger": 0.5})
    monkeypatch.setattr(duplicates, "JUDGED_AT_ONCE", 4)
    paths = sorted(str(p) for p in (tmp_path / "data").iterdir())
    facts = [inspect_file(p) for p in paths]
    assert all(f.fine is not None and f.fine > FINE_SHARE for f in facts)
    thumbs = [
        np.frombuffer(f.thumb or b"", np.uint8).reshape(thumb_shape(f.width, f.height))
        for f in facts
    ]
    sizes = [(f.height, f.width) for f in facts]
    originals = Originals(sizes, lambda k: open_gray(paths[k], DETAIL_SIDE))
    found = near_duplicate_groups(thumbs, [True] * len(thumbs), originals, Counter())
    assert found.groups == []
    description, total, done = heard[-1]
    assert description == "judging look-alike pairs"
    assert found.unjudged == total - done > 0
    assert any("budget is spent" in note and f"{found.unjudged:,}" in note for note in notes)
    # every pair judged was rejected, at no less than a registration each: the judging stopped
    # within one batch of the allowance
    allowance = 0.5 * len(thumbs)
    assert done <= allowance / duplicates.COSTS["registered"] + 4


def test_the_profile_gives_a_notice_when_the_budget_ran_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    look_alike_textures(tmp_path / "data", 40)
    monkeypatch.setattr(duplicates, "ALLOWANCE", {"thumbnail": 0.1, "larger": 0.1})
    monkeypatch.setattr(duplicates, "JUDGED_AT_ONCE", 4)
    profile = profile_of(tmp_path / "data")
    notices = [n for n in profile.notices if n.kind == NoticeKind.unjudged_pairs]
    assert len(notices) == 1 and notices[0].count > 0 and notices[0].paths == []
    assert "left unjudged" in notices[0].detail
