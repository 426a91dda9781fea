"""Demo datasets that need no network: real handwritten digits and seeded synthetic worlds.

``digits`` writes the 1,797 scans bundled with scikit-learn as an ImageFolder with a small,
imbalanced labeled train split, a balanced test split and a large unlabeled pool: the situation
where the choice between transfer and self-supervised pretraining is a real question. Unless
asked for a clean copy it also plants one of several data problems, so every part of the report
has something to show. ``shapes`` draws procedural shapes whose class count, size, style (how
far from natural photos the images look) and noise are parameters, for tests and studies.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from advisor import __version__
from advisor.errors import InputError
from advisor.output import check_output_path, current_umask
from advisor.schema import DemoDataset

DIGITS_SIDE = 32
SHAPE_KINDS = ("circle", "square", "triangle", "cross", "half-disc", "star", "diamond", "bar")


class DemoName(StrEnum):
    digits = "digits"
    shapes = "shapes"


class Style(StrEnum):
    """How far from natural photos the shapes look: ``flat``, white silhouettes on black (far);
    ``color``, coloured shapes on colour gradients; ``photo``, coloured shapes over crops of the
    two photographs bundled with scikit-learn (near)."""

    flat = "flat"
    color = "color"
    photo = "photo"


@dataclass(frozen=True)
class ShapesWorld:
    """The parameters of a synthetic shapes world, checked before anything is written.

    ``noise`` is the standard deviation of added Gaussian pixel noise as a fraction of the range;
    ``imbalance`` the largest/smallest train class ratio.
    """

    images: int = 2000
    classes: int = 4
    size: int = 32
    style: Style = Style.color
    noise: float = 0.05
    imbalance: float = 1.0
    labeled_fraction: float = 0.2
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if not 2 <= self.classes <= 2 * len(SHAPE_KINDS):
            raise InputError(f"--classes must be between 2 and {2 * len(SHAPE_KINDS)}")
        if not 8 <= self.size <= 1024:
            raise InputError("--size must be between 8 and 1024 pixels")
        if self.images < 2 * self.classes:
            raise InputError(
                f"--images must be at least {2 * self.classes} for {self.classes} classes"
            )
        if not 0 <= self.noise <= 1:
            raise InputError("--noise must be between 0 and 1")
        if self.imbalance < 1:
            raise InputError("imbalance must be at least 1")


def make_demo(
    out: Path,
    dataset: DemoName = DemoName.digits,
    seed: int = 0,
    force: bool = False,
    clean: bool = False,
    world: ShapesWorld | None = None,
    output: Path | None = None,
) -> DemoDataset:
    """The ``demo`` service: check the destination (and ``-o``), write the dataset, describe it."""
    prepare_out(out, force)
    if output is not None:
        check_output_path(output, [out])
    if dataset is DemoName.digits:
        summary = write_dataset(out, lambda d: write_digits(d, seed=seed, clean=clean))
    else:
        summary = write_dataset(out, lambda d: write_shapes(d, world or ShapesWorld(), seed=seed))
    return DemoDataset(
        tool_version=__version__,
        dataset=dataset.value,
        seed=seed,
        out=str(out),
        images=summary.images,
        labeled=summary.labeled,
        unlabeled=summary.unlabeled,
        planted=summary.planted,
    )


@dataclass
class DemoSummary:
    """What a demo writer put on disk (the CLI turns it into the ``demo`` document)."""

    images: int = 0
    labeled: dict[str, dict[str, int]] = field(default_factory=dict)
    unlabeled: int = 0
    planted: list[str] = field(default_factory=list)

    def count(self, split: str, label: str | None) -> None:
        self.images += 1
        if label is None:
            self.unlabeled += 1
        else:
            per_class = self.labeled.setdefault(split, {})
            per_class[label] = per_class.get(label, 0) + 1


def prepare_out(out: Path, force: bool) -> None:
    """Refuse to write into a non-empty folder unless forced; files already there are kept."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder to write the demo into")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"--out {out} is not empty; choose another folder or pass --force")


