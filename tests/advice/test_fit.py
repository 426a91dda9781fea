"""The gain model: a fit on synthetic rows recovers the effects planted in them; the shipped
model is what a fresh fit gives, on the direct comparisons of the unsealed studies only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import invoke, make_card, one_error_line

from advisor.advice.fit import (
    PRIOR_SD,
    direct_rows,
    fit_arrays,
    fit_gain_model,
    rule_prior_means,
    silent_terms,
    study_scale,
)
from advisor.knowledge.base import load_knowledge
from advisor.knowledge.model import load_model
from advisor.schema.vocabulary import DIRECT_KINDS, MODEL_TERMS

KB = load_knowledge()


def _synthetic(beta: np.ndarray, tau: float, sigma: float, studies: int, seed: int):
    rng = np.random.default_rng(seed)
    per_study = 6
    n = studies * per_study
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, size=n)])
    groups = [f"s{i // per_study}" for i in range(n)]
    effect = rng.normal(scale=tau, size=studies).repeat(per_study)
    y = x @ beta + effect + rng.normal(scale=sigma, size=n)
    return x, y, groups


def test_a_fit_on_synthetic_rows_recovers_the_planted_effects() -> None:
    beta = np.array([0.3, -0.8, 1.2])
    x, y, groups = _synthetic(beta, tau=0.5, sigma=0.3, studies=60, seed=1)
    mean, cov, tau2, sigma2 = fit_arrays(x, y, groups, np.zeros(3), np.full(3, 2.0))
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(mean - beta) < 3 * sd), (mean, sd)
    assert sd[1] < 0.1  # the within-study slope is well determined
    assert 0.1 < tau2 < 0.5  # planted 0.25
    assert 0.05 < sigma2 < 0.15  # planted 0.09


def test_a_fit_on_synthetic_rows_recovers_a_planted_interaction() -> None:
    """A frozen reading that hurts only fine-grained targets: the product column finds it, and
    the main effects keep their own sizes."""
    rng = np.random.default_rng(4)
    studies, per_study = 50, 8
    n = studies * per_study
    frozen = rng.integers(0, 2, size=n).astype(float)
    fine = rng.integers(0, 2, size=n).astype(float)
    x = np.column_stack([np.ones(n), frozen, fine, frozen * fine])
    beta = np.array([0.4, 0.5, -0.3, -1.2])
    groups = [f"s{i // per_study}" for i in range(n)]
    y = x @ beta + rng.normal(scale=0.4, size=studies).repeat(per_study)
    y += rng.normal(scale=0.3, size=n)
    mean, cov, _, _ = fit_arrays(x, y, groups, np.zeros(4), np.full(4, 0.75))
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(mean - beta) < 3 * sd), (mean, sd)
    assert mean[3] + 1.645 * sd[3] < 0  # the interaction is found, not just allowed
    without, _, _, _ = fit_arrays(x[:, :3], y, groups, np.zeros(3), np.full(3, 0.75))
    assert without[1] < mean[1] - 0.3  # left out, it drags the frozen effect down with it


def test_equal_study_weights_keep_the_total_weight() -> None:
    scale = study_scale(["a"] * 8 + ["b"] * 2)
    assert np.sum(1 / scale) == pytest.approx(10)
    assert np.sum(1 / scale[:8]) == pytest.approx(np.sum(1 / scale[8:]))


def test_the_between_study_spread_is_found_only_where_there_is_one() -> None:
    beta = np.array([0.0, 0.5, 0.0])
    x, y, groups = _synthetic(beta, tau=0.0, sigma=0.3, studies=40, seed=2)
    _, _, tau2, _ = fit_arrays(x, y, groups, np.zeros(3), np.full(3, 2.0))
    x, y, groups = _synthetic(beta, tau=1.0, sigma=0.3, studies=40, seed=2)
    _, _, tau2_spread, _ = fit_arrays(x, y, groups, np.zeros(3), np.full(3, 2.0))
    assert tau2 < 0.02 < 0.5 < tau2_spread


def test_a_coefficient_without_data_stays_at_its_prior() -> None:
    x, y, groups = _synthetic(np.array([0.2, 0.4, 0.0]), tau=0.2, sigma=0.2, studies=20, seed=3)
    x[:, 2] = 0.0  # never varied
    mean, cov, _, _ = fit_arrays(x, y, groups, np.array([0.0, 0.0, -0.4]), np.full(3, 0.75))
    assert mean[2] == pytest.approx(-0.4)
    assert cov[2, 2] == pytest.approx(0.75**2)


def test_shipped_model_is_what_a_fresh_fit_gives() -> None:
    fresh = json.loads(fit_gain_model(KB).model_dump_json())
    shipped = json.loads(load_model().model_dump_json())
    assert fresh.keys() == shipped.keys()
    assert fresh["fit_rows"] == shipped["fit_rows"]
    assert fresh["terms"] == shipped["terms"] == list(MODEL_TERMS)
    assert fresh["coefficients"] == pytest.approx(shipped["coefficients"], rel=1e-9)
    assert fresh["between_study_variance"] == pytest.approx(shipped["between_study_variance"])
    assert fresh["within_study_variance"] == pytest.approx(shipped["within_study_variance"])


def test_the_fit_never_sees_the_sealed_studies() -> None:
    model = load_model()
    assert len(KB.sealed) >= 5
    rows = {row.id: row for row in KB.results}
    assert not {rows[r].study for r in model.fit_rows} & set(KB.sealed)
    assert set(KB.sealed) <= set(model.excluded_studies)


def test_fit_uses_only_direct_image_classification_comparisons() -> None:
    model = load_model()
    rows = {row.id: row for row in KB.results}
    fitted = [rows[r] for r in model.fit_rows]
    assert all(r.kind in DIRECT_KINDS and r.modality == "image" for r in fitted)
    assert all(r.task.value in ("classification", "multilabel") for r in fitted)
    assert all(r.ssl_family is not None for r in fitted)  # a self-supervised arm, not supervised
    assert len(fitted) == len(direct_rows(KB, KB.sealed))


def test_the_evidence_base_is_as_wide_as_promised() -> None:
    direct = direct_rows(KB)
    assert len(direct) >= 60
    assert len({row.study for row in direct}) >= 15
    assert len(KB.studies) >= 20


def test_holding_out_a_study_removes_its_rows() -> None:
    model = fit_gain_model(KB, ["chen2024"])
    assert not any(r.startswith("chen2024") for r in model.fit_rows)
    assert "chen2024" in model.excluded_studies


def test_rules_speak_only_for_the_moderators_no_comparison_varies() -> None:
    x = np.zeros((4, len(MODEL_TERMS)))
    x[:, 0] = 1.0
    x[:, MODEL_TERMS.index("continued")] = [0, 1, 0, 1]
    sd = np.array([PRIOR_SD[t] for t in MODEL_TERMS])
    means = dict(zip(MODEL_TERMS, rule_prior_means(KB, silent_terms(x), sd), strict=True))
    assert means["continued"] == 0  # varied: the data speak
    assert means["fine_grained"] < 0  # silent: the fine-grained rule favours transfer
    assert means["intercept"] == 0


def test_every_rule_check_names_a_rule_with_that_term() -> None:
    model = load_model()
    for check in model.rule_checks:
        rule = KB.rule(check.rule)
        assert rule.model is not None and rule.model.term == check.term
        assert check.low <= check.coefficient <= check.high
    statuses = {check.rule: check.status for check in model.rule_checks}
    # the comparisons now vary every moderator: each rule's direction is a finding of the fit
    assert "prior" not in statuses.values()
    assert statuses["fine-grained"] == statuses["near-domain"] == "supported"
    assert statuses["continue-from-pretrained"] == "supported"


def test_a_pilot_does_not_silence_what_the_studies_found() -> None:
    from advisor.advice.features import features_from_card

    card = make_card(
        labeled_images=500, unlabeled_images=5000, classes=5, image_size=64, fine_grained=True
    )
    pilot = (features_from_card(card).model_dump(), "tl+ssl", 3.0)
    fitted = fit_gain_model(KB, experience=[pilot])
    assert fitted.prior_mean == load_model().prior_mean


def test_a_store_record_of_another_version_is_one_line(experience_store: Path) -> None:
    experience_store.parent.mkdir(parents=True)
    experience_store.write_text('{"time": "then", "features": {}}\n')
    res = invoke("knowledge", "fit", "--with-experience")
    assert res.exit_code == 2
    assert "line 1: not a pilot record of this version" in one_error_line(res.stderr)
