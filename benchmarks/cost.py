"""Cost forecast benchmark (issue 30): back-casts of published runs, the pilot's phases forecast
before it runs, and the one-core reference figures of ``knowledge/devices.yaml``.

- ``--backcast``: every schedule of ``knowledge/schedules.yaml`` with a reported wall time and
  hardware, forecast from its schedule, its architecture and the reference device table alone
  (the precision the source states, else float32, PyTorch's default), against the reported
  time. Goal: at least 6 within a factor of 2; every case is listed, hits and misses. It also
  prints the utilization (the share of benchmark speed whole runs reach) that
  ``knowledge/devices.yaml`` ships, and how well it does fitted without each case, or without
  each case's source.
- ``--pilot``: on real image sets (the digits demo, MNIST, the solar cells; built as
  ``pilot_arms.py`` builds them), ``advisor analyze`` times the network; from that alone the
  seconds of a pilot's fine-tuning and self-supervised steps are forecast; then ``advisor
  pilot`` runs and its own calibration and its units measure them. Goal: within 25%.
- ``--cpu-core``: training and inference images/s of the reference architectures on one core
  of this machine (the ``cpu-core`` figures of the device table).

    python benchmarks/cost.py --backcast
    python benchmarks/cost.py --pilot                 # ~3 minutes a dataset on two cores
    python benchmarks/cost.py --cpu-core
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

from advisor.advice.cost import image_passes, reference_throughput
from advisor.knowledge.costs import load_costs
from advisor.schema.cost import Throughput
from advisor.schema.vocabulary import FULL_SCALE_RESOLUTION

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TEACHER_VIEWS = {"simclr": 0, "byol": 2}
"""Views through a momentum network per image in the pilot's methods (lightly's SimCLR has
none; its BYOL passes both views through the momentum network)."""


def backcast() -> list[dict]:
    """Every schedule with a reported wall time, forecast at the device's benchmark speed (no
    utilization: the form chosen before any case was scored)."""
    costs = load_costs()
    rows = []
    for s in costs.schedules:
        if s.wall_hours is None or s.hardware is None:
            continue
        row = {
            "id": s.id,
            "source": s.source.citation,
            "reported_h": s.wall_hours,
            "hardware": s.hardware,
            "forecast_h": None,
        }
        if s.pool_images is None:
            rows.append({**row, "why": "pool size not reported"})
            continue
        precision = s.hardware.precision or "fp32"
        rate = reference_throughput(costs, s.hardware.device, s.architecture, precision)
        if rate is None:
            rows.append({**row, "why": f"no figure for {s.architecture}"})
            continue
        at_resolution = rate.train[0] * (FULL_SCALE_RESOLUTION / s.resolution) ** 2
        seconds = image_passes(s, s.pool_images) / (at_resolution * s.hardware.count)
        rows.append({**row, "forecast_h": seconds / 3600, "why": ""})
    return rows


def _hit(ratio: float) -> bool:
    return 0.5 <= ratio <= 2


def print_backcast(rows: list[dict], utilization: float) -> None:
    """The table at benchmark speed, the utilization that fits the cases (the median of
    forecast over reported), and how often a utilization fitted without a case puts that case
    within a factor of 2: left out one at a time, and a whole source at a time."""
    scored = [r for r in rows if r["forecast_h"] is not None]
    ratios = [r["forecast_h"] / r["reported_h"] for r in scored]
    print("| schedule | hardware | reported h | forecast h | forecast / reported | within 2x |")
    print("|---|---|---:|---:|---:|:--:|")
    for r in rows:
        hw = r["hardware"]
        where = f"{hw.count}x {hw.device}" + (f" ({hw.precision})" if hw.precision else "")
        if r["forecast_h"] is None:
            print(f"| {r['id']} | {where} | {r['reported_h']:g} | - | {r['why']} | - |")
            continue
        ratio = r["forecast_h"] / r["reported_h"]
        print(
            f"| {r['id']} | {where} | {r['reported_h']:g} | {r['forecast_h']:.3g} | "
            f"{ratio:.2f} | {'yes' if _hit(ratio) else 'no'} |"
        )
    raw = sum(_hit(x) for x in ratios)
    print(
        f"\nat benchmark speed: {raw} of {len(scored)} within a factor of 2 "
        f"({len(rows)} with a wall time)"
    )
    print(
        f"median forecast / reported over all cases: {median(ratios):.3f} "
        f"(shipped utilization: {utilization:.3f})"
    )
    one = sum(_hit(x / median(ratios[:i] + ratios[i + 1 :])) for i, x in enumerate(ratios))
    print(f"utilization fitted without the case: {one} of {len(scored)} within a factor of 2")
    sources = sorted({r["source"] for r in scored})
    by_source = 0
    for source in sources:
        inside = [x for r, x in zip(scored, ratios, strict=True) if r["source"] == source]
        outside = [x for r, x in zip(scored, ratios, strict=True) if r["source"] != source]
        by_source += sum(_hit(x / median(outside)) for x in inside)
    print(
        f"utilization fitted without the case's source ({len(sources)} sources): "
        f"{by_source} of {len(scored)} within a factor of 2"
    )
    shipped = sum(_hit(x / utilization) for x in ratios)
    print(
        f"with the shipped utilization (fitted on these cases: a development figure): "
        f"{shipped} of {len(scored)}"
    )


def _advisor(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "advisor", *args, "--json", "-q"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout)


def forecast_steps(rate: Throughput, resolution: int, batch: int, method: str) -> dict[str, float]:
    """Seconds of one fine-tuning step and one self-supervised step of a pilot, from the
    network's measured training rate alone: a step is its batch's training passes (two views
    for a self-supervised step, and a third of a pass for each view through a momentum
    network)."""
    per_image = 1 / rate.train_rate(resolution)
    views = 2 + TEACHER_VIEWS[method] / 3
    return {"finetune": batch * per_image, "ssl": batch * views * per_image}


def pilot(datasets: list[str], budget: str) -> list[dict]:
    from pilot_arms import dataset

    rows = []
    for name in datasets:
        data = dataset(name)
        analysis = _advisor("analyze", str(data), "--no-cache")
        rate = Throughput.model_validate(analysis["probes"]["throughput"])
        with tempfile.TemporaryDirectory() as tmp:
            result = _advisor(
                "pilot",
                str(data),
                "--budget",
                budget,
                "--seeds",
                "1",
                "--paradigms",
                "tl,tl+ssl",
                "--out",
                str(Path(tmp) / "run"),
                "--no-store",
            )
        plan = result["plan"]
        forecast = forecast_steps(rate, plan["resolution"], plan["batch_size"], plan["method"])
        units = [u["seconds_per_step"] for u in result["units"] if u["seconds_per_step"]]
        rows.append(
            {
                "dataset": name,
                "rate_64": rate.train_rate(plan["resolution"]),
                "forecast_ft": forecast["finetune"],
                "calibrated_ft": plan["seconds_per_finetune_step"],
                "units_ft": sorted(units)[len(units) // 2] if units else None,
                "forecast_ssl": forecast["ssl"],
                "calibrated_ssl": plan["seconds_per_ssl_step"],
            }
        )
    return rows


def print_pilot(rows: list[dict]) -> None:
    """Forecast against the pilot's two measurements: its calibration (steps timed one by one
    before training, which plan the run) and the median step of its fine-tuning runs."""
    print(
        "| dataset | fine-tuning step (s): forecast / calibration / runs | forecast over "
        "calibration, runs | self-supervised step (s): forecast / calibration | forecast over "
        "calibration |"
    )
    print("|---|---|---:|---|---:|")
    for r in rows:
        runs = r["units_ft"] or float("nan")
        print(
            f"| {r['dataset']} | {r['forecast_ft']:.3f} / {r['calibrated_ft']:.3f} / "
            f"{runs:.3f} | {r['forecast_ft'] / r['calibrated_ft']:.2f}, "
            f"{r['forecast_ft'] / runs:.2f} | {r['forecast_ssl']:.3f} / "
            f"{r['calibrated_ssl']:.3f} | {r['forecast_ssl'] / r['calibrated_ssl']:.2f} |"
        )


def cpu_core() -> None:
    import timm
    import torch

    from advisor.probing.throughput import CPU_TIMED_BATCH, rates

    torch.set_num_threads(1)
    for arch in ("resnet50", "tf_efficientnet_lite0", "vit_small_patch16_224"):
        model = timm.create_model(arch, pretrained=False)
        forward, train = rates(model, torch.device("cpu"), FULL_SCALE_RESOLUTION, CPU_TIMED_BATCH)
        print(f"{arch}: train {train:.2f} img/s, inference {forward:.2f} img/s (one thread)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backcast", action="store_true")
    parser.add_argument("--pilot", action="store_true")
    parser.add_argument("--cpu-core", action="store_true")
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "solar-cells"])
    parser.add_argument("--budget", default="2m", help="each pilot's budget (default 2m)")
    args = parser.parse_args()
    if not (args.backcast or args.pilot or args.cpu_core):
        parser.error("choose --backcast, --pilot or --cpu-core")
    if args.backcast:
        print_backcast(backcast(), load_costs().utilization.value)
    if args.pilot:
        print_pilot(pilot(args.datasets, args.budget))
    if args.cpu_core:
        cpu_core()


if __name__ == "__main__":
    main()
