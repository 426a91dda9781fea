"""LogME benchmark: advisor.probes.logme against the authors' reference, same data, same process.

    python benchmarks/logme.py --logme-repo ~/src/LogME
    python benchmarks/logme.py --logme-repo ~/src/LogME --samples 2000 --dims 1280 --classes 10

The reference is ``LogME().fit`` of your checkout of github.com/thuml/LogME (its default, the
fixed-point variant), imported from that path. It compiles its SVD helper with numba when numba
is installed; otherwise the decorator is replaced by the identity (see scripts/check_probes.py),
and the JSON says which. Goal (issue 6): ours at least as fast as the reference on N = 10,000,
D = 1,280, C = 100 without numba, with the same value to 1e-3.

Both sides get the same seeded float32 features (as a backbone emits them: ReLU-clipped class
clusters); each is called once to warm up (BLAS threads, numba's compiled code), then timed
``--repeats`` times; the medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from advisor.probes import logme

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from check_probes import Case, load_module, make_case, provide_numba


def median_seconds(function: Callable[[], float], repeats: int) -> tuple[float, float]:
    """Median wall time over ``repeats`` calls after one warm-up call, and the value."""
    value = function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logme-repo", type=Path, required=True, help="checkout of thuml/LogME")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--dims", type=int, default=1_280)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    compiled = provide_numba()
    reference = load_module(args.logme_repo / "LogME.py", "reference_thuml_logme")
    case = Case("benchmark", args.seed, args.samples, args.dims, args.classes, 2, relu=True)
    inputs = make_case(case)
    features = inputs["features"].astype(np.float32)
    labels = inputs["labels"]

    reference_s, reference_value = median_seconds(
        lambda: reference.LogME().fit(features, labels), args.repeats
    )
    ours_s, ours_value = median_seconds(lambda: logme(features, labels), args.repeats)
    result = {
        "samples": args.samples,
        "dims": args.dims,
        "classes": args.classes,
        "repeats": args.repeats,
        "reference": "thuml/LogME LogME().fit (fixed-point variant)",
        "reference_used_numba": compiled,
        "reference_s": round(reference_s, 3),
        "ours_s": round(ours_s, 3),
        "speedup": round(reference_s / ours_s, 2),
        "reference_value": float(reference_value),
        "ours_value": ours_value,
        "relative_difference": abs(ours_value - reference_value) / abs(reference_value),
        "machine": {
            "cores": os.cpu_count(),
            "cpu": cpu_name(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
