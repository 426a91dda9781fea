"""Peers benchmark: ``advisor analyze --no-probes`` beside cleanvision and fastdup, same images.

Builds (or reuses) the scan benchmark's ImageFolder of distinct images with its planted problems
(three unreadable files, five exact duplicates of which one crosses two classes, three near
duplicates resized and re-saved in the other format), adds one split leak (a training image
copied into ``val/``), warms the page cache, then times each tool in a fresh process as a user
runs it, start-up included, median of ``--repeats``:

- advisor: ``python -m advisor analyze DATA --no-probes --json -q``;
- cleanvision: ``Imagelab(data_path=DATA).find_issues()`` with its defaults (which also score
  dark, light, blurry, odd-size ... images: those flags are listed, not counted as findings);
  exact and near duplicates from ``info[...]["sets"]``; it has no notion of unreadable files;
- fastdup: ``fastdup.create(work_dir=..., input_dir=DATA).run()`` with its defaults;
  unreadable files from ``invalid_instances()``, duplicates from ``similarity()``.

A planted problem is found when one reported group of its kind holds all its files; a group
that holds no planted problem of its kind is an extra finding. Labels (conflicting labels) and
splits (split leaks) are advisor's notions only: the peers take a plain folder of images.

fastdup's default thresholds say nothing on these images: every image has its two nearest
neighbours above its similarity threshold (0.9) and its connected components (0.96) merge
nearly all images into one (``fastdup_defaults`` in the output shows it). So fastdup's pairs
are scored at the levels its own run log names: "fully identical" (d > 0.990) as exact
duplicates and "nearly identical" (0.980 < d <= 0.990) as near duplicates.

A peer that fails on the unreadable files is recorded (time to the failure, error text) and run
again, timed, on a copy of the tree without them (hard links; ``ran_on`` says which). The peers
are installed on first use into their own virtual environment, ``benchmarks/data/peers-venv``,
never into the project's. Their runs set ``SENTRY_OPT_OUT=1`` (fastdup's documented opt-out of
its crash and usage reports) and refuse name lookups from Python: attempts are listed under
``network_attempts`` (fastdup asks PyPI for its latest version at import) instead of waiting on
the network. Every run is killed after ``--timeout`` seconds.

    .venv/bin/python benchmarks/peers.py --images 2000 --repeats 1
    .venv/bin/python benchmarks/peers.py --images 20000 --side 256 --format jpg
    .venv/bin/python benchmarks/peers.py --peers fastdup
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from scan import FORMATS, HERE, bare_header_loop, build, run_advisor

if TYPE_CHECKING:
    import pandas as pd

CLASSES = 100
VENV = HERE / "data" / "peers-venv"
REQUIREMENTS = ("cleanvision==0.3.7", "fastdup==2.54")
FULLY_IDENTICAL, NEARLY_IDENTICAL = 0.990, 0.980  # fastdup's levels in its run log
KINDS = ("unreadable", "duplicate", "near_duplicate", "conflicting_labels", "split_leak")

Groups = dict[str, list[list[str]]]
Expected = dict[str, list[set[str]]]


# --- in the peers' environment -------------------------------------------------------------


def _refuse_network(attempts: list[str]) -> None:
    """Fail every name lookup at once and remember what was asked for."""

    def refuse(host: object, port: object, *args: object, **kwargs: object) -> NoReturn:
        attempts.append(f"{host}:{port}")
        raise socket.gaierror(socket.EAI_NONAME, "network refused by benchmarks/peers.py")

    socket.getaddrinfo = refuse  # type: ignore[assignment]


def _relative(paths: list[str], data: Path) -> list[str]:
    return sorted(os.path.relpath(os.path.abspath(p), data) for p in paths)


def cleanvision_findings(data: Path) -> tuple[Groups, dict]:
    from cleanvision import Imagelab

    lab = Imagelab(data_path=str(data))
    lab.find_issues()
    groups = {
        "duplicate": [_relative(s, data) for s in lab.info["exact_duplicates"]["sets"]],
        "near_duplicate": [_relative(s, data) for s in lab.info["near_duplicates"]["sets"]],
    }
    summary = lab.issue_summary.set_index("issue_type")["num_images"]
    flags = {
        kind: int(n)
        for kind, n in summary.items()
        if n and kind not in ("exact_duplicates", "near_duplicates")
    }
    return groups, {"other_flags": flags}


def _pairs_between(
    similar: pd.DataFrame | None, low: float, high: float, data: Path
) -> list[list[str]]:
    """fastdup's similar pairs with low < distance <= high, each pair once."""
    if similar is None or similar.empty:
        return []
    band = similar[(similar["distance"] > low) & (similar["distance"] <= high)]
    ends = zip(band["filename_from"], band["filename_to"], strict=True)
    pairs = {tuple(_relative([a, b], data)) for a, b in ends}
    return [list(p) for p in sorted(pairs)]


