"""Report benchmark: the HTML page of the 100,000-image scan benchmark's analysis, its size, the
time to make it and the time a real browser takes to render it.

Builds (or reuses) the scan benchmark's dataset, analyses it as a user would (``advisor analyze
DATA --no-probes -o analysis.json``), then times, in this run: (a) ``advisor report analysis.json
-o page.html`` in a fresh process, start-up included; (b) headless Chromium opening the page over
file:// until its load event, until the whole page is laid out and a frame painted (rendered),
and until screenshots of the window and of the whole page; and, as a baseline in the same
browser, (c) the same for an empty page. The analysis has the dataset's planted problems only
(a dozen), so the same is done for a worst case: the analysis with its problems replaced by as
many as the page shows (12 of every kind, 4 images each), the images 256 px crops of the
scikit-learn sample photos (the largest thumbnails a real photo gives). Goal (issue 20): the
page under 2 MB and rendered in under 3 s.

    scripts/get-chromium                          # once: the browser (or set ADVISOR_CHROMIUM)
    python benchmarks/report.py                    # 100,000 images in benchmarks/data/
    python benchmarks/report.py --images 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scan import HERE, build

REPO = HERE.parent


def advisor(*args: str | Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "advisor", *map(str, args)], check=True, capture_output=True
    )
    return time.perf_counter() - started


def launcher() -> str:
    given = os.environ.get("ADVISOR_CHROMIUM")
    if given:
        return given
    fetched = subprocess.run(
        [REPO / "scripts" / "get-chromium"], check=True, capture_output=True, text=True
    )
    return fetched.stdout.strip()


FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
"""Resolves once a frame has been painted: the second animation frame after a request comes
after the first one's paint."""


def browser_times(page: Path, executable: str, repeats: int) -> dict[str, float]:
    """Median seconds, in a fresh tab each time, from navigation to: the load event; the whole
    page laid out (its height read) and a frame painted, which is when a reader sees it; a
    screenshot of the window; a screenshot of the whole page (rasterising every section at once,
    which a reader never waits for)."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {"load_s": [], "rendered_s": [], "screen_s": [], "full_s": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        for _ in range(repeats):
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            tab.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            started = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load")
            times["load_s"].append(time.perf_counter() - started)
            tab.evaluate("document.body.scrollHeight")
            tab.evaluate(FRAME)
            times["rendered_s"].append(time.perf_counter() - started)
            tab.screenshot()
            times["screen_s"].append(time.perf_counter() - started)
            tab.screenshot(full_page=True)
            times["full_s"].append(time.perf_counter() - started)
            tab.close()
            if errors:
                raise SystemExit(f"page errors: {errors}")
        browser.close()
    return {name: round(statistics.median(values), 3) for name, values in times.items()}


def worst_case(analysis: Path, folder: Path) -> Path:
    """The analysis with every kind of problem at the page's cap, on real photo crops."""
    from sklearn.datasets import load_sample_images

    from advisor.render.report import MAX_PROBLEMS_PER_KIND, MAX_THUMBS, PATH_ONLY
    from advisor.schema.analysis import Analysis
    from advisor.schema.profile import Problem, ProblemKind

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    folder.mkdir()
    problems = []
    for kind in ProblemKind:
        for p in range(MAX_PROBLEMS_PER_KIND):
            paths = []
            for i in range(1 if kind in PATH_ONLY else MAX_THUMBS):
                photo = photos[rng.integers(len(photos))]
                y, x = rng.integers(0, photo.shape[0] - 256), rng.integers(0, photo.shape[1] - 256)
                path = folder / f"{kind.value}-{p}-{i}.jpg"
                Image.fromarray(photo[y : y + 256, x : x + 256]).save(path, quality=90)
                paths.append(str(path))
            problems.append(Problem(kind=kind, paths=paths, detail=f"a {kind.value} problem"))
    document = Analysis.model_validate_json(analysis.read_text())
    profile = document.profile.model_copy(update={"problems": problems})
    worst = folder.parent / "worst.json"
    worst.write_text(document.model_copy(update={"profile": profile}).model_dump_json())
    return worst


def page_figures(analysis: Path, page: Path, executable: str, repeats: int) -> dict:
    make = [advisor("report", analysis, "-o", page, "-q") for _ in range(repeats)]
    return {
        "problems": len(json.loads(analysis.read_text())["profile"]["problems"]),
        "thumbnails": page.read_text().count("data:image/jpeg"),
        "page_bytes": page.stat().st_size,
        "report_command_s": round(statistics.median(make), 2),
        "browser": browser_times(page, executable, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--side", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = HERE / "data" / f"scan-{args.images}-{args.classes}-{args.side}-png"
    build(root, args.images, args.classes, args.side, "png")
    executable = launcher()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        analysis, page, empty = work / "analysis.json", work / "page.html", work / "empty.html"
        os.chdir(root.parent)  # paths in the document are relative, as a user's would be
        analyze_s = advisor("analyze", root.name, "--no-probes", "-q", "-o", analysis)
        empty.write_text("<!DOCTYPE html><title>empty</title>")
        document = json.loads(analysis.read_text())
        result = {
            "images": document["profile"]["files"]["images"],
            "analysis_json_bytes": analysis.stat().st_size,
            "analyze_s": round(analyze_s, 2),
            "analysis": page_figures(analysis, page, executable, args.repeats),
            "worst_case": page_figures(
                worst_case(analysis, work / "photos"), work / "worst.html", executable, args.repeats
            ),
            "browser_empty_page": browser_times(empty, executable, args.repeats),
        }
    result["goal_met"] = all(
        result[case]["page_bytes"] < 2_000_000 and result[case]["browser"]["rendered_s"] < 3.0
        for case in ("analysis", "worst_case")
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
