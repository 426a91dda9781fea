"""How often the self-training estimate names the published winner of ``tl+st`` against ``tl``,
on studies it was not fitted on: the decision benchmark of the self-training arm, reported apart
from the self-supervised family's (``decision_quality.py``).

Cases: the ``st-vs-tl`` comparisons (self-training from supervised ImageNet weights with the
unlabeled images, against the same network fine-tuned on the labels alone, image
classification) whose winner leads by at least ``CLEAR`` points. Leave one study out: for each
development study the shipped model (``fit_self_training_model``) is refitted without it (the
sealed studies are never fitted on) and its clear rows are predicted as a new dataset would be.
The same figures as the decision benchmark (agreement, each study weighted once, the verdict
with toss-ups named transfer, Brier score, log loss, reliability), and the share of all rows,
clear or not, inside the estimate's 90% interval. Baselines on the same cases: always transfer,
always self-training, the other studies' base rate, the pooled mean (the model with its
intercept alone), and the self-supervised gain model's estimate for ``tl+ssl`` on the same
setting (what the advice had to go on before self-training had evidence of its own). Every
variant tried is scored the same way.

    python benchmarks/self_training_quality.py            # development studies
    python benchmarks/self_training_quality.py --sealed   # the sealed studies, scored once
    python benchmarks/self_training_quality.py --json
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from decision_quality import CLEAR, HEADER, Predictor, _line, base_rate, constant, summarise
from scipy.stats import norm

from advisor.advice.fit import (
    PRIOR_SD,
    fit_arrays,
    fit_self_training_model,
    row_features,
    self_training_rows,
    study_scale,
)
from advisor.advice.moderators import moderators
from advisor.advice.self_training import st_moderators
from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.knowledge.model import GainModel, load_model
from advisor.schema.knowledge import ResultRow
from advisor.schema.vocabulary import DECISION_LEVEL, SELF_TRAINING_TERMS

ENGINE = "engine (self-training meta-regression)"
Z = float(norm.ppf(0.5 + DECISION_LEVEL / 2))


def _refit(kb: KnowledgeBase, train: list[ResultRow]) -> GainModel:
    """The shipped fit on ``train``'s studies only: every other study is excluded by name."""
    kept = {r.study for r in train}
    others = {r.study for r in self_training_rows(kb)} - kept
    return fit_self_training_model(kb, others)