def write_dataset(out: Path, writer: Callable[[Path], DemoSummary]) -> DemoSummary:
    """Build the dataset in a hidden sibling folder and move it into place at the end, so an
    interrupted demo leaves no half-written dataset behind. Into an existing folder (--force)
    the files are written directly."""
    try:
        if out.is_dir():
            return writer(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot write the demo into {out}: {exc.strerror or exc}") from None
    try:
        summary = writer(staging)
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private
        staging.rename(out)
        return summary
    except OSError as exc:
        raise InputError(f"cannot write the demo into {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _save(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", compress_level=1)


def write_digits(
    out: Path,
    seed: int = 0,
    test_per_class: int = 30,
    largest_class: int = 50,
    imbalance: float = 10.0,
    clean: bool = False,
) -> DemoSummary:
    """The scikit-learn digits as ``train/<digit>/``, ``test/<digit>/`` and ``unlabeled/``.

    Train class sizes fall geometrically from ``largest_class`` to ``largest_class / imbalance``
    over a seeded order of the digits; every image not used for train or test goes to the pool.
    """
    from sklearn.datasets import load_digits  # imported here: the rest of the CLI never needs it

    rng = np.random.default_rng(seed)
    digits = load_digits()
    pixels = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    targets = digits.target
    order = rng.permutation(10)
    sizes = np.round(largest_class * imbalance ** (-np.arange(10) / 9)).astype(int)
    summary = DemoSummary()
    paths: dict[str, list[Path]] = {"train": [], "test": [], "unlabeled": []}
    splits: dict[int, str] = {}
    for rank, digit in enumerate(order):
        members = rng.permutation(np.nonzero(targets == digit)[0])
        n_test, n_train = test_per_class, int(sizes[rank])
        for i in members[:n_test]:
            splits[int(i)] = "test"
        for i in members[n_test : n_test + n_train]:
            splits[int(i)] = "train"
    for i in range(len(targets)):
        split = splits.get(i, "unlabeled")
        label = None if split == "unlabeled" else str(targets[i])
        img = Image.fromarray(pixels[i]).resize(
            (DIGITS_SIDE, DIGITS_SIDE), Image.Resampling.BICUBIC
        )
        path = out / split / (label or "") / f"digit_{i:04d}.png"
        _save(img, path)
        paths[split].append(path)
        summary.count(split, label)
    if not clean:
        _plant_problems(out, paths, rng, summary)
    return summary


def _plant_problems(
    out: Path, paths: dict[str, list[Path]], rng: np.random.Generator, summary: DemoSummary
) -> None:
    test_image = paths["test"][int(rng.integers(len(paths["test"])))]
    leaked = out / "train" / test_image.parent.name / f"copy_of_{test_image.name}"
    shutil.copyfile(test_image, leaked)
    summary.count("train", test_image.parent.name)

    train_image = paths["train"][int(rng.integers(len(paths["train"])))]
    other = next(d for d in sorted(os.listdir(out / "train")) if d != train_image.parent.name)
    mislabeled = out / "train" / other / f"copy_of_{train_image.name}"
    shutil.copyfile(train_image, mislabeled)
    summary.count("train", other)

    pool_image = paths["unlabeled"][int(rng.integers(len(paths["unlabeled"])))]
    with Image.open(pool_image) as img:
        bigger = img.resize((DIGITS_SIDE + 8, DIGITS_SIDE + 8), Image.Resampling.BILINEAR)
    bigger.convert("L").save(out / "unlabeled" / f"resized_{pool_image.stem}.jpg", quality=90)
    summary.count("unlabeled", None)

    broken = out / "unlabeled" / "truncated_scan.png"
    data = pool_image.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    summary.planted = [
        f"split_leak: {test_image.relative_to(out)} copied into train",
        f"conflicting_labels: {train_image.relative_to(out)} copied into class {other}",
        f"near_duplicate: {pool_image.relative_to(out)} resized and saved as JPEG",
        f"unreadable: {broken.relative_to(out)} is cut off halfway",
    ]


def write_shapes(out: Path, world: ShapesWorld, seed: int = 0) -> DemoSummary:
    """A seeded world of procedural shapes, one shape kind per class (filled, then outlined for
    classes beyond the eight kinds): ``train/``, ``test/`` (balanced) and ``unlabeled/``."""
    classes, images, size = world.classes, world.images, world.size
    rng = np.random.default_rng(seed)
    names = [
        f"{SHAPE_KINDS[c % len(SHAPE_KINDS)]}{'-outline' if c >= len(SHAPE_KINDS) else ''}"
        for c in range(classes)
    ]
    n_test = max(1, round(images * world.test_fraction / classes))
    weights = world.imbalance ** (-np.arange(classes) / max(1, classes - 1))
    n_train = np.round(images * world.labeled_fraction * weights / weights.sum())
    n_train = np.maximum(1, n_train).astype(int)
    n_pool = max(0, images - n_test * classes - int(n_train.sum()))
    backgrounds = _photo_backgrounds() if world.style is Style.photo else None
    plan = [("test", c) for c in range(classes) for _ in range(n_test)]
    plan += [("train", c) for c in range(classes) for _ in range(n_train[c])]
    plan += [("unlabeled", int(c)) for c in rng.integers(0, classes, n_pool)]
    summary = DemoSummary()
    for index, (split, c) in enumerate(plan):
        img = _draw_shape(rng, c, size, world.style, world.noise, backgrounds)
        label = None if split == "unlabeled" else names[c]
        _save(img, out / split / (label or "") / f"shape_{index:05d}.png")
        summary.count(split, label)
    return summary


def _photo_backgrounds() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)


