"""``import advisor``: how long it takes (issue 32's goal: under 0.3 s), against a bare
interpreter started the same way in the same run, and what the first call of the API then loads.

    python benchmarks/api.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 10


def _seconds(code: str) -> float:
    """Median wall time of a fresh interpreter running ``code``."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    bare = _seconds("pass")
    imported = _seconds("import advisor")
    first = _seconds("import advisor; advisor.decide")
    print(f"bare interpreter:                  {bare:.3f} s")
    print(f"import advisor:                    {imported:.3f} s ({imported - bare:+.3f} s)")
    print(f"import advisor, then the API names: {first:.3f} s ({first - bare:+.3f} s)")


if __name__ == "__main__":
    main()
