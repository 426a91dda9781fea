"""Fitting the gain model on the published comparisons (``advisor knowledge fit``).

Why one fitted scale on the rules' vote (scikit-learn's BayesianRidge, no intercept): there are a
few dozen comparisons from six studies, each exploring its own corner (one only huge label sets,
one only medical images, one only public checkpoints). Models with a weight per raw feature, or
per rule, described studies rather than settings: held out one study at a time they agreed with
fewer clear cases than the unfitted rules (benchmarks/decision_quality.py). The rules carry what
the literature agrees on across studies, so they fix the direction and the relative weights; the
rows fix what the vote is worth in points and how noisy it is, which the probability and the
interval need, and the Bayesian posterior gives both in closed form. No intercept: when no rule
fires the model has no reason to prefer either side. Each study counts once (its rows share a
weight of 1), so a study that reports many settings does not outvote one with a headline number.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import BayesianRidge

from advisor.advice.rules import directions
from advisor.knowledge.base import KnowledgeBase
from advisor.knowledge.model import FitMetrics, GainModel
from advisor.schema.knowledge import ResultRow, Rule
from advisor.schema.vocabulary import (
    DENSE_TASKS,
    MEDICAL_DOMAINS,
    SSL_FAMILY_VS_SUPERVISED,
    Kind,
    Paradigm,
)

FIT_COMMAND = "advisor knowledge fit -o knowledge/model.json"


def gain_rows(kb: KnowledgeBase, exclude_studies: Iterable[str] = ()) -> list[ResultRow]:
    """Image comparisons of the self-supervised family against supervised pretraining."""
    excluded = set(exclude_studies)
    return [
        row
        for row in kb.results
        if row.kind in SSL_FAMILY_VS_SUPERVISED
        and row.modality == "image"
        and row.study not in excluded
    ]


def usable_rules(kb: KnowledgeBase, exclude_studies: Iterable[str] = ()) -> list[Rule]:
    """Rules still backed by a study once ``exclude_studies`` are set aside, so that a study held
    out for evaluation cannot speak through a rule written from it."""
    excluded = set(exclude_studies)
    return [rule for rule in kb.rules if {cite.study for cite in rule.cites} - excluded]


def row_arm(row: ResultRow) -> Paradigm:
    return "tl+ssl" if row.kind == Kind.continued_vs_tl else "ssl"


def row_features(kb: KnowledgeBase, row: ResultRow) -> dict[str, Any]:
    """A published setting described with the features the rules read (None where unreported)."""
    labeled, pool = row.labeled_images, row.pretraining_images
    return {
        "labeled_images": labeled,
        "pool_images": pool,
        "classes": row.classes,
        "image_size": row.image_size,
        "domain_gap": kb.domains[row.domain].domain_gap,
        "fine_grained": row.fine_grained,
        "dense": row.task in DENSE_TASKS,
        "medical": row.domain in MEDICAL_DOMAINS,
        "early_ssl": row.early_ssl,
    }


def row_directions(kb: KnowledgeBase, row: ResultRow, rules: list[Rule]) -> dict[str, int]:
    return directions(rules, row_features(kb, row), row_arm(row))


def _matrix(rule_ids: list[str], found: list[dict[str, int]]) -> np.ndarray:
    return np.array([[d.get(rule, 0) for rule in rule_ids] for d in found], dtype=float)


def fit_gain_model(
    kb: KnowledgeBase,
    exclude_studies: Iterable[str] = (),
    experience: Sequence[tuple[dict[str, Any], Paradigm, float]] = (),
) -> GainModel:
    """Fit on every gain row (minus the excluded studies), plus local pilots given as (features,
    arm, measured gain in points), each counting as one study; deterministic for the same data."""
    excluded = list(exclude_studies)
    rows = gain_rows(kb, excluded)
    if len(rows) < 3:
        raise ValueError("the gain model needs at least 3 result rows")
    rules = usable_rules(kb, excluded)
    usable = {rule.id for rule in rules}
    rule_ids = [rule.id for rule in kb.rules]
    strength = np.array([float(rule.strength) if rule.id in usable else 0.0 for rule in kb.rules])
    found = [row_directions(kb, row, rules) for row in rows]
    found += [directions(rules, features, arm) for features, arm, _ in experience]
    d = _matrix(rule_ids, found)
    vote = d @ strength
    y = np.arcsinh([row.gap for row in rows] + [gain for _, _, gain in experience])
    per_study = Counter(row.study for row in rows)
    sample_weight = np.array([1.0 / per_study[row.study] for row in rows] + [1.0] * len(experience))
    sample_weight *= len(sample_weight) / sample_weight.sum()

    reg = BayesianRidge(fit_intercept=False).fit(vote[:, None], y, sample_weight=sample_weight)
    scale = max(float(reg.coef_[0]), 0.0)
    scale_variance = float(reg.sigma_[0, 0])
    noise_variance = 1.0 / reg.alpha_
    fitted = scale * vote
    return GainModel(
        method="BayesianRidge (scikit-learn) of asinh(gap) on the strength-weighted rule vote, "
        "no intercept, one unit of sample weight per study",
        command=FIT_COMMAND,
        rules=rule_ids,
        strength=strength.tolist(),
        scale=scale,
        scale_variance=scale_variance,
        noise_variance=float(noise_variance),
        probability_scale=float(np.sqrt(noise_variance + scale_variance * np.mean(vote**2))),
        fit_rows=[row.id for row in rows] + [f"pilot-{k}" for k in range(len(experience))],
        metrics=FitMetrics(
            rows=len(y),
            studies=len(per_study) + len(experience),
            rmse=float(np.sqrt(np.mean((fitted - y) ** 2))),
            sign_agreement=float(np.mean(np.sign(fitted) == np.sign(y))),
        ),
    )
