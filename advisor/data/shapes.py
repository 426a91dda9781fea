"""A seeded synthetic world of procedural shapes, for tests, studies and calibration: class
count, size, style (how far from natural photos the images look) and noise are parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from advisor.data.writing import DemoSummary, save_png
from advisor.errors import InputError
from advisor.schema.vocabulary import Style

SHAPE_KINDS = ("circle", "square", "triangle", "cross", "half-disc", "star", "diamond", "bar")


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
            raise InputError(f"must be between 2 and {2 * len(SHAPE_KINDS)}", "classes")
        if not 8 <= self.size <= 1024:
            raise InputError("must be between 8 and 1024 pixels", "size")
        if self.images < 2 * self.classes:
            raise InputError(
                f"must be at least {2 * self.classes} for {self.classes} classes", "images"
            )
        if not 0 <= self.noise <= 1:
            raise InputError("must be between 0 and 1", "noise")
        if self.imbalance < 1:
            raise InputError("must be at least 1", "imbalance")


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
        save_png(img, out / split / (label or "") / f"shape_{index:05d}.png")
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