def engine(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
    model = _refit(kb, train)
    return [model.probability(*model.predict(st_moderators(row_features(kb, r)))) for r in test]


def variant(
    terms: tuple[str, ...], random_effect: bool = True, equal_studies: bool = True
) -> Predictor:
    """The shipped form with a subset of its terms, without the random effect, or with every
    row weighted alike."""
    columns = [SELF_TRAINING_TERMS.index(t) for t in terms]

    def predict(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
        x = np.array([st_moderators(row_features(kb, r))[columns] for r in train])
        y = np.arcsinh([r.gap for r in train])
        groups = [r.study for r in train]
        sd = np.array([PRIOR_SD[t] for t in terms])
        scale = study_scale(groups) if equal_studies else None
        mean, cov, tau2, sigma2 = fit_arrays(
            x, y, groups, np.zeros(len(sd)), sd, random_effect, scale
        )
        out = []
        for r in test:
            v = st_moderators(row_features(kb, r))[columns]
            var = float(v @ cov @ v) + tau2 + sigma2
            out.append(float(norm.cdf(float(v @ mean) / np.sqrt(var))))
        return out

    return predict


def ssl_stand_in(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
    """The shipped self-supervised gain model (fitted on the self-supervised comparisons alone)
    asked about continued pretraining on the same setting."""
    model = load_model()
    return [
        model.probability(*model.predict(moderators(row_features(kb, r), "tl+ssl"))) for r in test
    ]


def predictors() -> dict[str, Predictor]:
    """The engine, the baselines, and every variant tried, in the order they were tried."""
    return {
        ENGINE: engine,
        "always tl": constant(0.0),
        "always tl+st": constant(1.0),
        "base rate of the other studies": base_rate,
        "pooled mean (intercept only)": variant(("intercept",)),
        "self-supervised model's tl+ssl estimate": ssl_stand_in,
        "variant: no random effect": variant(SELF_TRAINING_TERMS, random_effect=False),
        "variant: rows weighted alike": variant(SELF_TRAINING_TERMS, equal_studies=False),
    }


def _clear(rows: list[ResultRow]) -> list[ResultRow]:
    return [r for r in rows if abs(r.gap) >= CLEAR]


def leave_one_study_out(kb: KnowledgeBase, predictor: Predictor) -> dict[str, float]:
    rows = self_training_rows(kb, kb.sealed)
    out: dict[str, float] = {}
    for study in sorted({r.study for r in rows}):
        test = _clear([r for r in rows if r.study == study])
        if test:
            train = [r for r in rows if r.study != study]
            out.update(zip((r.id for r in test), predictor(kb, train, test), strict=True))
    return out


def sealed_scores(kb: KnowledgeBase, predictor: Predictor) -> dict[str, float]:
    train = self_training_rows(kb, kb.sealed)
    test = _clear([r for r in self_training_rows(kb) if r.study in set(kb.sealed)])
    return dict(zip((r.id for r in test), predictor(kb, train, test), strict=True))


def coverage(kb: KnowledgeBase, sealed: bool) -> dict[str, Any]:
    """Share of every held-out row (clear or not) whose gap lies inside the engine's interval."""
    rows = self_training_rows(kb, kb.sealed)
    held = (
        [[r for r in self_training_rows(kb) if r.study in set(kb.sealed)]]
        if sealed
        else [[r for r in rows if r.study == s] for s in sorted({r.study for r in rows})]
    )
    inside = []
    for test in held:
        if not test:
            continue
        train = rows if sealed else [r for r in rows if r.study != test[0].study]
        model = _refit(kb, train)
        for r in test:
            mean, sd = model.predict(st_moderators(row_features(kb, r)))
            low, high = np.sinh(mean - Z * sd), np.sinh(mean + Z * sd)
            inside.append(low <= r.gap <= high)
    return {"rows": len(inside), "inside": float(np.mean(inside)) if inside else None}


def report(kb: KnowledgeBase, sealed: bool) -> dict[str, Any]:
    by_id = {r.id: r for r in kb.results}
    scores = sealed_scores if sealed else leave_one_study_out
    rows = self_training_rows(kb, kb.sealed)
    return {
        "clear_points": CLEAR,
        "scope": "sealed studies, fitted on all the development studies"
        if sealed
        else "leave one development study out",
        "sealed": sorted(set(kb.sealed) & {r.study for r in self_training_rows(kb)}),
        "rows": len(rows),
        "studies": len({r.study for r in rows}),
        "scores": {name: summarise(scores(kb, p), by_id) for name, p in predictors().items()},
        "coverage": coverage(kb, sealed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--sealed", action="store_true", help="Score the sealed studies (do this once)."
    )
    args = parser.parse_args()
    result = report(load_knowledge(), args.sealed)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"tl+st against tl; clear cases: winner ahead by >= {CLEAR} points; {result['scope']}; "
        f"{result['rows']} development rows from {result['studies']} studies; sealed: "
        f"{', '.join(result['sealed']) or 'none'}\n"
    )
    print(HEADER.replace("SSL wins", "tl+st wins"))
    for name, f in result["scores"].items():
        if f["cases"]:
            print(_line(name, f))
    c = result["coverage"]
    if c["inside"] is not None:
        print(
            f"\n{DECISION_LEVEL:.0%} interval of the engine: {c['inside']:.1%} of {c['rows']} "
            "held-out rows inside"
        )


if __name__ == "__main__":
    main()
