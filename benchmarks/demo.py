"""Demo benchmark: writing the 2,000-image shapes demo against a bare loop writing as many PNGs.

The demo draws each shape at 4x and averages it down, adds noise, and writes through a staging
folder; the baseline writes 2,000 ready-made 32x32 RGB arrays as PNGs with Pillow at the same
compression, into a fresh folder. Both run in this process, alternately, and the figure is the
ratio of the medians. (This replaced a test that asserted under 5 s of wall time, which says
more about the machine the suite happens to run on than about the code.)

    python benchmarks/demo.py --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from advisor.data.shapes import ShapesWorld
from advisor.schema.vocabulary import DemoName
from advisor.services.demo import make_demo

IMAGES = 2000
SIDE = 32


def bare(out: Path) -> float:
    pixels = np.random.default_rng(0).integers(0, 256, (IMAGES, SIDE, SIDE, 3), dtype=np.uint8)
    start = time.perf_counter()
    out.mkdir()
    for i, array in enumerate(pixels):
        Image.fromarray(array).save(out / f"{i:05d}.png", format="PNG", compress_level=1)
    return time.perf_counter() - start


def demo(out: Path) -> float:
    start = time.perf_counter()
    make_demo(out, DemoName.shapes, world=ShapesWorld(images=IMAGES, size=SIDE))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"bare": [], "demo": []}
    with tempfile.TemporaryDirectory(prefix="advisor-demo-bench-") as tmp:
        for k in range(args.repeats):
            times["bare"].append(bare(Path(tmp) / f"bare-{k}"))
            times["demo"].append(demo(Path(tmp) / f"demo-{k}"))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        json.dumps(
            {
                "images": IMAGES,
                "side": SIDE,
                "seconds": {name: [round(v, 3) for v in values] for name, values in times.items()},
                "ratio_of_medians": round(medians["demo"] / medians["bare"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
