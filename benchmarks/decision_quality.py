"""How often the engine names the published winner, on comparisons it was not fitted on.

Cases: the direct comparisons (an in-domain self-supervised arm against supervised ImageNet
transfer on the same target) whose winner is ahead by at least ``CLEAR`` points. Leave one study
out: for each study the model is refitted without it (the sealed studies are never fitted on),
and its clear rows are predicted as a new dataset would be. Reported: agreement of the predicted
winner, Brier score, log loss, and a reliability table (predicted probability against observed
frequency) for the engine and for the baselines on the same cases: always transfer, always the
self-supervised family, the other studies' base rate, the best single rule chosen in advance,
and the previous engine (one fitted scale on the rules' strength-weighted vote). Every model
variant tried is scored the same way.

    python benchmarks/decision_quality.py            # markdown tables, development studies
    python benchmarks/decision_quality.py --json     # the same figures as JSON
    python benchmarks/decision_quality.py --sealed   # the sealed studies, scored once
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import norm
from sklearn.linear_model import BayesianRidge

from advisor.advice.assessment import TOSS_UP
from advisor.advice.fit import (
    PRIOR_SD,
    direct_rows,
    fit_arrays,
    row_arm,
    row_features,
    rule_prior_means,
    silent_terms,
)
from advisor.advice.moderators import moderators
from advisor.advice.rules import direction, fired_rules, fires
from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.schema.knowledge import ResultRow
from advisor.schema.vocabulary import MODEL_TERMS

CLEAR = 2.0
"""Points by which the winner must lead for a case to count (kept from the previous version of
this benchmark, not tuned)."""

BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

EXTRA_PRIOR_SD = 0.75
"""Prior standard deviation of a variant's added indicator, as the shipped indicators'."""

Predictor = Callable[[KnowledgeBase, list[ResultRow], list[ResultRow]], list[float]]
"""(knowledge, training rows, rows to predict) -> P(self-supervised arm wins) per row."""


def _outcome(row: ResultRow) -> float:
    return 1.0 if row.gap > 0 else 0.0


def _design(kb: KnowledgeBase, rows: Sequence[ResultRow], terms: Sequence[str]) -> np.ndarray:
    keep = [MODEL_TERMS.index(t) for t in terms]
    return np.array([moderators(row_features(kb, r), row_arm(r))[keep] for r in rows])


Extra = Callable[[ResultRow], list[float]]
"""Columns a variant adds to the shipped moderators (row-only facts, for trying them)."""


def _with(kb: KnowledgeBase, rows: Sequence[ResultRow], terms: Sequence[str], extra: Extra | None):
    x = _design(kb, rows, terms)
    if extra is None:
        return x
    return np.hstack([x, np.array([extra(r) for r in rows], dtype=float)])


def log_fraction(row: ResultRow) -> list[float]:
    return [math.log10(row.label_fraction) if row.label_fraction else 0.0]


def masked_frozen(row: ResultRow) -> list[float]:
    return [float(row.ssl_family == "masked" and row.protocol != "fine-tune")]


def masked(row: ResultRow) -> list[float]:
    return [float(row.ssl_family == "masked")]


def meta_regression(
    terms: Sequence[str] = MODEL_TERMS,
    random_effect: bool = True,
    rule_prior: bool = False,
    extra: Extra | None = None,
) -> Predictor:
    """The shipped model's form (all terms, random effect, priors centred on 0 or, for a term no
    training row varies, on its rule's direction) or a variant."""

    def predict(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
        x = _with(kb, train, terms, extra)
        y = np.arcsinh([r.gap for r in train])
        added = x.shape[1] - len(terms)
        sd = np.array([PRIOR_SD[t] for t in terms] + [EXTRA_PRIOR_SD] * added)
        m0 = np.zeros(len(sd))
        if tuple(terms) == MODEL_TERMS:  # as the shipped fit: rules speak for silent terms
            shifted = np.ones(len(terms), bool) if rule_prior else silent_terms(x[:, : len(terms)])
            m0[: len(terms)] = rule_prior_means(kb, shifted, sd[: len(terms)])
        mean, cov, tau2, sigma2 = fit_arrays(x, y, [r.study for r in train], m0, sd, random_effect)
        xt = _with(kb, test, terms, extra)
        mu = xt @ mean
        var = np.einsum("ij,jk,ik->i", xt, cov, xt) + tau2 + sigma2
        return norm.cdf(mu / np.sqrt(var)).tolist()

    return predict


def previous_engine(
    kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]
) -> list[float]:
    """The engine before the meta-regression: the fired rules' strength-weighted vote, one
    fitted scale (BayesianRidge, no intercept, one unit of weight per study)."""

    def vote(row: ResultRow) -> float:
        fired = fired_rules(kb.rules, row_features(kb, row))
        return float(sum(rule.strength * direction(rule, row_arm(row)) for rule in fired))

    v = np.array([vote(r) for r in train])
    y = np.arcsinh([r.gap for r in train])
    per_study = Counter(r.study for r in train)
    w = np.array([1.0 / per_study[r.study] for r in train])
    reg = BayesianRidge(fit_intercept=False).fit(v[:, None], y, sample_weight=w * len(w) / w.sum())
    scale = max(float(reg.coef_[0]), 0.0)
    spread = math.sqrt(1.0 / reg.alpha_ + float(reg.sigma_[0, 0]) * float(np.mean(v**2)))
    return [float(norm.cdf(scale * vote(r) / spread)) for r in test]


