"""The decision engine on cards and analyses: verdicts, reasons, recipe, flips, caveats, and its
monotonicity."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from helpers import EXAMPLES, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.advice.card import load_card
from advisor.advice.decide import recommend
from advisor.advice.features import features_from_analysis, features_from_card
from advisor.data.shapes import ShapesWorld
from advisor.knowledge.base import load_knowledge
from advisor.schema.card import DatasetCard
from advisor.schema.decision import DecisionFeatures
from advisor.schema.vocabulary import DemoName, Domain, Task
from advisor.services.demo import make_demo

KB = load_knowledge()


def card(**changes) -> DatasetCard:
    fields = {
        "name": "t",
        "task": "classification",
        "domain": "natural",
        "labeled_images": 5000,
        "unlabeled_images": 20000,
        "classes": 10,
        "image_size": 256,
    }
    return DatasetCard.model_validate({**fields, **changes})


def decide(**changes):
    return recommend(features_from_card(card(**changes)))


@pytest.mark.parametrize(
    ("example", "verdict"),
    [
        ("chest-xray-effusion.yaml", "tl+ssl"),  # far domain, few labels, big archive
        ("pet-photos.yaml", "tl"),  # ImageNet-like photographs
        ("bird-species.yaml", "tl"),  # fine-grained labels
        ("product-catalog.yaml", "tl"),  # 1.5M labels
    ],
)
def test_example_cards(example: str, verdict: str) -> None:
    loaded, unknown = load_card(EXAMPLES / example)
    assert unknown == []
    rec = recommend(features_from_card(loaded), loaded.name)
    assert rec.verdict == verdict
    assert rec.reasons and rec.recipe


def test_reasons_are_strongest_first_and_cite_known_studies() -> None:
    rec = decide(domain="medical-xray", labeled_images=300, unlabeled_images=500_000)
    strengths = [reason.strength for reason in rec.reasons]
    assert strengths == sorted(strengths, reverse=True)
    ids = {reason.rule for reason in rec.reasons}
    assert {"far-domain", "medical-few-labels", "continue-from-pretrained"} <= ids
    for reason in rec.reasons:
        assert reason.cites and all(c.study in KB.studies for c in reason.cites)


def test_recipe_items_cite_or_say_they_are_conventions() -> None:
    for verdict_card in (card(), card(domain="medical-xray", grayscale=True)):
        rec = recommend(features_from_card(verdict_card))
        for item in rec.recipe:
            assert bool(item.cites) != item.convention
            assert all(c.study in KB.studies for c in item.cites)
    grayscale = recommend(features_from_card(card(grayscale=True)))
    assert any(item.step == "grayscale" for item in grayscale.recipe)


def test_each_flip_really_flips_the_verdict() -> None:
    cases = [
        card(domain="medical-xray", labeled_images=2000, unlabeled_images=200_000),
        card(domain="natural"),
        card(domain="remote-sensing", labeled_images=20_000, unlabeled_images=1_000),
        card(domain="fine-grained-natural", fine_grained=True),
    ]
    flips_seen = 0
    for base in cases:
        features = features_from_card(base)
        rec = recommend(features)
        for flip in rec.flip:
            flips_seen += 1
            changed = features.model_dump()
            value = bool(flip.value) if flip.feature == "fine_grained" else flip.value
            changed[flip.feature] = int(value) if flip.feature.endswith("images") else value
            changed["pool_images"] = changed["unlabeled_images"] + changed["labeled_images"]
            after = recommend(DecisionFeatures.model_validate(changed))
            assert (after.verdict == "tl") != (rec.verdict == "tl"), flip.text
            assert after.verdict == flip.verdict
    assert flips_seen >= 4


def test_thin_evidence_is_said_and_widens_the_interval() -> None:
    covered = decide(domain="medical-xray", labeled_images=2000)
    uncovered = decide(domain="microscopy", labeled_images=2000, task="retrieval")
    assert any("microscopy" in c for c in uncovered.caveats)
    assert any("retrieval" in c for c in uncovered.caveats)
    assert not any("microscopy" in c for c in covered.caveats)
    spread = lambda r: r.expected_gain.high - r.expected_gain.low  # noqa: E731
    assert spread(uncovered) > spread(covered)


def test_judged_domain_gap_is_a_caveat_and_a_measured_one_is_not() -> None:
    judged = decide(domain="medical-xray")
    assert any("judgement" in c for c in judged.caveats)
    measured = decide(domain="medical-xray", domain_gap=0.7)
    assert measured.features.domain_gap == 0.7
    assert not any("not a measurement" in c for c in measured.caveats)


counts = st.integers(min_value=1, max_value=5_000_000)


@settings(max_examples=60, deadline=None)
@given(
    labeled=counts,
    unlabeled=st.integers(min_value=0, max_value=5_000_000),
    factor=st.integers(min_value=2, max_value=1000),
    domain=st.sampled_from(list(Domain)),
    fine=st.booleans(),
    task=st.sampled_from(list(Task)),
    imbalance=st.floats(min_value=1, max_value=1000),
    size=st.integers(min_value=8, max_value=4096),
)
def test_more_unlabeled_images_never_make_ssl_less_favoured(
    labeled, unlabeled, factor, domain, fine, task, imbalance, size
) -> None:
    common = dict(
        labeled_images=labeled,
        domain=domain,
        fine_grained=fine,
        task=task,
        imbalance_ratio=imbalance,
        image_size=size,
    )
    fewer = decide(unlabeled_images=unlabeled, **common)
    more = decide(unlabeled_images=unlabeled * factor + 1, **common)
    assert more.expected_gain.mean >= fewer.expected_gain.mean
    assert _p_ssl(more) >= _p_ssl(fewer)
    if fewer.verdict != "tl":
        assert more.verdict != "tl"


@settings(max_examples=60, deadline=None)
@given(
    labeled=counts,
    unlabeled=st.integers(min_value=0, max_value=5_000_000),
    gaps=st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=2).map(sorted),
    fine=st.booleans(),
    task=st.sampled_from(list(Task)),
)
def test_a_larger_domain_gap_never_makes_ssl_less_favoured(
    labeled, unlabeled, gaps, fine, task
) -> None:
    common = dict(
        labeled_images=labeled,
        unlabeled_images=unlabeled,
        fine_grained=fine,
        task=task,
        domain="other",
    )
    near = decide(domain_gap=gaps[0], **common)
    far = decide(domain_gap=gaps[1], **common)
    assert far.expected_gain.mean >= near.expected_gain.mean
    assert _p_ssl(far) >= _p_ssl(near)


def _p_ssl(rec) -> float:
    return rec.probability if rec.verdict != "tl" else 1 - rec.probability


@settings(max_examples=80, deadline=None)
@given(
    labeled=counts,
    unlabeled=st.integers(min_value=0, max_value=10_000_000),
    classes=st.integers(min_value=2, max_value=20_000),
    domain=st.sampled_from(list(Domain)),
    task=st.sampled_from(list(Task)),
    fine=st.booleans(),
    grayscale=st.booleans(),
    imbalance=st.floats(min_value=1, max_value=1e4),
    size=st.integers(min_value=1, max_value=10_000),
)
def test_probability_agrees_with_the_verdict_and_reasons_cite_real_studies(
    labeled, unlabeled, classes, domain, task, fine, grayscale, imbalance, size
) -> None:
    rec = decide(
        labeled_images=labeled,
        unlabeled_images=unlabeled,
        classes=classes,
        domain=domain,
        task=task,
        fine_grained=fine,
        grayscale=grayscale,
        imbalance_ratio=imbalance,
        image_size=size,
    )
    assert 0.5 <= rec.probability <= 1
    best = max(rec.arms.values(), key=lambda arm: arm.gain.mean)
    assert (rec.verdict != "tl") == (best.gain.mean > 0)
    assert (rec.verdict != "tl") == (best.probability > 0.5) or best.probability == 0.5
    assert rec.expected_gain.low <= rec.expected_gain.mean <= rec.expected_gain.high
    for reason in rec.reasons:
        assert all(c.study in KB.studies for c in reason.cites)


def test_features_from_an_analysis(tmp_path: Path) -> None:
    from advisor.services.analyze import AnalyzeSettings, analyze

    make_demo(tmp_path / "digits", DemoName.digits, 0, False, True, ShapesWorld(), None)
    analysis = analyze(AnalyzeSettings(tmp_path / "digits"))
    assert analysis.recommendation is not None
    features = analysis.recommendation.features
    assert features.labeled_images == analysis.profile.labeled
    assert features.unlabeled_images == analysis.profile.unlabeled
    assert features.grayscale  # the digits are grayscale PNGs
    assert features.domain_gap_basis.startswith("not measured")
    caveats = " ".join(analysis.recommendation.caveats)
    assert "coarse" in caveats and "measures it" in caveats
    assert any(item.step == "grayscale" for item in analysis.recommendation.recipe)
    unlabeled_only = analysis.model_copy(
        update={"profile": analysis.profile.model_copy(update={"labeled": 0})}
    )
    assert features_from_analysis(unlabeled_only) is None


def test_decide_json_validates_against_its_schema(tmp_path: Path) -> None:
    res = invoke("decide", EXAMPLES / "chest-xray-effusion.yaml", "--json")
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)
    schema = json.loads(invoke("schema", "decision").stdout)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["verdict"] == "tl+ssl"
    out = tmp_path / "advice.json"
    res = invoke("decide", EXAMPLES / "chest-xray-effusion.yaml", "-o", out)
    assert res.exit_code == 0
    assert json.loads(out.read_text()) == document
    assert "Recommendation" in res.stdout
