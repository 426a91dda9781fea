"""Probes benchmark: the probes stage on 2,000 labeled images against a bare forward pass.

Builds (or reuses) 2,000 labeled images of the shapes world (photo style, 8 classes, 96 px),
then, in one process:

- bare: the same 2,000 images, decoded and preprocessed beforehand, through the same model at
  the same resolution, batch 64, nothing else;
- cold: ``analyze``'s probes stage with an empty feature cache (loading the network, decoding,
  the pretrained pass with batch-norm hooks, the untrained baseline, every probe), run right
  after a bare pass; the ratio is the median over ``--rounds`` such pairs;
- both under the allocator settings the ``advisor`` command makes at start
  (``advisor.memory``), unless ``--plain-allocator`` leaves glibc's defaults to both;
- warm: the same again, features and probes from the cache.

Goals (issue 6): cold under 60 s and at most 1.3x bare; warm at least 10x faster than cold.
With ``--compare 224`` it also probes at 224 px to show what the CPU resolution costs.

    python benchmarks/probes.py
    python benchmarks/probes.py --compare 224
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch

from advisor.analyze import analyze
from advisor.backbones import load_backbone
from advisor.demo import ShapesWorld, Style, write_shapes
from advisor.images import open_rgb
from advisor.memory import keep_freed_memory
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


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (DataLoader and scan workers): what
    the work cost, whatever else the machine was doing meanwhile."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def bare_forward(root: Path, resolution: int) -> tuple[float, float]:
    backbone = load_backbone("imagenet", resolution)
    transform = backbone.preprocessing.transform()
    paths = sorted(str(p) for p in root.rglob("*.png"))[:IMAGES]
    batches = torch.stack([transform(open_rgb(p)) for p in paths]).split(64)
    model = backbone.model.eval()
    with torch.inference_mode():
        model(batches[0])  # warm-up
        started, cpu = time.perf_counter(), cpu_seconds()
        for batch in batches:
            model(batch)
    return time.perf_counter() - started, cpu_seconds() - cpu


def probe(root: Path, resolution: int, cache: Path) -> tuple[float, dict]:
    """The probes stage alone (the scan before it is not timed); returns its CPU seconds."""
    os.environ["ADVISOR_CACHE_DIR"] = str(cache)
    cpu = 0.0

    def on_stage(name: str, _n: int, _unit: str) -> None:
        nonlocal cpu
        if name == "reading files":
            return
        if not cpu:
            cpu = cpu_seconds()

    analysis = analyze(
        root, probes=ProbeSettings(resolution=resolution, sample=IMAGES), on_stage=on_stage
    )
    assert analysis.probes is not None
    return cpu_seconds() - cpu, json.loads(analysis.probes.model_dump_json())


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
    parser.add_argument("--rounds", type=int, default=3, help="bare/cold pairs (default 3)")
    parser.add_argument("--compare", type=int, default=None, help="also probe at this size")
    parser.add_argument(
        "--plain-allocator", action="store_true", help="leave glibc's malloc settings alone"
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    root = HERE / "data" / "probes-2000"
    build(root)
    kept = not args.plain_allocator and keep_freed_memory()
    result: dict = {
        "threads": torch.get_num_threads(),
        "resolution": args.resolution,
        "allocator": "advisor's" if kept else "glibc defaults",
    }
    # this machine's speed drifts by tens of percent over minutes: each cold run is paired with
    # a bare pass just before it, and the ratio is the median over the pairs
    pairs = []
    for _ in range(args.rounds):
        bare, bare_cpu = bare_forward(root, args.resolution)
        with tempfile.TemporaryDirectory(prefix="advisor-cache-") as cache:
            cold_cpu, cold_probes = probe(root, args.resolution, Path(cache))
            _, warm_probes = probe(root, args.resolution, Path(cache))
        cold = cold_probes["seconds"]
        pairs.append(
            {
                "bare_s": round(bare, 2),
                "cold_s": cold,
                "ratio": round(cold / bare, 2),
                "bare_cpu_s": round(bare_cpu, 2),
                "cold_cpu_s": round(cold_cpu, 2),
                "cpu_ratio": round(cold_cpu / bare_cpu, 2),
                "warm_s": warm_probes["seconds"],
                "warm_speedup": round(cold / warm_probes["seconds"], 1),
            }
        )

    def median(key: str) -> float:
        return statistics.median(pair[key] for pair in pairs)

    result.update(
        pairs=pairs,
        cold_ratio=median("ratio"),
        cold_cpu_ratio=median("cpu_ratio"),
        cold_probes_s=median("cold_s"),
        warm_speedup=median("warm_speedup"),
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
