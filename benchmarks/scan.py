"""Scan benchmark: the profile of 100,000 small PNGs against bare Pillow loops.

Builds (or reuses) an ImageFolder of small PNGs over long-tailed classes with planted problems,
then times, in the same run and on a warm page cache, (a) a single-process loop that lists the
tree and opens each file's header with Pillow, (b) a loop that decodes every file with Pillow on
all cores (a process pool, nothing else done: the physical limit of a full check), (c) ``advisor
analyze DATA --no-probes --json`` as a user runs it (a fresh process, start-up included), which
decodes every image, and (d) the same with ``--quick`` (headers and format checksums only).
Goals: issue 5, (d) <= 2x (a) and under 30 s; issue 19, (c) <= 1.5x (b) on 20,000 JPEGs of
256 px and <= 3x (b) on the 100,000 small PNGs; every planted problem found.

    python benchmarks/scan.py                      # 100,000 images in benchmarks/data/
    python benchmarks/scan.py --images 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent


def class_sizes(images: int, classes: int, ratio: float) -> list[int]:
    """Long-tailed (geometric) class sizes from head to tail with head/tail = ratio."""
    weights = ratio ** (-np.arange(classes) / (classes - 1))
    sizes = np.maximum(1, np.floor(images * weights / weights.sum())).astype(int)
    sizes[0] += images - sizes.sum()
    return sizes.tolist()


FORMATS = {"png": ("PNG", {"compress_level": 1}), "jpg": ("JPEG", {"quality": 90})}


def _write_class(args: tuple[Path, int, int, int, str]) -> None:
    root, c, count, side, ext = args
    fmt, params = FORMATS[ext]
    rng = np.random.default_rng(1000 + c)
    folder = root / f"class_{c:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        # random 8x8 colour field, smoothly upscaled: structure enough for distinct hashes
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((side, side), Image.Resampling.BILINEAR)
        img.save(folder / f"img_{i:05d}.{ext}", format=fmt, **params)


def plant(root: Path, ext: str) -> dict[str, list[set[str]]]:
    """Plant problems; return, per kind, the sets of paths (relative to root) a report must show."""
    expected: dict[str, list[set[str]]] = {
        "unreadable": [],
        "duplicate": [],
        "near_duplicate": [],
        "conflicting_labels": [],
    }
    source = root / "class_000" / f"img_00000.{ext}"
    data = source.read_bytes()
    for name, content in [
        (f"class_001/truncated.{ext}", data[: len(data) // 2]),
        (f"class_002/empty.{ext}", b""),
        (f"class_003/not_really.{ext}", b"this is a text file, not an image\n"),
    ]:
        (root / name).write_bytes(content)
        expected["unreadable"].append({name})
    for c in range(4):
        original = f"class_{c:03d}/img_00001.{ext}"
        copy = f"class_{c:03d}/copy_of_img_00001.{ext}"
        shutil.copyfile(root / original, root / copy)
        expected["duplicate"].append({original, copy})
    original, relabeled = f"class_010/img_00002.{ext}", f"class_011/relabeled_img_00002.{ext}"
    shutil.copyfile(root / original, root / relabeled)
    expected["duplicate"].append({original, relabeled})
    expected["conflicting_labels"].append({original, relabeled})
    for c in range(20, 23):
        original = f"class_{c:03d}/img_00003.{ext}"
        other = "png" if ext == "jpg" else "jpg"  # re-saved in the other format, resized
        near = f"class_{c:03d}/resaved_img_00003.{other}"
        with Image.open(root / original) as img:
            bigger = img.resize((img.width + 8, img.height + 8), Image.Resampling.BILINEAR)
            fmt, params = FORMATS[other]
            bigger.save(root / near, format=fmt, **params)
        expected["near_duplicate"].append({original, near})
    return expected


def build(root: Path, images: int, classes: int, side: int, ext: str) -> dict[str, list[set[str]]]:
    marker = root / ".benchmark.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        if (meta["images"], meta["classes"], meta["side"], meta.get("ext")) == (
            images,
            classes,
            side,
            ext,
        ):
            print(f"reusing {root}", file=sys.stderr)
            return {k: [set(g) for g in v] for k, v in meta["expected"].items()}
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    sizes = class_sizes(images, classes, 100.0)
    jobs = [(root, c, n, side, ext) for c, n in enumerate(sizes)]
    with multiprocessing.Pool() as pool:
        pool.map(_write_class, jobs, chunksize=1)
    expected = plant(root, ext)
    meta = {
        "images": images,
        "classes": classes,
        "side": side,
        "ext": ext,
        "expected": {k: [sorted(g) for g in v] for k, v in expected.items()},
    }
    marker.write_text(json.dumps(meta))  # hidden: the scan counts it as a hidden file
    print(f"built {root} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return expected


def bare_header_loop(root: Path) -> int:
    """The baseline: list the tree and read each file's header with Pillow, nothing else."""
    opened = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                with Image.open(os.path.join(folder, name)) as img:
                    img.size  # noqa: B018 - the header read is the point
                opened += 1
            except Exception:
                pass
    return opened


