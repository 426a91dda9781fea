"""Leave-one-study-out evaluation of the decision engine against trivial baselines.

For each study with comparisons of the self-supervised family against supervised pretraining,
the gain model is refit without that study (and without any rule that only that study backs), and
its rows are predicted. A row is a clear case when the winner is ahead by at least 2 points.
Reported per study and overall: agreement of the predicted winner on clear cases, and the Brier
score of the predicted probability that the self-supervised arm wins.

Baselines on the same cases: always transfer, always the self-supervised family, the base rate of
the training studies, the rules' prior alone (no fit), and every single rule alone (it predicts
its side when it fires and the other side when it does not).

    python benchmarks/decision_quality.py            # markdown tables
    python benchmarks/decision_quality.py --json     # the same figures as JSON
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from advisor.advice.fit import fit_gain_model, gain_rows, row_directions, row_features, usable_rules
from advisor.advice.rules import direction, fires
from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.schema.knowledge import ResultRow

CLEAR = 2.0


@dataclass
class Score:
    """Predicted P(self-supervised arm wins) per clear case, keyed by row id."""

    probabilities: dict[str, float] = field(default_factory=dict)

    def add(self, row: ResultRow, probability: float) -> None:
        self.probabilities[row.id] = probability


def _outcome(row: ResultRow) -> float:
    return 1.0 if row.gap > 0 else 0.0


def summarise(score: Score, rows: list[ResultRow]) -> dict[str, float | int]:
    cases = [row for row in rows if row.id in score.probabilities]
    if not cases:
        return {"cases": 0}
    p = np.array([score.probabilities[row.id] for row in cases])
    y = np.array([_outcome(row) for row in cases])
    return {
        "cases": len(cases),
        "agreement": float(np.mean((p > 0.5) == (y == 1))),
        "brier": float(np.mean((p - y) ** 2)),
    }


def evaluate(kb: KnowledgeBase) -> dict[str, Score]:
    rows = gain_rows(kb)
    studies = sorted({row.study for row in rows})
    scores: dict[str, Score] = defaultdict(Score)
    for study in studies:
        model = fit_gain_model(kb, [study])
        rules = usable_rules(kb, [study])
        training = [r for r in rows if r.study != study and abs(r.gap) >= CLEAR]
        base_rate = float(np.mean([_outcome(r) for r in training]))
        for row in rows:
            if row.study != study or abs(row.gap) < CLEAR:
                continue
            found = row_directions(kb, row, rules)
            mean, _ = model.predict(found)
            scores["engine"].add(row, float(model.probabilities(mean)))
            scores["always tl"].add(row, 0.0)
            scores["always ssl family"].add(row, 1.0)
            scores["base rate of the other studies"].add(row, base_rate)
            vote = model.vote(found)
            scores["rules' vote alone (no fit)"].add(row, 0.5 if vote == 0 else float(vote > 0))
            for rule in rules:
                side = direction(rule, "ssl") or direction(rule, "tl+ssl")
                if side == 0:
                    continue
                says_ssl = (side > 0) == fires(rule, row_features(kb, row))
                scores[f"rule {rule.id} alone"].add(row, float(says_ssl))
    return scores


def strongest_rule(kb: KnowledgeBase) -> str:
    """Chosen before looking at any score: highest strength, then most result rows behind it,
    among the rules that compare a self-supervised arm with transfer."""
    candidates = [
        rule for rule in kb.rules if any(direction(rule, arm) for arm in ("ssl", "tl+ssl"))
    ]
    return max(candidates, key=lambda rule: (rule.strength, len(rule.rows))).id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kb = load_knowledge()
    rows = gain_rows(kb)
    studies = sorted({row.study for row in rows})
    report: dict = {"clear_threshold_points": CLEAR, "strongest_rule": strongest_rule(kb)}
    scores = evaluate(kb)
    report["overall"] = {name: summarise(score, rows) for name, score in scores.items()}
    report["per_study"] = {
        name: {study: summarise(score, [r for r in rows if r.study == study]) for study in studies}
        for name, score in scores.items()
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"clear cases: winner ahead by >= {CLEAR} points; strongest rule chosen a priori: "
        f"{report['strongest_rule']}\n"
    )
    print("| predictor | cases | agreement | Brier |")
    print("|---|---|---|---|")
    ordered = sorted(report["overall"].items(), key=lambda kv: (kv[0] != "engine", kv[0]))
    for name, figures in ordered:
        print(
            f"| {name} | {figures['cases']} | {figures['agreement']:.0%} | {figures['brier']:.3f} |"
        )
    print("\n| study | clear cases | engine agreement | engine Brier | rows (all) |")
    print("|---|---|---|---|---|")
    for study, figures in report["per_study"]["engine"].items():
        total = sum(row.study == study for row in rows)
        if figures["cases"]:
            print(
                f"| {study} | {figures['cases']} | {figures['agreement']:.0%} | "
                f"{figures['brier']:.3f} | {total} |"
            )
        else:
            print(f"| {study} | 0 | – | – | {total} |")


if __name__ == "__main__":
    main()
