"""Quality findings on real images: degraded copies planted among the originals, and how well the
profile's outlier findings separate them.

Datasets: the scikit-learn digits as the demo writes them (1,797 scans, 32 px), the solar cells
of ``elpv-dataset`` (2,624 electroluminescence images, 300 px grayscale) and scikit-image's
``lfw_subset`` (200 crops, 25 px). Into a copy of each, ``--plant`` copies of randomly chosen
originals per kind are written (at most 5% of the originals per kind): Gaussian blur of sigma
side / 32 and side / 16 (two and four working pixels), Gaussian noise of sigma 25 grey levels,
darkened (x 0.15), brightened (the same towards white) and flat (every pixel the image's mean)
as PNG, and JPEG files at quality 10. Every file goes through ``inspect_all`` and
``build_profile`` as in ``advisor analyze``. Printed: each measure's distribution over the
originals (percentiles 0, 1, 50, 99, 100), the findings on each planted kind (blur should be
blurry, dark dark, bright bright, flat low_information; noise and JPEG have no finding of their
own), how often the noise reading puts a noisy copy above the originals' 99th percentile, the
JPEG quality read from the copies' headers, and the findings on originals per 1,000 images.

    python benchmarks/quality.py                  # all three, 20 copies per kind
    python benchmarks/quality.py --datasets digits --plant 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from advisor.data.digits import digit_scan
from advisor.data.profile import build_profile
from advisor.data.quality import MEASURES, Measure, unpack
from advisor.data.scan import discover, inspect_all

QUALITY_KINDS = frozenset({"blurry", "dark", "bright", "low_information"})
EXPECTED = {
    "blur32": "blurry",
    "blur16": "blurry",
    "noise": None,
    "jpeg10": None,
    "dark": "dark",
    "bright": "bright",
    "flat": "low_information",
}


def digits() -> list[Image.Image]:
    from sklearn.datasets import load_digits

    return [digit_scan(x) for x in load_digits().images]


def solar_cells() -> list[Image.Image]:
    import elpv_dataset

    folder = Path(elpv_dataset.__file__).parent / "data" / "images"
    images = []
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as img:
            images.append(img.convert("L"))
    return images


def lfw() -> list[Image.Image]:
    from skimage.data import lfw_subset

    return [Image.fromarray((x * 255).round().astype(np.uint8)) for x in lfw_subset()]


DATASETS: dict[str, Callable[[], list[Image.Image]]] = {
    "digits": digits,
    "solar_cells": solar_cells,
    "lfw": lfw,
}


def degrade(img: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    a = np.asarray(img, dtype=np.float64)
    if kind.startswith("blur"):  # sigma a 32nd or a 16th of the side: 2 or 4 working pixels
        return img.filter(ImageFilter.GaussianBlur(min(img.size) / int(kind[4:])))
    if kind == "noise":
        return Image.fromarray(np.clip(a + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8))
    if kind == "dark":
        return Image.fromarray((a * 0.15).round().astype(np.uint8))
    if kind == "bright":
        return Image.fromarray((255 - (255 - a) * 0.15).round().astype(np.uint8))
    if kind == "flat":
        return Image.fromarray(np.full(a.shape, a.mean().round(), dtype=np.uint8))
    raise ValueError(kind)


def evaluate(name: str, images: list[Image.Image], plant: int, seed: int, root: Path) -> dict:
    rng = np.random.default_rng(seed)
    per_kind = max(1, min(plant, len(images) // 20))
    folder = root / name
    folder.mkdir()
    truth: dict[str, str] = {}
    for i, img in enumerate(images):
        path = folder / f"orig_{i:05d}.png"
        img.save(path)
        truth[str(path)] = "original"
    for kind in EXPECTED:
        for i in rng.choice(len(images), per_kind, replace=False):
            path = folder / f"{kind}_{i:05d}.png"
            if kind == "jpeg10":  # written as a JPEG file, as such copies are met
                path = path.with_suffix(".jpg")
                images[i].save(path, format="JPEG", quality=10)
            else:
                degrade(images[i], kind, rng).save(path)
            truth[str(path)] = kind
    found = discover(folder)
    facts = inspect_all([e.path for e in found.entries])
    profile = build_profile(found, facts)
    flagged: dict[str, set[str]] = {}
    for problem in profile.problems:
        if problem.kind.value in QUALITY_KINDS:
            flagged.setdefault(problem.paths[0], set()).add(problem.kind.value)
    paths = [e.path for e in found.entries]
    measures = unpack([f.quality for f in facts])
    originals = np.array([truth[p] == "original" for p in paths])
    result: dict = {"images": len(images), "planted_per_kind": per_kind, "distribution": {}}
    for m in MEASURES:
        values = measures[m][originals]
        if np.isnan(values).all():
            continue
        pct = np.nanpercentile(values, [0, 1, 50, 99, 100])
        result["distribution"][m.value] = [round(float(v), 2) for v in pct]
    recall = {}
    for kind, expected in EXPECTED.items():
        members = [p for p in paths if truth[p] == kind]
        got = Counter(k for p in members for k in flagged.get(p, ()))
        recall[kind] = {
            "expected": expected,
            "found": got.get(expected, 0) if expected else None,
            "of": len(members),
            "findings": dict(got),
        }
    result["recall"] = recall
    noise = measures[Measure.noise]
    copies = np.array([noise[i] for i, p in enumerate(paths) if truth[p] == "noise"])
    result["noisy_copies_above_originals_p99"] = round(
        float(np.mean(copies > np.percentile(noise[originals], 99))), 3
    )
    jpeg = [measures[Measure.jpeg_quality][i] for i, p in enumerate(paths) if truth[p] == "jpeg10"]
    result["jpeg10_copies_estimated_quality"] = sorted({round(float(q)) for q in jpeg})
    false = Counter(k for p in paths if truth[p] == "original" for k in flagged.get(p, ()))
    result["false_paths"] = sorted(
        os.path.basename(p) for p in paths if truth[p] == "original" and p in flagged
    )[:10]
    result["false_findings"] = dict(false)
    result["false_per_1000"] = round(1000 * sum(false.values()) / len(images), 2)
    result["quality_reading"] = {
        k: v["reading"]
        for k, v in profile.quality.model_dump().items()
        if isinstance(v, dict) and "reading" in v
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(DATASETS), default=list(DATASETS))
    parser.add_argument("--plant", type=int, default=20, help="copies per kind (at most 5%%)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            print(f"{name}...", file=sys.stderr)
            results[name] = evaluate(name, DATASETS[name](), args.plant, args.seed, Path(tmp))
    json.dump(results, sys.stdout, indent=1)
    print()
    total = sum(r["images"] for r in results.values())
    false = sum(sum(r["false_findings"].values()) for r in results.values())
    print(
        f"false findings on {total:,} originals: {false} ({1000 * false / total:.2f} per 1,000)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
