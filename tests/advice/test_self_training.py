"""Self-training (``tl+st``) in the advice: its rows, its own model, when its evidence is thin,
the verdict that can name it, its cost, and a pilot's measurement of it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import invoke, make_card, one_error_line

from advisor.advice.assessment import Assessment
from advisor.advice.cost import arm_cost, forecast, image_passes
from advisor.advice.decide import combine_with_pilot, recommend
from advisor.advice.features import features_from_card
from advisor.advice.fit import fit_self_training_model, self_training_rows
from advisor.advice.moderators import moderators
from advisor.advice.self_training import MIN_STUDIES, labeled_span, st_moderators
from advisor.advice.settings import ComputeSettings
from advisor.knowledge.base import load_knowledge
from advisor.knowledge.costs import load_costs
from advisor.knowledge.model import load_model, load_self_training_model
from advisor.schema.knowledge import ResultRow
from advisor.schema.pilot import PairedDifference, PilotResult
from advisor.schema.vocabulary import (
    MODEL_TERMS,
    SELF_TRAINING,
    SELF_TRAINING_TERMS,
    SSL_ARMS,
    Kind,
)

KB = load_knowledge()
FIXTURES = Path(__file__).parents[1] / "fixtures"


def decide(**changes):
    return recommend(features_from_card(make_card(**changes)))


def test_the_rows_are_read_and_the_model_never_sees_the_sealed_study() -> None:
    rows = self_training_rows(KB)
    assert len(rows) >= 200 and len({r.study for r in rows}) >= 4
    assert all(r.kind is Kind.st_vs_tl and r.ssl_family is None and r.ssl_method for r in rows)
    model = load_self_training_model()
    fitted = {r.id: r for r in rows}
    assert set(model.fit_rows) <= set(fitted)
    sealed = {r.study for r in rows} & set(KB.sealed)
    assert sealed and not {fitted[i].study for i in model.fit_rows} & sealed
    assert model.terms == list(SELF_TRAINING_TERMS)
    assert model.metrics.studies >= MIN_STUDIES


def test_the_shipped_model_is_what_a_fresh_fit_gives(tmp_path: Path) -> None:
    out = tmp_path / "st.json"
    res = invoke("knowledge", "fit", "--self-training", "-o", out)
    assert res.exit_code == 0, res.stderr
    fresh, shipped = json.loads(out.read_text()), load_self_training_model().model_dump()
    assert fresh["fit_rows"] == shipped["fit_rows"]
    assert fresh["coefficients"] == pytest.approx(shipped["coefficients"], rel=1e-9)
    assert fresh["within_study_variance"] == pytest.approx(shipped["within_study_variance"])


def test_the_experience_store_does_not_feed_the_self_training_model() -> None:
    res = invoke("knowledge", "fit", "--self-training", "--with-experience")
    assert res.exit_code == 2
    assert "self-supervised pilots" in one_error_line(res.stderr)


def test_a_self_training_row_names_its_method_and_no_ssl_family() -> None:
    row = next(r for r in KB.results if r.kind is Kind.st_vs_tl).model_dump()
    with pytest.raises(ValueError, match="ssl_family empty"):
        ResultRow.model_validate({**row, "ssl_family": "contrastive"})
    with pytest.raises(ValueError, match="names its self-training method"):
        ResultRow.model_validate({**row, "ssl_method": None})


def test_a_label_count_means_the_same_to_both_models() -> None:
    values = make_card(labeled_images=300, unlabeled_images=9000).model_dump()
    values.update(protocol="linear", domain_gap=0.4)
    full = dict(zip(MODEL_TERMS, moderators(values, "tl"), strict=True))
    assert st_moderators(values).tolist() == [full[t] for t in SELF_TRAINING_TERMS]


def test_fewer_labels_favour_self_training_more() -> None:
    model = load_self_training_model()
    assert model.coefficients[model.terms.index("log_labeled")] < 0
    few, many = decide(labeled_images=200), decide(labeled_images=3000)
    assert few.arms[SELF_TRAINING].gain.mean > many.arms[SELF_TRAINING].gain.mean


def test_within_its_evidence_the_verdict_names_self_training_with_its_recipe() -> None:
    rec = decide(domain="natural", labeled_images=1000, unlabeled_images=50_000)
    assert rec.arms[SELF_TRAINING].thin is None
    assert rec.verdict == SELF_TRAINING and not rec.toss_up
    assert rec.probability == rec.arms[SELF_TRAINING].probability
    assert rec.expected_gain == rec.arms[SELF_TRAINING].gain
    steps = {item.step for item in rec.recipe}
    assert {"pseudo-labels", "class balance", "student"} <= steps
    assert all(item.cites for item in rec.recipe if item.step in ("pseudo-labels", "student"))
    assert any(r.direction == "self-training" for r in rec.reasons)
    # its gains were smaller far from photographs, and it needs unlabeled images
    away = {f.feature: f.verdict for f in rec.flip}
    assert away["unlabeled_images"] != SELF_TRAINING
    assert away["domain_gap"] != SELF_TRAINING
    gap = next(f for f in rec.flip if f.feature == "domain_gap")
    assert "at least" in gap.text


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        (dict(labeled_images=50_000), "labeled images"),
        (dict(pool="other"), "'other'"),
        (dict(protocol="linear"), "frozen"),
    ],
)
def test_thin_evidence_is_shown_and_never_named(changes: dict, why: str) -> None:
    common = dict(domain="natural", labeled_images=1000, unlabeled_images=50_000)
    rec = decide(**{**common, **changes})
    arm = rec.arms[SELF_TRAINING]
    assert arm.thin is not None and why in arm.thin
    assert rec.verdict != SELF_TRAINING
    assert any(c.startswith("Self-training (tl+st) is shown but not weighed") for c in rec.caveats)


def test_thin_when_fitted_on_too_few_studies() -> None:
    studies = sorted({r.study for r in self_training_rows(KB, KB.sealed)})
    narrow = fit_self_training_model(KB, studies[: len(studies) - MIN_STUDIES + 1])
    assert narrow.metrics.studies < MIN_STUDIES
    features = features_from_card(make_card(labeled_images=1000, unlabeled_images=50_000))
    values = features.model_dump()
    assessment = Assessment(values, KB, load_model(), narrow)
    assert assessment.self_training is not None and "studies" in assessment.self_training.thin
    assert assessment.best in SSL_ARMS


def test_without_unlabeled_images_there_is_nothing_to_pseudo_label() -> None:
    rec = decide(labeled_images=1000, unlabeled_images=0)
    assert SELF_TRAINING not in rec.arms
    assert rec.cost is not None and SELF_TRAINING not in {a.arm for a in rec.cost.arms}


def test_the_labeled_span_is_that_of_the_fitted_rows() -> None:
    # 4 labels a class of CIFAR-10 (USB's 40 at 2 a class is its smallest: 20) up to half of
    # Stanford Cars' 8,144 training images
    assert labeled_span(KB, load_self_training_model()) == (20, 4072)
    assert decide(labeled_images=19).arms[SELF_TRAINING].thin is not None
    assert decide(labeled_images=20).arms[SELF_TRAINING].thin is None


def test_a_pool_smaller_than_any_the_comparisons_had_is_thin() -> None:
    rec = decide(domain="natural", labeled_images=1000, unlabeled_images=1)
    assert "unlabeled images" in (rec.arms[SELF_TRAINING].thin or "")
    assert rec.verdict != SELF_TRAINING
    without = decide(domain="natural", labeled_images=1000, unlabeled_images=0)
    assert not any(f.verdict == SELF_TRAINING and f.value < 1632 for f in without.flip)


def test_a_flip_that_leaves_self_training_says_when_its_evidence_ends() -> None:
    rec = decide(domain="natural", labeled_images=1000, unlabeled_images=50_000)
    edge = next(f for f in rec.flip if f.feature == "labeled_images")
    assert edge.value in (19, 4073)  # just past either end of the comparisons' label counts
    assert "self-training's evidence is thin there" in edge.text


def test_what_is_shown_is_about_the_arm_the_engine_weighed() -> None:
    """The probability, the expected gain and the words are about one arm, with or without a
    budget that sets the likeliest aside, and in a toss-up."""
    from advisor.render.decision import contender

    cards = [
        dict(domain="natural", labeled_images=1000, unlabeled_images=50_000),
        dict(domain="fine-grained-natural", fine_grained=True, labeled_images=6000),
        dict(domain="medical-xray", labeled_images=2000, unlabeled_images=200_000),
        dict(labeled_images=1000, unlabeled_images=0),
    ]
    seen_tl = 0
    for card in cards:
        for budget in (None, 0.05, 1.0, 1e6):
            features = features_from_card(make_card(**card))
            rec = recommend(features, compute=ComputeSettings(budget_hours=budget))
            arm = rec.contender
            assert arm is not None and contender(rec) == arm
            assert rec.expected_gain == rec.arms[arm].gain
            p = rec.arms[arm].probability
            expected = p if rec.verdict != "tl" else 1 - p
            assert rec.probability == pytest.approx(expected, abs=0.002)
            if rec.toss_up:
                assert f"({arm})" in rec.caveats[0]
            seen_tl += rec.verdict == "tl"
    assert seen_tl  # the transfer side is covered too


def test_a_budget_that_cannot_pay_for_self_training_names_the_next_arm() -> None:
    features = features_from_card(
        make_card(domain="natural", labeled_images=1000, unlabeled_images=50_000)
    )
    free = recommend(features)
    assert free.verdict == SELF_TRAINING and free.cost is not None
    hours = free.cost.arm(SELF_TRAINING).hours
    assert hours is not None
    tl_hours = free.cost.arm("tl").hours
    assert tl_hours is not None and tl_hours.mean < hours.mean
    budget = (tl_hours.mean + hours.mean) / 2
    tight = recommend(features, compute=ComputeSettings(budget_hours=budget))
    assert tight.verdict != SELF_TRAINING
    assert tight.cost is not None and tight.cost.unbudgeted_verdict == SELF_TRAINING
    restore = next(f for f in tight.flip if f.feature == "compute_budget_hours")
    assert restore.verdict == SELF_TRAINING and restore.value == hours.mean


def test_flips_survive_a_forecast_without_throughput() -> None:
    """No figure for the network: nothing is forecast, and a flip that brings in unlabeled
    images (and with them self-training) still finds its way."""
    features = features_from_card(make_card(labeled_images=1000, unlabeled_images=0))
    rec = recommend(features, architecture="no_such_network")
    assert rec.cost is not None and all(a.hours is None for a in rec.cost.arms)
    assert SELF_TRAINING not in {a.arm for a in rec.cost.arms}


def test_self_training_costs_a_teacher_a_labelling_pass_and_a_student() -> None:
    costs = load_costs()
    schedules = [s for s in costs.schedules if s.use == "finetune"]
    labeled, unlabeled = 1_000, 20_000
    cost = arm_cost(
        SELF_TRAINING, costs, labeled + unlabeled, labeled, 100.0, None, None, unlabeled
    )
    student = sorted(image_passes(s, labeled + unlabeled) for s in schedules)
    teacher = sorted(image_passes(s, labeled) + unlabeled / 3 for s in schedules)
    assert cost.finetuning_images == round(float(np.median(student)))
    assert cost.pretraining_images == round(float(np.median(teacher)))
    alone = forecast(costs, 21_000, 1_000, None, ComputeSettings(), None, unlabeled)
    hours = {a.arm: a.hours.mean for a in alone.arms if a.hours is not None}
    assert hours["tl"] < hours[SELF_TRAINING]


def _pilot(*differences: PairedDifference) -> PilotResult:
    stored = PilotResult.model_validate_json((FIXTURES / "pilot-result.json").read_text())
    return stored.model_copy(
        update={
            "differences": list(differences),
            "failed_runs": [],
            "winner": None,
            "projections": [],
            "ssl_still_improving": False,
        }
    )


def _difference(arm: str, points: float) -> PairedDifference:
    return PairedDifference(
        arm=arm, accuracy_points=points, low=points - 2, high=points + 2, level=0.95
    )


def test_a_pilot_without_self_training_keeps_the_literatures_estimate_of_it() -> None:
    rec = decide(domain="natural", labeled_images=1000, unlabeled_images=50_000)
    combined = combine_with_pilot(rec, _pilot(_difference("tl+ssl", 0.5)))
    assert combined.verdict == SELF_TRAINING
    assert combined.arms[SELF_TRAINING] == rec.arms[SELF_TRAINING]
    assert combined.pilot is not None and combined.pilot.arm == "tl+ssl"


def test_a_pilot_that_measured_thin_self_training_is_what_the_verdict_weighs() -> None:
    rec = decide(domain="natural", labeled_images=50_000, unlabeled_images=500_000)
    assert rec.arms[SELF_TRAINING].thin is not None and rec.verdict != SELF_TRAINING
    combined = combine_with_pilot(rec, _pilot(_difference(SELF_TRAINING, 6.0)))
    assert combined.verdict == SELF_TRAINING
    assert combined.arms[SELF_TRAINING].thin is None
    assert not any(c.startswith("Self-training (tl+st) is shown") for c in combined.caveats)
    assert any("the pilot's measurement of it" in c for c in combined.caveats)


def test_a_pilot_that_measured_self_training_moves_its_estimate() -> None:
    rec = decide(domain="natural", labeled_images=1000, unlabeled_images=50_000)
    stored = PilotResult.model_validate_json((FIXTURES / "pilot-result.json").read_text())
    lost = PairedDifference(
        arm=SELF_TRAINING, accuracy_points=-8.0, low=-10.0, high=-6.0, level=0.95
    )
    pilot = stored.model_copy(
        update={"differences": [lost], "failed_runs": [], "winner": "tl", "projections": []}
    )
    combined = combine_with_pilot(rec, pilot)
    assert combined.pilot is not None and combined.pilot.arm == SELF_TRAINING
    assert combined.arms[SELF_TRAINING].probability < rec.arms[SELF_TRAINING].probability
    assert combined.verdict != SELF_TRAINING
