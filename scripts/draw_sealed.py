"""Draw the sealed test studies of the gain model: a seeded random draw of at least a quarter
of the new studies with direct comparisons (and at least 6), written to
knowledge/sealed_studies.txt with the seed and the date. Run once per round of new evidence,
before the first fit on the new studies; the file is committed before any fit, and the sealed
studies are scored once. A sealed set that has been scored is spent: ``--spent`` replaces it,
and its studies become development studies like the others.

    python scripts/draw_sealed.py --seed 20261206 --spent --previous azizi2021 cole2022 ...
"""

from __future__ import annotations

import argparse
import math
import random
from datetime import date
from pathlib import Path

from advisor.advice.fit import direct_rows
from advisor.knowledge.base import load_knowledge

TARGET = Path(__file__).parents[1] / "knowledge" / "sealed_studies.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument(
        "--previous",
        nargs="*",
        default=[],
        help="Studies with direct comparisons that were in the knowledge base before.",
    )
    parser.add_argument(
        "--spent",
        action="store_true",
        help="The sealed studies named now were scored: replace them with a new draw.",
    )
    args = parser.parse_args()
    kb = load_knowledge()
    if kb.sealed and not args.spent:
        raise SystemExit(f"{TARGET} already names sealed studies; a draw happens once per set")
    candidates = sorted({row.study for row in direct_rows(kb)} - set(args.previous))
    k = max(6, math.ceil(len(candidates) / 4))
    drawn = sorted(random.Random(args.seed).sample(candidates, k))
    spent = (
        f"# The previous set ({', '.join(kb.sealed)}) was scored once and is spent: those\n"
        "# studies are development studies now.\n"
        if kb.sealed
        else ""
    )
    TARGET.write_text(
        "# Sealed test studies of the gain model: never fitted on, scored once\n"
        "# (python benchmarks/decision_quality.py --sealed).\n"
        f"# Drawn {date.today().isoformat()} by scripts/draw_sealed.py --seed {args.seed}: "
        f"{k} of the {len(candidates)} new studies with direct comparisons\n"
        f"# ({', '.join(candidates)}).\n" + spent + "".join(f"{study}\n" for study in drawn),
        encoding="utf-8",
    )
    print("\n".join(drawn))


if __name__ == "__main__":
    main()
