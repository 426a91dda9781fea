"""Draw the sealed test studies of the gain model: a seeded random draw of at least a quarter
of the new studies with direct comparisons (and at least 6), written to
knowledge/sealed_studies.txt with the seed and the date. Run once per round of new evidence,
before the first fit on the new studies; the file is committed before any fit, and the sealed
studies are scored once. A sealed set that has been scored is spent: ``--spent`` replaces it,
and its studies become development studies like the others.

    python scripts/draw_sealed.py --seed 20261206 --spent --previous azizi2021 cole2022 ...

The self-training comparisons (``st-vs-tl``) get a sealed set of their own, drawn once the same
way (a quarter of their studies, at least one) and appended to the same file, since the
self-training model leaves out every sealed study too:

    python scripts/draw_sealed.py --seed 20261207 --self-training
"""

from __future__ import annotations

import argparse
import math
import random
from datetime import date
from pathlib import Path

from advisor.advice.fit import direct_rows, self_training_rows
from advisor.knowledge.base import KnowledgeBase, load_knowledge, parse_sealed

TARGET = Path(__file__).parents[1] / "knowledge" / "sealed_studies.txt"
SELF_TRAINING_MARKER = "# Sealed test studies of the self-training model (tl+st against tl)"
"""Where the self-training set begins in the file: a new draw of the gain model's set keeps it."""


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
    parser.add_argument(
        "--self-training",
        action="store_true",
        help="Draw the sealed studies of the self-training model and append them.",
    )
    args = parser.parse_args()
    kb = load_knowledge()
    if args.self_training:
        _draw_self_training(kb, args.seed)
        return
    text = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    _, marker, rest = text.partition(SELF_TRAINING_MARKER)
    kept = marker + rest  # the self-training draw is its own set, kept as it is
    previous = [s for s in kb.sealed if s not in set(parse_sealed(kept))]
    if previous and not args.spent:
        raise SystemExit(f"{TARGET} already names sealed studies; a draw happens once per set")
    candidates = sorted({row.study for row in direct_rows(kb)} - set(args.previous))
    k = max(6, math.ceil(len(candidates) / 4))
    drawn = sorted(random.Random(args.seed).sample(candidates, k))
    spent = (
        f"# The previous set ({', '.join(previous)}) was scored once and is spent: those\n"
        "# studies are development studies now.\n"
        if previous
        else ""
    )
    TARGET.write_text(
        "# Sealed test studies of the gain model: never fitted on, scored once\n"
        "# (python benchmarks/decision_quality.py --sealed).\n"
        f"# Drawn {date.today().isoformat()} by scripts/draw_sealed.py --seed {args.seed}: "
        f"{k} of the {len(candidates)} new studies with direct comparisons\n"
        f"# ({', '.join(candidates)}).\n" + spent + "".join(f"{study}\n" for study in drawn) + kept,
        encoding="utf-8",
    )
    print("\n".join(drawn))


def _draw_self_training(kb: KnowledgeBase, seed: int) -> None:
    studies = sorted({row.study for row in self_training_rows(kb)})
    if set(studies) & set(kb.sealed):
        raise SystemExit(f"{TARGET} already seals self-training studies; a draw happens once")
    k = max(1, math.ceil(len(studies) / 4))
    drawn = sorted(random.Random(seed).sample(studies, k))
    with TARGET.open("a", encoding="utf-8") as out:
        out.write(
            f"{SELF_TRAINING_MARKER}, drawn "
            f"{date.today().isoformat()}\n# by scripts/draw_sealed.py --seed {seed} "
            f"--self-training: {k} of the {len(studies)} studies\n"
            f"# ({', '.join(studies)}).\n" + "".join(f"{study}\n" for study in drawn)
        )
    print("\n".join(drawn))


if __name__ == "__main__":
    main()