def _background(
    rng: np.random.Generator, side: int, style: str, backgrounds: list[np.ndarray] | None
) -> Image.Image:
    if style == "flat":
        return Image.new("RGB", (side, side), (0, 0, 0))
    if style == "photo" and backgrounds:
        photo = backgrounds[int(rng.integers(len(backgrounds)))]
        limit = min(photo.shape[:2])
        crop = int(rng.integers(min(side // 2, limit // 2), limit))
        y = int(rng.integers(0, photo.shape[0] - crop))
        x = int(rng.integers(0, photo.shape[1] - crop))
        patch = Image.fromarray(photo[y : y + crop, x : x + crop])
        return patch.resize((side, side), Image.Resampling.BILINEAR)
    start, end = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0.0, 1.0, side)[None, :, None]
    angle_is_vertical = rng.random() < 0.5
    if angle_is_vertical:
        ramp = ramp.transpose(1, 0, 2)
    grad = start + (end - start) * ramp
    grad = np.broadcast_to(grad, (side, side, 3))
    return Image.fromarray(grad.astype(np.uint8))


def _shape_points(
    kind: str, cx: float, cy: float, r: float, turn: float
) -> list[tuple[float, float]]:
    def polygon(n: int, radii: list[float]) -> list[tuple[float, float]]:
        angles = turn + np.arange(n * len(radii)) * 2 * np.pi / (n * len(radii))
        rs = np.tile(radii, n)
        return list(zip(cx + rs * np.cos(angles), cy + rs * np.sin(angles), strict=True))

    return {
        "square": lambda: polygon(4, [r]),
        "triangle": lambda: polygon(3, [r]),
        "diamond": lambda: polygon(4, [r, 0.55 * r]),
        "star": lambda: polygon(5, [r, 0.42 * r]),
        "cross": lambda: polygon(4, [r, 0.35 * r, 0.35 * r, r]),
        "bar": lambda: polygon(2, [r, 0.25 * r]),
    }[kind]()


def _draw_shape(
    rng: np.random.Generator,
    c: int,
    side: int,
    style: str,
    noise: float,
    backgrounds: list[np.ndarray] | None,
) -> Image.Image:
    scale = 4  # draw large, then average down: anti-aliased edges without a second library
    big = side * scale
    img = _background(rng, big, style, backgrounds)
    draw = ImageDraw.Draw(img)
    kind = SHAPE_KINDS[c % len(SHAPE_KINDS)]
    outline_only = c >= len(SHAPE_KINDS)
    r = big * rng.uniform(0.22, 0.4)
    cx, cy = (big / 2 + rng.uniform(-0.1, 0.1, 2) * big).tolist()
    colour = (255, 255, 255) if style == "flat" else tuple(int(v) for v in rng.integers(0, 256, 3))
    width = max(2, int(r * 0.18))
    fill = None if outline_only else colour
    box = (cx - r, cy - r, cx + r, cy + r)
    if kind == "circle":
        draw.ellipse(box, fill=fill, outline=colour, width=width)
    elif kind == "half-disc":
        start = float(rng.uniform(0, 360))
        draw.pieslice(box, start, start + 180, fill=fill, outline=colour, width=width)
    else:
        points = _shape_points(kind, cx, cy, r, rng.uniform(0, 2 * np.pi))
        if outline_only:
            draw.line([*points, points[0]], fill=colour, width=width, joint="curve")
        else:
            draw.polygon(points, fill=fill)
    small = img.resize((side, side), Image.Resampling.BOX)
    if noise <= 0:
        return small
    arr = np.asarray(small, dtype=np.float32)
    arr = arr + rng.normal(0.0, noise * 255.0, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