def fastdup_findings(data: Path) -> tuple[Groups, dict]:
    import fastdup

    with tempfile.TemporaryDirectory() as work:
        fd = fastdup.create(work_dir=work, input_dir=str(data))
        fd.run()
        invalid = fd.invalid_instances()["filename"].tolist()
        similar = fd.similarity()
        components, _ = fd.connected_components()
    sizes = components.groupby("component_id").size() if len(components) else []
    groups = {
        "unreadable": [[p] for p in _relative(invalid, data)],
        "duplicate": _pairs_between(similar, FULLY_IDENTICAL, 1.0, data),
        "near_duplicate": _pairs_between(similar, NEARLY_IDENTICAL, FULLY_IDENTICAL, data),
    }
    defaults = {
        "similar_pairs": len(_pairs_between(similar, -1.0, 1.0, data)),
        "components": len(sizes),
        "largest_component": int(max(sizes, default=0)),
    }
    return groups, {"fastdup_defaults": defaults}


WORKERS: dict[str, Callable[[Path], tuple[Groups, dict]]] = {
    "cleanvision": cleanvision_findings,
    "fastdup": fastdup_findings,
}


def worker() -> None:
    """Run one peer (in its environment) and write its findings, or its error, to OUT.

    Called as ``python -c 'import peers; peers.worker()' PEER DATA OUT``.
    """
    name, data, out = sys.argv[1:4]
    attempts: list[str] = []
    _refuse_network(attempts)
    result: dict = {}
    try:
        result["groups"], result["notes"] = WORKERS[name](Path(data))
    except Exception as error:  # the peer's failure is a result here
        result["error"] = f"{type(error).__name__}: {error}"
    result["network_attempts"] = sorted(set(attempts))
    Path(out).write_text(json.dumps(result))


# --- in the project's environment -----------------------------------------------------------


def peers_python() -> Path:
    """The peers' own virtual environment's interpreter, created and filled on first use."""
    python = VENV / "bin" / "python"
    marker = VENV / "installed.txt"
    wanted = "\n".join(REQUIREMENTS)
    if not (python.exists() and marker.exists() and marker.read_text() == wanted):
        print(f"installing {', '.join(REQUIREMENTS)} into {VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
            check=True,
            stdout=sys.stderr,
        )
        marker.write_text(wanted)
    return python


def versions(python: Path) -> dict[str, str]:
    """The installed versions of Python, advisor and the peers."""
    asked = [r.split("==")[0] for r in REQUIREMENTS]
    code = "import sys; from importlib.metadata import version as v; print(*map(v, sys.argv[1:]))"
    done = subprocess.run(
        [str(python), "-c", code, *asked], check=True, capture_output=True, text=True
    )
    return {
        "python": platform.python_version(),
        "advisor": version("pretrain-advisor"),
        **dict(zip(asked, done.stdout.split(), strict=True)),
    }


def dataset(images: int, side: int, ext: str) -> tuple[Path, Expected]:
    """The scan benchmark's images and planted problems, plus one training image copied to val/."""
    root = HERE / "data" / f"peers-{images}-{CLASSES}-{side}-{ext}"
    expected = build(root, images, CLASSES, side, ext)
    original, leaked = f"class_005/img_00004.{ext}", f"val/class_005/leaked_img_00004.{ext}"
    (root / leaked).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / original, root / leaked)
    expected["duplicate"].append({original, leaked})
    expected["split_leak"] = [{original, leaked}]
    return root, expected


def readable_copy(root: Path, unreadable: set[str]) -> Path:
    """The tree again, hard-linked, without the unreadable files."""
    copy = root.with_name(root.name + "-readable")
    shutil.rmtree(copy, ignore_errors=True)

    def skipped(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if os.path.relpath(os.path.join(folder, n), root) in unreadable]

    shutil.copytree(root, copy, copy_function=os.link, ignore=skipped)
    return copy


@dataclass
class Run:
    seconds: float
    result: dict
    timed_out: bool = False