DECODE_GOALS = {"jpg": 1.5, "png": 3.0}
"""Issue 19: the full profile at most this many times the bare decode loop (20,000 JPEGs of
256 px; 100,000 small PNGs)."""


def _decode(paths: list[str]) -> int:
    decoded = 0
    for path in paths:
        try:
            with Image.open(path) as img:
                img.load()
            decoded += 1
        except Exception:
            pass
    return decoded


def bare_decode_loop(root: Path) -> int:
    """The physical limit of a full check: list the tree, then decode every file with Pillow in
    a process pool over all cores, in chunks (as the profile's workers do), nothing else."""
    paths = [os.path.join(f, n) for f, _dirs, files in os.walk(root) for n in files]
    chunks = [paths[i : i + 512] for i in range(0, len(paths), 512)]
    with multiprocessing.Pool() as pool:
        return sum(pool.imap_unordered(_decode, chunks))


def run_advisor(root: Path, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "analyze",
            str(root),
            "--no-probes",
            "--json",
            "-q",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def check(report: dict, root: Path, expected: dict[str, list[set[str]]]) -> list[str]:
    """Planted problems that the report misses, and problems it reports that were not planted."""
    found: dict[str, list[set[str]]] = {}
    for problem in report["profile"]["problems"]:
        paths = {os.path.relpath(p, root) for p in problem["paths"]}
        found.setdefault(problem["kind"], []).append(paths)
    issues = []
    for kind, groups in expected.items():
        for group in groups:
            if not any(group <= f for f in found.get(kind, [])):
                issues.append(f"missed {kind}: {sorted(group)}")
    for kind, groups in found.items():
        for group in groups:
            if not any(e <= group for e in expected.get(kind, [])):
                issues.append(f"unexpected {kind}: {sorted(group)[:3]}")
    return issues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--side", type=int, default=32, help="image side in pixels")
    parser.add_argument("--format", choices=sorted(FORMATS), default="png")
    parser.add_argument("--data", type=Path, default=None, help="where to build the dataset")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    name = f"scan-{args.images}-{args.classes}-{args.side}-{args.format}"
    root = args.data or HERE / "data" / name
    expected = build(root, args.images, args.classes, args.side, args.format)

    bare_header_loop(root)  # warm the page cache so every side reads from memory
    times: dict[str, list[float]] = {"bare": [], "decode": [], "full": [], "quick": []}
    reports: dict[str, dict] = {}
    for _ in range(args.repeats):
        started = time.perf_counter()
        bare_header_loop(root)
        times["bare"].append(time.perf_counter() - started)
        started = time.perf_counter()
        bare_decode_loop(root)
        times["decode"].append(time.perf_counter() - started)
        for mode, extra in (("full", ()), ("quick", ("--quick",))):
            elapsed, reports[mode] = run_advisor(root, *extra)
            times[mode].append(elapsed)
    bare = statistics.median(times["bare"])
    decode = statistics.median(times["decode"])
    result: dict = {
        "files": reports["full"]["profile"]["files"],
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "bare_header_loop_s": round(bare, 2),
        "bare_decode_loop_s": round(decode, 2),
    }
    expected_quick = {k: v for k, v in expected.items() if k != "near_duplicate"}
    for mode, wanted in (("full", expected), ("quick", expected_quick)):
        elapsed = statistics.median(times[mode])
        issues = check(reports[mode], root, wanted)
        result[mode] = {
            "advisor_analyze_s": round(elapsed, 2),
            "ratio_to_bare": round(elapsed / bare, 2),
            "ratio_to_decode": round(elapsed / decode, 2),
            "runs_s": [round(x, 2) for x in times[mode]],
            "planted_problems_found": not any(i.startswith("missed") for i in issues),
            "issues": issues,
            "goal_met": elapsed <= 2 * bare and elapsed < 30 and not issues,
            "decode_goal_met": elapsed <= DECODE_GOALS[args.format] * decode and not issues,
        }
    result["bare_runs_s"] = [round(x, 2) for x in times["bare"]]
    result["decode_runs_s"] = [round(x, 2) for x in times["decode"]]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