def constant(p: float) -> Predictor:
    return lambda kb, train, test: [p] * len(test)


def base_rate(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
    clear = [r for r in train if abs(r.gap) >= CLEAR]
    return [float(np.mean([_outcome(r) for r in clear]))] * len(test)


def strongest_rule(kb: KnowledgeBase) -> str:
    """Chosen before looking at any score: highest strength, then most result rows behind it,
    among the rules that compare a self-supervised arm with transfer."""
    candidates = [
        rule for rule in kb.rules if any(direction(rule, arm) for arm in ("ssl", "tl+ssl"))
    ]
    return max(candidates, key=lambda rule: (rule.strength, len(rule.rows))).id


def single_rule(rule_id: str) -> Predictor:
    """The rule's side when it fires, the other side when it does not."""

    def predict(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
        rule = kb.rule(rule_id)
        out = []
        for row in test:
            side = direction(rule, row_arm(row))
            fired = fires(rule, row_features(kb, row))
            out.append(float((side > 0) == fired) if side else 0.5)
        return out

    return predict


def predictors(kb: KnowledgeBase) -> dict[str, Predictor]:
    rule = strongest_rule(kb)
    return {
        "engine (meta-regression)": meta_regression(),
        "always tl": constant(0.0),
        "always ssl family": constant(1.0),
        "base rate of the other studies": base_rate,
        f"best single rule chosen in advance ({rule})": single_rule(rule),
        "previous engine (rule vote, one scale)": previous_engine,
        "variant: no random effect": meta_regression(random_effect=False),
        "variant: priors centred on the rules' directions": meta_regression(rule_prior=True),
        "variant: five moderators (continued, frozen, labels, pool, domain gap)": meta_regression(
            ("intercept", "continued", "frozen", "log_labeled", "log_pool", "domain_gap")
        ),
        "variant: + log label fraction": meta_regression(extra=log_fraction),
        "variant: + masked method under a frozen protocol": meta_regression(extra=masked_frozen),
        "variant: + masked method": meta_regression(extra=masked),
    }


def leave_one_study_out(kb: KnowledgeBase, predictor: Predictor) -> dict[str, float]:
    rows = direct_rows(kb, kb.sealed)
    out: dict[str, float] = {}
    for study in sorted({r.study for r in rows}):
        test = [r for r in rows if r.study == study and abs(r.gap) >= CLEAR]
        if not test:
            continue
        train = [r for r in rows if r.study != study]
        out.update(zip((r.id for r in test), predictor(kb, train, test), strict=True))
    return out


def sealed_scores(kb: KnowledgeBase, predictor: Predictor) -> dict[str, float]:
    train = direct_rows(kb, kb.sealed)
    sealed = set(kb.sealed)
    test = [r for r in direct_rows(kb) if r.study in sealed and abs(r.gap) >= CLEAR]
    return dict(zip((r.id for r in test), predictor(kb, train, test), strict=True))


def summarise(probabilities: dict[str, float], by_id: dict[str, ResultRow]) -> dict:
    if not probabilities:
        return {"cases": 0}
    p = np.array(list(probabilities.values()))
    y = np.array([_outcome(by_id[i]) for i in probabilities])
    clipped = np.clip(p, 1e-3, 1 - 1e-3)
    table = []
    for low, high in itertools.pairwise(BINS):
        inside = (p >= low) & ((p < high) if high < 1 else (p <= high))
        if inside.any():
            table.append(
                {
                    "bin": f"{low:.1f}-{high:.1f}",
                    "cases": int(inside.sum()),
                    "predicted": float(p[inside].mean()),
                    "observed": float(y[inside].mean()),
                }
            )
    right = (p > 0.5) == (y == 1)
    studies = [by_id[i].study for i in probabilities]
    per_study = [float(np.mean(right[[s == study for s in studies]])) for study in set(studies)]
    decisive = np.maximum(p, 1 - p) >= TOSS_UP
    return {
        "cases": len(p),
        "studies": len(set(studies)),
        "agreement": float(np.mean(right)),
        "agreement_studies_equal": float(np.mean(per_study)),
        "decisive_cases": int(decisive.sum()),
        "decisive_agreement": float(np.mean(right[decisive])) if decisive.any() else None,
        "verdict_agreement": float(np.mean((decisive & (p > 0.5)) == (y == 1))),
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "reliability": table,
    }


def _print(report: dict) -> None:
    print(
        f"clear cases: winner ahead by >= {CLEAR} points; {report['scope']}; "
        f"sealed studies: {', '.join(report['sealed']) or 'none'}\n"
    )
    print(
        "| predictor | cases | studies | agreement | studies equal | verdict (toss-up = tl) | "
        "decisive cases | their agreement | Brier | log loss |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, f in report["scores"].items():
        if f["cases"]:
            decisive = "–" if f["decisive_agreement"] is None else f"{f['decisive_agreement']:.1%}"
            print(
                f"| {name} | {f['cases']} | {f['studies']} | {f['agreement']:.1%} | "
                f"{f['agreement_studies_equal']:.1%} | {f['verdict_agreement']:.1%} | "
                f"{f['decisive_cases']} | {decisive} | {f['brier']:.3f} | {f['log_loss']:.3f} |"
            )
    engine = next(iter(report["scores"].values()))
    if engine["cases"]:
        print("\nReliability of the engine\n\n| bin | cases | mean predicted | observed |")
        print("|---|---|---|---|")
        for b in engine["reliability"]:
            print(f"| {b['bin']} | {b['cases']} | {b['predicted']:.2f} | {b['observed']:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--sealed", action="store_true", help="Score the sealed studies (do this once)."
    )
    args = parser.parse_args()
    kb = load_knowledge()
    by_id = {r.id: r for r in kb.results}
    chosen = predictors(kb)
    if args.sealed:
        scope = "sealed studies, fitted on all the others"
        scores = {name: summarise(sealed_scores(kb, p), by_id) for name, p in chosen.items()}
    else:
        scope = "leave one development study out"
        scores = {name: summarise(leave_one_study_out(kb, p), by_id) for name, p in chosen.items()}
    report = {"clear_points": CLEAR, "scope": scope, "sealed": kb.sealed, "scores": scores}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)


if __name__ == "__main__":
    main()
