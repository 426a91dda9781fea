"""Probes benchmark: the probes stage on 2,000 labeled images against a bare forward pass.

Builds (or reuses) 2,000 labeled images of the shapes world (photo style, 8 classes, 96 px),
then, in one process:

- bare: the same 2,000 images, decoded and preprocessed beforehand, through the same model at
  the same resolution, batch 64, nothing else;
- cold: ``analyze``'s probes stage with an empty feature cache (decoding, the pretrained pass
  with batch-norm hooks, the untrained baseline, every probe);
- warm: the same again, features from the cache.

Goals (issue 6): cold under 60 s and at most 1.3x bare; warm at least 10x faster than cold.
With ``--compare 224`` it also probes at 224 px to show what the CPU resolution costs.

    python benchmarks/probes.py
    python benchmarks/probes.py --compare 224
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from advisor.analyze import analyze
from advisor.backbones import load_backbone
from advisor.demo import ShapesWorld, Style, write_shapes
from advisor.images import open_rgb
from advisor.probing import CPU_RESOLUTION
from advisor.settings import ProbeSettings

HERE = Path(__file__).resolve().parent
IMAGES = 2000


def build(root: Path) -> None:
    if (root / "train").is_dir():
        return
    world = ShapesWorld(
        images=IMAGES,
        classes=8,
        size=96,
        style=Style.photo,
        labeled_fraction=0.8,
        test_fraction=0.2,
    )
    write_shapes(root, world, seed=0)


def bare_forward(root: Path, resolution: int) -> float:
    backbone = load_backbone("imagenet", resolution)
    transform = backbone.preprocessing.transform()
    paths = sorted(str(p) for p in root.rglob("*.png"))[:IMAGES]
    batches = torch.stack([transform(open_rgb(p)) for p in paths]).split(64)
    model = backbone.model.eval()
    with torch.inference_mode():
        model(batches[0])  # warm-up
        started = time.perf_counter()
        for batch in batches:
            model(batch)
    return time.perf_counter() - started


def probe(root: Path, resolution: int, cache: Path) -> tuple[float, dict]:
    os.environ["ADVISOR_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    probes = analyze(root, probes=ProbeSettings(resolution=resolution, sample=IMAGES)).probes
    assert probes is not None
    return time.perf_counter() - started, json.loads(probes.model_dump_json())


def summary(probes: dict) -> dict:
    gap, t = probes["domain_gap"], probes["transferability"]
    return {
        "domain_gap": gap["score"]["value"],
        "batchnorm_divergence": gap["batchnorm_divergence"]["value"],
        "knn_gain": gap["knn_gain"]["value"],
        "logme": t["logme"]["value"],
        "knn_accuracy": t["knn_accuracy"]["value"],
        "linear_probe_accuracy": t["linear_probe_accuracy"]["value"],
        "class_separation": probes["granularity"]["class_separation"]["value"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=CPU_RESOLUTION)
    parser.add_argument("--compare", type=int, default=None, help="also probe at this size")
    args = parser.parse_args()
    root = HERE / "data" / "probes-2000"
    build(root)
    result: dict = {"threads": torch.get_num_threads(), "resolution": args.resolution}
    bare = bare_forward(root, args.resolution)
    with tempfile.TemporaryDirectory(prefix="advisor-cache-") as cache:
        cold, cold_probes = probe(root, args.resolution, Path(cache))
        _, warm_probes = probe(root, args.resolution, Path(cache))
    result.update(
        bare_forward_s=round(bare, 2),
        cold_probes_s=cold_probes["seconds"],
        cold_analyze_s=round(cold, 2),
        cold_ratio=round(cold_probes["seconds"] / bare, 2),
        warm_probes_s=warm_probes["seconds"],
        warm_speedup=round(cold_probes["seconds"] / warm_probes["seconds"], 1),
        warm_cache=warm_probes["cache"],
        values=summary(cold_probes),
    )
    if args.compare:
        with tempfile.TemporaryDirectory(prefix="advisor-cache-") as cache:
            _, other = probe(root, args.compare, Path(cache))
        result[f"values_at_{args.compare}"] = summary(other)
        result[f"probes_at_{args.compare}_s"] = other["seconds"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
