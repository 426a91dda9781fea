"""Reference image sets with a known place on the near-to-far scale of domain gap.

Natural photographs are what ImageNet backbones were trained on (near); handwritten digits
and synthetic shapes are far; uniform noise is as far as images go. The sets are built from
data that ships with scikit-learn and from seeded generators, so anyone can rebuild them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from advisor.data.images import content_digest
from advisor.data.shapes import ShapesWorld, write_shapes
from advisor.knowledge.calibration import domain_gap_calibration
from advisor.probing.backbone import Backbone
from advisor.probing.extraction import Extracted
from advisor.probing.readings import divergence_from_source
from advisor.probing.scale import GapScale
from advisor.schema.vocabulary import Style

ANCHORS = ("natural", "shapes-photo", "shapes-color", "shapes-flat", "digits", "noise")
ANCHOR_IMAGES = 64
"""Images per anchor set when a backbone other than the calibrated one is measured on the spot."""

Extract = Callable[[str, Sequence[str], Sequence[bytes], Backbone], Extracted]
"""Runs images through a backbone (stage description, paths, content digests, network)."""


def _natural(rng: np.random.Generator, n: int) -> list[Image.Image]:
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    crops = []
    for i in range(n):
        photo = photos[i % len(photos)]
        side = int(rng.integers(80, min(photo.shape[:2])))
        y = int(rng.integers(0, photo.shape[0] - side))
        x = int(rng.integers(0, photo.shape[1] - side))
        crops.append(Image.fromarray(photo[y : y + side, x : x + side]))
    return crops


def _digits(rng: np.random.Generator, n: int) -> list[Image.Image]:
    from sklearn.datasets import load_digits

    scans = load_digits().images
    chosen = rng.choice(len(scans), size=min(n, len(scans)), replace=False)
    return [
        Image.fromarray((scans[i] * (255 / 16)).astype(np.uint8)).resize(
            (32, 32), Image.Resampling.BICUBIC
        )
        for i in chosen
    ]


def _noise(rng: np.random.Generator, n: int) -> list[Image.Image]:
    return [Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(n)]


def write_anchor(name: str, folder: Path, n: int, seed: int = 0) -> list[str]:
    """Write ``n`` images of anchor ``name`` as PNGs into ``folder``; returns their paths."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    if name.startswith("shapes-"):
        world = ShapesWorld(images=n, classes=4, style=Style(name.removeprefix("shapes-")))
        write_shapes(folder, world, seed=seed)
        return sorted(str(p) for p in folder.rglob("*.png"))
    makers: dict[str, Callable[[np.random.Generator, int], list[Image.Image]]] = {
        "natural": _natural,
        "digits": _digits,
        "noise": _noise,
    }
    paths = []
    for i, img in enumerate(makers[name](rng, n)):
        path = folder / f"{name}_{i:04d}.png"
        img.save(path)
        paths.append(str(path))
    return paths


def gap_scale(backbone: Backbone, run: Extract) -> GapScale | None:
    """The scale of the domain-gap score for this backbone and resolution: the shipped
    calibration for the default backbone, otherwise batch-norm divergence between small natural
    and noise sets measured now (None for a network without batch-norm statistics)."""
    calibration = domain_gap_calibration()
    if calibration is not None and calibration.weights_id == backbone.weights_id:
        return GapScale.fitted(calibration, backbone.preprocessing.resolution)
    if not backbone.batchnorm_layers():
        return None
    anchors = {}
    with tempfile.TemporaryDirectory(prefix="advisor-anchors-") as tmp:
        for name in ("natural", "noise"):
            paths = write_anchor(name, Path(tmp) / name, ANCHOR_IMAGES)
            digests = [content_digest(Path(p).read_bytes()) for p in paths]
            extracted = run(f"calibrating on {name} images", paths, digests, backbone)
            anchors[name] = divergence_from_source(backbone, extracted)[0]
    return GapScale.two_anchors(anchors["natural"], anchors["noise"])
