"""Pilot benchmarks: training throughput against a bare PyTorch loop, and stability of the
measured winner between a pilot and one with 5x its budget (which also measures how closely
the wall time keeps to the budget).

    python benchmarks/pilot.py throughput              # about 2 minutes
    python benchmarks/pilot.py stability --budget 10m  # 3 datasets x (10m + 50m)
    python benchmarks/pilot.py busy --budget 10m       # quiet, then a competitor for 1/3
    python benchmarks/pilot.py busy --no-quiet         # only the run with the competitor
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from pilot_arms import plan_changes

from advisor.data.shapes import ShapesWorld
from advisor.memory import keep_freed_memory
from advisor.pilot import models, train
from advisor.pilot.budget import parse_budget
from advisor.pilot.interrupt import StopFlag
from advisor.pilot.runner import CPU_BATCH, CPU_RESOLUTION
from advisor.probing.sources import load_backbone
from advisor.schema.vocabulary import DemoName, Style
from advisor.services.demo import make_demo

HERE = Path(__file__).resolve().parent


def throughput(steps: int, rounds: int) -> dict:
    """Images/s of the pilot's fine-tuning steps (its loader, augmentation and Fabric loop)
    against a bare loop over pre-made tensors, same model, batch and resolution, alternating."""
    backbone = load_backbone("auto", CPU_RESOLUTION)
    pre = backbone.preprocessing
    images = 1000
    pixels = torch.randint(0, 256, (images, 3, CPU_RESOLUTION, CPU_RESOLUTION), dtype=torch.uint8)
    labels = np.random.default_rng(0).integers(0, 10, images)
    fabric = train.make_fabric(torch.device("cpu"), 1)
    transform = train.finetune_transform(CPU_RESOLUTION, pre.mean, pre.std)

    def pilot_run() -> float:
        net, dim = models.trunk(backbone, True, 0)
        model = models.classifier(net, dim, 10, 0)
        batches = train.labeled_loader(
            pixels, labels, np.arange(images), transform, CPU_BATCH, 0, 1
        )
        train.finetune(fabric, model, batches, 2, StopFlag())  # warm-up, as bare
        start = time.perf_counter()
        train.finetune(fabric, model, batches, steps, StopFlag())
        return steps * CPU_BATCH / (time.perf_counter() - start)

    def bare_run() -> float:
        net, dim = models.trunk(backbone, True, 0)
        model = models.classifier(net, dim, 10, 0).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        criterion = torch.nn.CrossEntropyLoss()
        x = torch.randn(CPU_BATCH, 3, CPU_RESOLUTION, CPU_RESOLUTION)
        y = torch.randint(0, 10, (CPU_BATCH,))
        for _ in range(2):
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        return steps * CPU_BATCH / (time.perf_counter() - start)

    bare, pilot = [], []
    for _ in range(rounds):
        bare.append(bare_run())
        pilot.append(pilot_run())
    return {
        "resolution": CPU_RESOLUTION,
        "batch": CPU_BATCH,
        "steps_per_run": steps,
        "bare_images_per_s": [round(v, 1) for v in bare],
        "pilot_images_per_s": [round(v, 1) for v in pilot],
        "ratio_of_medians": round(statistics.median(pilot) / statistics.median(bare), 3),
    }


def datasets(root: Path) -> dict[str, Path]:
    made = {"digits": root / "digits", "shapes-near": root / "near", "shapes-far": root / "far"}
    if not made["digits"].is_dir():
        make_demo(made["digits"], DemoName.digits, 0, False, True, ShapesWorld(), None)
    if not made["shapes-near"].is_dir():
        world = ShapesWorld(images=2000, classes=6, size=64, style=Style.photo)
        make_demo(made["shapes-near"], DemoName.shapes, 0, False, False, world, None)
    if not made["shapes-far"].is_dir():
        world = ShapesWorld(images=2000, classes=6, size=64, style=Style.flat)
        make_demo(made["shapes-far"], DemoName.shapes, 0, False, False, world, None)
    return made


def pilot(data: Path, budget: str, out: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "pilot",
            str(data),
            "--budget",
            budget,
            "--out",
            str(out),
            "--json",
            "-q",
            "--no-store",
        ],
        capture_output=True,
        text=True,
        cwd=out.parent,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-300:], "wall_s": round(wall, 1)}
    result = json.loads(proc.stdout)
    ssl = [d for d in result["differences"] if d["arm"] in ("ssl", "tl+ssl")]
    best_ssl = max(ssl, key=lambda d: d["accuracy_points"]) if ssl else None
    return {
        "wall_s": round(wall, 1),
        "winner": result["winner"],
        "measured_best": result["measured_best"],
        "confidence": result["confidence"],
        "best_ssl_arm": best_ssl,
        "finetune_steps": [x["finetune_steps"] for x in result["plan"]["steps"]],
        "ssl_steps": [x["ssl_steps"] for x in result["plan"]["steps"]],
        "ssl_still_improving": result["ssl_still_improving"],
        "accuracy": {a["arm"]: a["accuracy"] for a in result["arms"]},
        "seeds": result["plan"]["seeds"],
        "result_seconds": result["seconds"],
        "calibrated_seconds_per_step": [
            result["plan"]["seconds_per_finetune_step"],
            result["plan"]["seconds_per_ssl_step"],
        ],
        "replanned": plan_changes(result),
    }


def seconds(budget: str) -> float:
    return parse_budget(budget).seconds


def stability(budget: str, factor: int, cases: list[str] | None = None) -> dict:
    long_budget = f"{int(seconds(budget) * factor)}s"
    report = {"budget": budget, "long_budget": long_budget, "cases": {}}
    root = HERE / "data" / "pilot"
    root.mkdir(parents=True, exist_ok=True)
    for name, data in datasets(root).items():
        if cases and name not in cases:
            continue
        case = {}
        for label, b in (("default", budget), ("long", long_budget)):
            with tempfile.TemporaryDirectory() as tmp:
                case[label] = pilot(data, b, Path(tmp) / "out")
                case[label]["budget_s"] = seconds(b)
                print(name, label, json.dumps(case[label]), file=sys.stderr, flush=True)
        long_winner = case["long"].get("winner")
        case["long_clear"] = long_winner is not None
        case["agree"] = case["default"].get("measured_best") == case["long"].get("measured_best")
        report["cases"][name] = case
    return report


def _burn(stop_at: float) -> None:
    """A CPU-bound competitor: busy arithmetic until ``stop_at`` (time.time)."""
    x = 0
    while time.time() < stop_at:
        x = (x * 1_103_515_245 + 12_345) % 2_147_483_648


def busy(budget: str, dataset: str, quiet: bool = True) -> dict:
    """The pilot on one dataset while another process takes a core for the first third of its
    budget, against the same pilot on a quiet machine (unless ``quiet`` is off): how close each
    ends to its budget."""
    import multiprocessing

    root = HERE / "data" / "pilot"
    root.mkdir(parents=True, exist_ok=True)
    data = datasets(root)[dataset]
    report = {"budget": budget, "dataset": dataset}
    for label in ("quiet", "busy") if quiet else ("busy",):
        competitor = None
        if label == "busy":
            stop_at = time.time() + seconds(budget) / 3
            competitor = multiprocessing.Process(target=_burn, args=(stop_at,))
            competitor.start()
        with tempfile.TemporaryDirectory() as tmp:
            case = pilot(data, budget, Path(tmp) / "out")
        if competitor is not None:
            competitor.join()
        case["budget_s"] = seconds(budget)
        case["ratio_to_budget"] = round(case["wall_s"] / seconds(budget), 3)
        report[label] = case
        print(label, json.dumps(case), file=sys.stderr, flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--steps", type=int, default=30)
    t.add_argument("--rounds", type=int, default=3)
    s = sub.add_parser("stability")
    s.add_argument("--budget", default="10m")
    s.add_argument("--factor", type=int, default=5)
    s.add_argument("--cases", nargs="*", help="digits, shapes-near, shapes-far (default: all)")
    b = sub.add_parser("busy", help="a CPU-bound competitor for the first third of the budget")
    b.add_argument("--budget", default="10m")
    b.add_argument("--dataset", default="digits")
    b.add_argument("--no-quiet", action="store_true", help="skip the quiet reference run")
    args = parser.parse_args()
    if args.what == "throughput":
        keep_freed_memory()  # as the advisor command does, for both loops
        print(json.dumps(throughput(args.steps, args.rounds), indent=2))
    elif args.what == "busy":
        print(json.dumps(busy(args.budget, args.dataset, not args.no_quiet), indent=2))
    else:
        print(json.dumps(stability(args.budget, args.factor, args.cases), indent=2))


if __name__ == "__main__":
    main()
