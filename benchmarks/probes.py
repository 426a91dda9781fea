"""Probes benchmark: the probes stage on 2,000 labeled images against a bare forward pass.

Builds (or reuses) 2,000 labeled images of the shapes world (photo style, 8 classes, 96 px),
then times, each in a fresh process of its own, as ``advisor analyze`` runs:

- bare: the same 2,000 images, decoded and preprocessed beforehand, through the same model at
  the same resolution, batch 64, nothing else, in PyTorch's default memory layout; the goal's
  reference. The same again in the channels-last layout the probes use on a CPU, to show what
  the probes add on top of their own forward pass;
- cold: ``analyze``'s probes stage with an empty feature cache (loading the network, decoding,
  the pretrained pass with batch-norm hooks, the untrained baseline, every probe), right after
  the two bare passes; the ratios are medians over ``--rounds`` such rounds;
- warm: the same again in another process, features and probes from the cache;
- every pass under the allocator settings the ``advisor`` command makes at start
  (``advisor.memory``), unless ``--plain-allocator`` leaves glibc's defaults to all of them.

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from advisor.data.images import open_rgb
from advisor.data.shapes import ShapesWorld, write_shapes
from advisor.memory import keep_freed_memory
from advisor.probing.settings import ProbeSettings
from advisor.probing.sources import load_backbone
from advisor.probing.stage import CPU_RESOLUTION
from advisor.progress import Silent
from advisor.schema.vocabulary import Style
from advisor.services.analyze import AnalyzeSettings, analyze

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "probes-2000"
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


def bare_forward(
    root: Path, resolution: int, layout: torch.memory_format = torch.contiguous_format
) -> tuple[float, float]:
    backbone = load_backbone("imagenet", resolution)
    transform = backbone.preprocessing.transform()
    paths = sorted(str(p) for p in root.rglob("*.png"))[:IMAGES]
    images = torch.stack([transform(open_rgb(p)) for p in paths])
    batches = images.contiguous(memory_format=layout).split(64)
    model = backbone.model.to(memory_format=layout).eval()
    del images  # in channels-last the batches are views of a copy: free the original
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

    class FirstProbeStage(Silent):
        def stage(self, description: str, total: int, unit: str) -> None:
            nonlocal cpu
            if description != "reading files" and not cpu:
                cpu = cpu_seconds()

    settings = AnalyzeSettings(root, probes=ProbeSettings(resolution=resolution, sample=IMAGES))
    analysis = analyze(settings, FirstProbeStage())
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


def timed_pass(kind: str, resolution: int, allocator: bool, cache: Path) -> dict:
    """One timed pass in a fresh process, as ``advisor analyze`` runs: whatever an earlier pass
    left in this process's heap slowed later ones unevenly (a bare pass at 224 px after a cold
    run took 42-47 s instead of 30 s, with 40% more CPU time)."""
    command = [sys.executable, __file__, "--pass", kind, "--cache", str(cache)]
    command += ["--resolution", str(resolution)]
    if not allocator:
        command.append("--plain-allocator")
    # stdout only: a failing pass's traceback still reaches the terminal
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def one_pass(kind: str, resolution: int, cache: Path) -> dict:
    if kind in ("bare", "bare-channels-last"):
        layout = torch.channels_last if kind == "bare-channels-last" else torch.contiguous_format
        wall, cpu = bare_forward(DATA, resolution, layout)
        return {"seconds": wall, "cpu_seconds": cpu}
    cpu, probes = probe(DATA, resolution, cache)
    return {"seconds": probes["seconds"], "cpu_seconds": cpu, "probes": probes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--resolution", type=int, default=CPU_RESOLUTION, help="probe size (default: the CPU's)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of passes (default 3)")
    parser.add_argument("--compare", type=int, default=None, help="also probe at this size")
    parser.add_argument(
        "--plain-allocator", action="store_true", help="leave glibc's malloc settings alone"
    )
    # one timed pass, for the fresh processes the benchmark starts
    parser.add_argument(
        "--pass",
        dest="one",
        choices=("bare", "bare-channels-last", "probes"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.one == "probes" and args.cache is None:
        parser.error("--pass probes needs --cache")
    kept = not args.plain_allocator and keep_freed_memory()
    if args.one:
        print(json.dumps(one_pass(args.one, args.resolution, args.cache)))
        return
    build(DATA)
    result: dict = {
        "threads": torch.get_num_threads(),
        "resolution": args.resolution,
        "allocator": "advisor's" if kept else "glibc defaults",
    }
    # this machine's speed drifts by tens of percent over minutes: each cold run is paired with
    # bare passes just before it, and the ratio is the median over the pairs
    pairs = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="advisor-cache-") as folder:
            cache = Path(folder)
            bare = timed_pass("bare", args.resolution, kept, cache)
            bare_cl = timed_pass("bare-channels-last", args.resolution, kept, cache)
            cold = timed_pass("probes", args.resolution, kept, cache)
            warm = timed_pass("probes", args.resolution, kept, cache)
        pairs.append(
            {
                "bare_s": round(bare["seconds"], 2),
                "cold_s": cold["seconds"],
                "ratio": round(cold["seconds"] / bare["seconds"], 2),
                "bare_channels_last_s": round(bare_cl["seconds"], 2),
                "ratio_same_layout": round(cold["seconds"] / bare_cl["seconds"], 2),
                "bare_cpu_s": round(bare["cpu_seconds"], 2),
                "cold_cpu_s": round(cold["cpu_seconds"], 2),
                "cpu_ratio": round(cold["cpu_seconds"] / bare["cpu_seconds"], 2),
                "warm_s": warm["seconds"],
                "warm_speedup": round(cold["seconds"] / warm["seconds"], 1),
                "warm_cache": warm["probes"]["cache"],
            }
        )

    def median(key: str) -> float:
        return statistics.median(pair[key] for pair in pairs)

    result.update(
        pairs=pairs,
        cold_ratio=median("ratio"),
        cold_ratio_same_layout=median("ratio_same_layout"),
        cold_cpu_ratio=median("cpu_ratio"),
        cold_probes_s=median("cold_s"),
        warm_speedup=median("warm_speedup"),
        values=summary(cold["probes"]),
    )
    if args.compare:
        with tempfile.TemporaryDirectory(prefix="advisor-cache-") as folder:
            other = timed_pass("probes", args.compare, kept, Path(folder))
        result[f"values_at_{args.compare}"] = summary(other["probes"])
        result[f"probes_at_{args.compare}_s"] = other["seconds"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