def run_peer(python: Path, name: str, data: Path, timeout: float) -> Run:
    """One peer in a fresh process; its findings, or an error, with the wall time."""
    env = {**os.environ, "PYTHONPATH": str(HERE), "SENTRY_OPT_OUT": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [str(python), "-c", "import peers; peers.worker()", name, str(data), str(out)]
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # one process group: a timeout ends the peer's workers too
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Run(timeout, {"error": f"no result after {timeout:.0f} s: killed"}, True)
        seconds = time.perf_counter() - started
        if out.exists():
            return Run(seconds, json.loads(out.read_text()))
        tail = stderr.strip().splitlines()[-3:]
        return Run(seconds, {"error": f"exit status {process.returncode}: {' | '.join(tail)}"})


def score(groups: Groups, expected: Expected) -> dict:
    """Per kind: planted problems found, of how many, and groups holding no planted problem."""
    scored: dict = {}
    for kind, planted in expected.items():
        if kind not in groups:
            scored[kind] = "no such notion"
            continue
        found = [set(g) for g in groups[kind]]
        scored[kind] = {
            "found": sum(any(p <= f for f in found) for p in planted),
            "planted": len(planted),
            "extra": sum(not any(p <= f for p in planted) for f in found),
        }
    return scored


def advisor_groups(report: dict, root: Path) -> Groups:
    groups: Groups = {kind: [] for kind in KINDS}
    for problem in report["profile"]["problems"]:
        if problem["kind"] in groups:
            groups[problem["kind"]].append([os.path.relpath(p, root) for p in problem["paths"]])
    return groups


def measure_advisor(root: Path, expected: Expected, repeats: int) -> dict:
    runs = [run_advisor(root) for _ in range(repeats)]
    report = runs[-1][1]
    return {
        "seconds": round(statistics.median(s for s, _ in runs), 2),
        "runs_s": [round(s, 2) for s, _ in runs],
        "ran_on": "all files",
        "problems": score(advisor_groups(report, root), expected),
    }


def _timed_runs(
    python: Path, name: str, data: Path, first: Run, repeats: int, timeout: float
) -> list[Run]:
    runs = [first]
    while len(runs) < repeats and "error" not in runs[-1].result:
        runs.append(run_peer(python, name, data, timeout))
    return runs


def measure_peer(
    python: Path, name: str, root: Path, expected: Expected, repeats: int, timeout: float
) -> dict:
    """A peer's median time and findings; on a failure, the failure and a run without the
    unreadable files."""
    unreadable = set().union(*expected["unreadable"])
    data, measured = root, {}
    first = run_peer(python, name, root, timeout)
    if "error" in first.result and not first.timed_out:
        measured["failed_on_all_files"] = {
            "seconds": round(first.seconds, 2),
            "error": first.result["error"],
        }
        data = readable_copy(root, unreadable)
        first = run_peer(python, name, data, timeout)
    runs = _timed_runs(python, name, data, first, repeats, timeout)
    result = runs[-1].result
    measured["ran_on"] = (
        "all files" if data == root else f"without the {len(unreadable)} unreadable files"
    )
    if "error" in result:
        return {**measured, "error": result["error"], "seconds": round(runs[-1].seconds, 2)}
    problems = score(result["groups"], expected)
    if data != root:
        noticed = isinstance(problems["unreadable"], dict)
        what = "removed for this run" if noticed else "no such notion: fails on them"
        problems["unreadable"] = f"{what} (see failed_on_all_files)"
    seconds = statistics.median(r.seconds for r in runs)
    return {
        **measured,
        "seconds": round(seconds, 2),
        "runs_s": [round(r.seconds, 2) for r in runs],
        "problems": problems,
        **result["notes"],
        "network_attempts": result["network_attempts"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--side", type=int, default=32, help="image side in pixels")
    parser.add_argument("--format", choices=sorted(FORMATS), default="png")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peers", default=",".join(WORKERS), help="comma-separated")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    unknown = set(peers) - set(WORKERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")

    python = peers_python()
    root, expected = dataset(args.images, args.side, args.format)
    bare_header_loop(root)  # warm the page cache: every tool reads from memory
    result: dict = {
        "images": args.images,
        "side": args.side,
        "format": args.format,
        "cores": len(os.sched_getaffinity(0)),
        "versions": versions(python),
        "planted": {kind: len(groups) for kind, groups in expected.items()},
        "advisor": measure_advisor(root, expected, args.repeats),
    }
    for name in peers:
        measured = measure_peer(python, name, root, expected, args.repeats, args.timeout)
        if "problems" in measured:
            ratio = measured["seconds"] / result["advisor"]["seconds"]
            measured["ratio_to_advisor"] = round(ratio, 2)
        result[name] = measured
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
