"""How often the engine names the published winner, on comparisons it was not fitted on.

Cases: the direct comparisons (a self-supervised arm, on any pool, against supervised ImageNet
transfer on the same classification target) whose winner is ahead by at least ``CLEAR`` points.
Leave one study out: for each development study the model is refitted without it (the sealed
studies are never fitted on) and its clear rows are predicted as a new dataset would be.
Reported: agreement of the predicted winner (also with each study weighted once), Brier score,
log loss and a reliability table, overall and per domain group and protocol, for the engine and
for the baselines on the same cases: always transfer, always the self-supervised family, the
other studies' base rate, the best single rule chosen in advance, the rules' vote with one
fitted scale, and the previous engine (the meta-regression as it was before issue 27, refitted
on the same rows). Every model variant tried is scored the same way.

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
from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.linear_model import BayesianRidge

from advisor.advice import moderators as moderators_module
from advisor.advice.assessment import TOSS_UP
from advisor.advice.fit import (
    PRIOR_SD,
    direct_rows,
    fit_arrays,
    row_arm,
    row_features,
    rule_prior_means,
    silent_terms,
    study_scale,
)
from advisor.advice.moderators import moderators
from advisor.advice.rules import direction, fired_rules, fires
from advisor.knowledge.base import KnowledgeBase, load_knowledge
from advisor.schema.knowledge import ResultRow
from advisor.schema.vocabulary import FROZEN_PROTOCOLS, MODEL_TERMS, PoolRelation, Protocol

CLEAR = 2.0
"""Points by which the winner must lead for a case to count (kept from the first version of
this benchmark, not tuned)."""

BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

EXTRA_PRIOR_SD = 0.75
"""Prior standard deviation of a variant's added column, as the shipped indicators'."""

DOMAIN_GROUPS = {
    "natural photos": ("natural", "fine-grained-natural", "scene"),
    "pathology": ("medical-pathology",),
    "other medical": ("medical-xray", "medical-ct-mri", "medical-other"),
    "remote sensing": ("remote-sensing",),
    "synthetic": ("synthetic",),
    "everything else": (),
}
"""The per-domain tables: an average over pathology rows hides what happens to photographs."""

Predictor = Callable[[KnowledgeBase, list[ResultRow], list[ResultRow]], list[float]]
"""(knowledge, training rows, rows to predict) -> P(self-supervised arm wins) per row."""

Extra = Callable[[ResultRow, dict[str, float]], list[float]]
"""Columns a variant adds to the shipped moderators, from the row and its moderators by name."""


def _outcome(row: ResultRow) -> float:
    return 1.0 if row.gap > 0 else 0.0


def interaction(a: str, b: str) -> Extra:
    return lambda row, vector: [vector[a] * vector[b]]


def masked(row: ResultRow, vector: dict[str, float]) -> list[float]:
    return [float(row.ssl_family == "masked")]


def log_fraction(row: ResultRow, vector: dict[str, float]) -> list[float]:
    return [math.log10(row.label_fraction) if row.label_fraction else 0.0]


def _moderators(kb: KnowledgeBase, rows: Sequence[ResultRow]) -> np.ndarray:
    """Every shipped moderator of every row, computed once and shared by all the columns."""
    return np.array([moderators(row_features(kb, r), row_arm(r)) for r in rows])


def _design(
    full: np.ndarray, rows: Sequence[ResultRow], terms: Sequence[str], extra: Extra | None
) -> np.ndarray:
    x = full[:, [MODEL_TERMS.index(t) for t in terms]]
    if extra is None:
        return x
    added = [
        extra(r, dict(zip(MODEL_TERMS, v, strict=True))) for r, v in zip(rows, full, strict=True)
    ]
    return np.hstack([x, np.array(added, dtype=float)])


def _predict(x, mean, cov, tau2, sigma2) -> list[float]:
    mu = x @ mean
    var = np.einsum("ij,jk,ik->i", x, cov, x) + tau2 + sigma2
    return norm.cdf(mu / np.sqrt(var)).tolist()


def meta_regression(
    terms: Sequence[str] = MODEL_TERMS,
    random_effect: bool = True,
    extra: Extra | None = None,
    equal_studies: bool = False,
) -> Predictor:
    """The shipped model's form (all terms, a random intercept per study, priors centred on 0
    or, for a term no training row varies, on its rule's direction) or a variant of it: a
    subset of the terms, added columns, no random effect, or each study weighted once."""

    def predict(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
        full = _moderators(kb, train)
        x = _design(full, train, terms, extra)
        y = np.arcsinh([r.gap for r in train])
        groups = [r.study for r in train]
        added = x.shape[1] - len(terms)
        sd = np.array([PRIOR_SD[t] for t in terms] + [EXTRA_PRIOR_SD] * added)
        m0 = np.zeros(len(sd))
        rules = rule_prior_means(
            kb, silent_terms(full), np.array([PRIOR_SD[t] for t in MODEL_TERMS])
        )
        m0[: len(terms)] = [rules[MODEL_TERMS.index(t)] for t in terms]
        scale = study_scale(groups) if equal_studies else None
        fit = fit_arrays(x, y, groups, m0, sd, random_effect, scale)
        return _predict(_design(_moderators(kb, test), test, terms, extra), *fit)

    return predict


def labels_read(predictor: Predictor, span: tuple[float, float]) -> Predictor:
    """The same model with the label term read over another span of decades than the shipped
    ``LABELED_SPAN``."""

    def predict(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
        shipped = moderators_module.LABELED_SPAN
        moderators_module.LABELED_SPAN = span
        try:
            return predictor(kb, train, test)
        finally:
            moderators_module.LABELED_SPAN = shipped

    return predict


PREVIOUS_TERMS = (
    "intercept",
    "continued",
    "frozen",
    "log_labeled",
    "log_pool",
    "pool_same",
    "pool_related",
    "pool_other",
    "domain_gap",
    "fine_grained",
    "early_ssl",
)
PREVIOUS_PRIOR_SD = {**PRIOR_SD, "pool_same": 0.75}


def _previous_vector(kb: KnowledgeBase, row: ResultRow) -> np.ndarray:
    """The moderators as the engine read them before issue 27: an unreported size at the centre
    of its scale, and an indicator for a pool of only the labeled images."""
    values = row_features(kb, row)
    relation = PoolRelation(values["pool_relation"] or PoolRelation.same_collection)
    protocol = Protocol(values["protocol"] or Protocol.fine_tune)

    def decades(count: int | None, centre: float) -> float:
        return math.log10(count) - centre if count else 0.0

    gap = values["domain_gap"]
    found = {
        "intercept": 1.0,
        "continued": float(row_arm(row) == "tl+ssl"),
        "frozen": float(protocol in FROZEN_PROTOCOLS),
        "log_labeled": decades(values["labeled_images"], 4.0),
        "log_pool": decades(values["pool_images"], 5.0),
        "pool_same": float(relation is PoolRelation.same),
        "pool_related": float(relation is PoolRelation.related),
        "pool_other": float(relation is PoolRelation.other),
        "domain_gap": 0.5 if gap is None else float(gap),
        "fine_grained": float(bool(values["fine_grained"])),
        "early_ssl": float(bool(values["early_ssl"])),
    }
    return np.array([found[t] for t in PREVIOUS_TERMS])


def previous_meta_regression(
    kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]
) -> list[float]:
    """The engine shipped before issue 27, refitted on the same training rows (its priors on
    the terms no training row varies: zero, as it had no rule for the pool-same indicator)."""
    x = np.array([_previous_vector(kb, r) for r in train])
    y = np.arcsinh([r.gap for r in train])
    sd = np.array([PREVIOUS_PRIOR_SD[t] for t in PREVIOUS_TERMS])
    fit = fit_arrays(x, y, [r.study for r in train], np.zeros(len(sd)), sd)
    return _predict(np.array([_previous_vector(kb, r) for r in test]), *fit)


def rule_vote(kb: KnowledgeBase, train: list[ResultRow], test: list[ResultRow]) -> list[float]:
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


ENGINE = "engine (meta-regression)"
BASELINES = (
    "always tl",
    "always ssl family",
    "base rate of the other studies",
    "rule vote (one fitted scale)",
    "previous engine (meta-regression before issue 27)",
)
"""The baselines of the per-domain and per-protocol tables, with the best single rule."""


MAIN_EFFECTS = tuple(t for t in MODEL_TERMS if "_x_" not in t)


MAIN_EFFECT_EXTRAS: dict[str, Extra] = {
    "frozen x fine-grained": interaction("frozen", "fine_grained"),
    "log labeled x log pool": interaction("log_labeled", "log_pool"),
    "domain gap x other pool": interaction("domain_gap", "pool_other"),
    "masked method": masked,
    "log label fraction": log_fraction,
    "frozen x gap": interaction("frozen", "domain_gap"),
    "log labeled x gap": interaction("log_labeled", "domain_gap"),
    "frozen x log labeled": interaction("frozen", "log_labeled"),
    "related pool x gap": interaction("pool_related", "domain_gap"),
    "log pool x gap": interaction("log_pool", "domain_gap"),
}
"""The columns tried one at a time on the first form, in the order they were tried."""


def predictors(kb: KnowledgeBase) -> dict[str, Predictor]:
    """The engine, the baselines, and every variant tried on the development studies, in the
    order they were tried (see benchmarks/README.md)."""
    rule = strongest_rule(kb)
    return {
        ENGINE: meta_regression(),
        "always tl": constant(0.0),
        "always ssl family": constant(1.0),
        "base rate of the other studies": base_rate,
        f"best single rule ({rule})": single_rule(rule),
        "rule vote (one fitted scale)": rule_vote,
        "previous engine (meta-regression before issue 27)": previous_meta_regression,
        "variant: main effects only (the form chosen first)": meta_regression(MAIN_EFFECTS),
        "variant: main effects, no random effect": meta_regression(
            MAIN_EFFECTS, random_effect=False
        ),
        "variant: main effects, each study weighted once": meta_regression(
            MAIN_EFFECTS, equal_studies=True
        ),
        **{
            f"variant: main effects + {name}": meta_regression(MAIN_EFFECTS, extra=extra)
            for name, extra in MAIN_EFFECT_EXTRAS.items()
        },
        "variant: labels read on the whole scale (the form scored first on the sealed studies)": (
            labels_read(meta_regression(), (-math.inf, math.inf))
        ),
        "variant: labels read up to 10^5": labels_read(meta_regression(), (1.0, 5.0)),
        "variant: + frozen x log labeled": meta_regression(
            extra=interaction("frozen", "log_labeled")
        ),
        "variant: + log pool x gap": meta_regression(extra=interaction("log_pool", "domain_gap")),
        "variant: each study weighted once": meta_regression(equal_studies=True),
        "variant: no random effect": meta_regression(random_effect=False),
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


def summarise(probabilities: dict[str, float], by_id: dict[str, ResultRow]) -> dict[str, Any]:
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
        "ssl_wins": int(y.sum()),
        "agreement": float(np.mean(right)),
        "agreement_studies_equal": float(np.mean(per_study)),
        "decisive_cases": int(decisive.sum()),
        "decisive_agreement": float(np.mean(right[decisive])) if decisive.any() else None,
        "verdict_agreement": float(np.mean((decisive & (p > 0.5)) == (y == 1))),
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "reliability": table,
    }


def _group_of(row: ResultRow) -> str:
    domain = row.domain.value
    return next((g for g, ds in DOMAIN_GROUPS.items() if domain in ds), "everything else")


def _protocol_of(row: ResultRow) -> str:
    return "fine-tune" if row.protocol == "fine-tune" else "frozen (linear, k-NN, SVM, other)"


def report(kb: KnowledgeBase, sealed: bool) -> dict[str, Any]:
    by_id = {r.id: r for r in kb.results}
    scores = sealed_scores if sealed else leave_one_study_out
    predicted = {name: scores(kb, p) for name, p in predictors(kb).items()}
    slices: dict[str, dict[str, dict[str, Any]]] = {}
    for label, key in (("domain", _group_of), ("protocol", _protocol_of)):
        for name in (ENGINE, *BASELINES, next(n for n in predicted if n.startswith("best"))):
            groups: dict[str, dict[str, float]] = {}
            for row_id, p in predicted[name].items():
                groups.setdefault(key(by_id[row_id]), {})[row_id] = p
            for group, probabilities in groups.items():
                slices.setdefault(f"{label}: {group}", {})[name] = summarise(probabilities, by_id)
    return {
        "clear_points": CLEAR,
        "scope": "sealed studies, fitted on all the development studies"
        if sealed
        else "leave one development study out",
        "sealed": kb.sealed,
        "scores": {name: summarise(p, by_id) for name, p in predicted.items()},
        "slices": slices,
    }


HEADER = (
    "| predictor | cases | studies | SSL wins | agreement | studies equal | "
    "verdict (toss-up = tl) | decisive | their agreement | Brier | log loss |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def _line(name: str, f: dict[str, Any]) -> str:
    decisive = "–" if f["decisive_agreement"] is None else f"{f['decisive_agreement']:.1%}"
    return (
        f"| {name} | {f['cases']} | {f['studies']} | {f['ssl_wins']} | {f['agreement']:.1%} | "
        f"{f['agreement_studies_equal']:.1%} | {f['verdict_agreement']:.1%} | "
        f"{f['decisive_cases']} | {decisive} | {f['brier']:.3f} | {f['log_loss']:.3f} |"
    )


def _print(result: dict[str, Any]) -> None:
    print(
        f"clear cases: winner ahead by >= {CLEAR} points; {result['scope']}; "
        f"sealed studies: {', '.join(result['sealed']) or 'none'}\n"
    )
    print(HEADER)
    for name, f in result["scores"].items():
        if f["cases"]:
            print(_line(name, f))
    engine = result["scores"][ENGINE]
    if engine["cases"]:
        print("\nReliability of the engine\n\n| bin | cases | mean predicted | observed |")
        print("|---|---|---|---|")
        for b in engine["reliability"]:
            print(f"| {b['bin']} | {b['cases']} | {b['predicted']:.2f} | {b['observed']:.2f} |")
    for title, table in result["slices"].items():
        print(f"\n{title.capitalize()}\n\n{HEADER}")
        for name, f in table.items():
            print(_line(name, f))


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
    else:
        _print(result)


if __name__ == "__main__":
    main()
