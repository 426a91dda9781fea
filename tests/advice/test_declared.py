"""What the images cannot tell, declared to ``advisor analyze``: used beside what the probes
measured, both shown when they disagree; bad values refused in one line; the labeled images
counted are the training ones; no advice comes with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import invoke, make_class_folders, one_error_line, write_png

from advisor.probing.settings import ProbeSettings
from advisor.schema.analysis import Declared
from advisor.services.analyze import AnalyzeSettings, analyze

FAST = ProbeSettings(resolution=48, sample=200)


@pytest.fixture
def split_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    make_class_folders(data / "train", {"cat": 6, "dog": 6})
    make_class_folders(data / "test", {"cat": 9, "dog": 9}, seed=100)
    for i in range(14):
        write_png(data / "unlabeled" / f"u{i}.png", 300 + i)
    return data


def test_declared_facts_reach_the_features_and_the_document(split_data: Path) -> None:
    res = invoke(
        "analyze",
        split_data,
        "--no-probes",
        "--json",
        "--domain",
        "medical-xray",
        "--task",
        "multilabel",
        "--fine-grained",
        "--protocol",
        "linear",
        "--pool",
        "other",
    )
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)
    assert document["declared"] == {
        "domain": "medical-xray",
        "task": "multilabel",
        "fine_grained": True,
        "protocol": "linear",
        "pool": "other",
    }
    features = document["recommendation"]["features"]
    assert features["domain"] == "medical-xray" and features["medical"]
    assert features["domain_gap"] == 0.6 and "declared" in features["domain_gap_basis"]
    assert features["task"] == "multilabel"
    assert (features["fine_grained"], features["fine_grained_origin"]) == (True, "given")
    assert (features["protocol"], features["protocol_origin"]) == ("linear", "given")
    assert (features["pool_relation"], features["pool_relation_origin"]) == ("other", "given")


def test_the_training_labels_are_counted_not_the_test_split(split_data: Path) -> None:
    analysis = analyze(AnalyzeSettings(split_data))
    assert analysis.profile.labeled == 30
    assert analysis.recommendation.features.labeled_images == 12


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--domain", "underwater"),
        ("--task", "captioning"),
        ("--protocol", "probe"),
        ("--pool", "x"),
    ],
)
def test_a_declared_value_outside_the_vocabulary_is_one_line(
    split_data: Path, flag: str, value: str
) -> None:
    res = invoke("analyze", split_data, "--no-probes", flag, value)
    assert res.exit_code == 2
    assert flag in one_error_line(res.stderr)
    assert res.stdout == ""


def test_a_declared_domain_is_used_and_the_measured_gap_shown_beside_it(
    split_data: Path,
) -> None:
    measured = analyze(AnalyzeSettings(split_data, probes=FAST))
    gap = measured.probes.domain_gap.score.value
    assert measured.recommendation.features.domain_gap_origin == "measured"
    far = "medical-ct-mri" if gap < 0.45 else "natural"
    declared = analyze(AnalyzeSettings(split_data, probes=FAST, declared=Declared(domain=far)))
    features = declared.recommendation.features
    assert features.domain_gap_origin == "typical" and features.measured_domain_gap == gap
    shown = [c for c in declared.recommendation.caveats if "You declared the" in c]
    assert len(shown) == 1 and f"{gap:.2f}" in shown[0]


def test_the_pool_relation_is_measured_and_a_declared_one_shown_beside_it(
    split_data: Path,
) -> None:
    measured = analyze(AnalyzeSettings(split_data, probes=FAST))
    features = measured.recommendation.features
    assert features.pool_relation_origin == "measured"
    assert "proxy A-distance" in features.pool_relation_basis
    other = "related" if features.pool_relation == "same-collection" else "same-collection"
    declared = analyze(AnalyzeSettings(split_data, probes=FAST, declared=Declared(pool=other)))
    features = declared.recommendation.features
    assert features.pool_relation == other and features.measured_pool_relation is not None
    assert any("You declared the unlabeled pool" in c for c in declared.recommendation.caveats)


def test_no_labels_means_no_advice_and_says_why(tmp_path: Path) -> None:
    for i in range(4):
        write_png(tmp_path / "pool" / f"{i}.png", i)
    res = invoke("analyze", tmp_path / "pool", "--no-probes", "--json")
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)
    assert document["recommendation"] is None
    assert "No image has a label" in document["no_advice"]
    res = invoke("analyze", tmp_path / "pool", "--no-probes")
    assert "No recommendation: No image has a label" in " ".join(res.stdout.split())


def test_the_probes_panel_no_longer_calls_classes_fine_grained(split_data: Path) -> None:
    res = invoke("analyze", split_data, "--resolution", "48", "--sample", "200")
    assert res.exit_code == 0, res.stderr
    assert "fine-grained in this feature space" not in res.stdout
    assert "class separation" in res.stdout


def test_a_declared_pool_of_unlabeled_images_needs_some(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 3, "dog": 3})
    res = invoke("analyze", data, "--no-probes", "--pool", "related")
    assert res.exit_code == 2
    line = one_error_line(res.stderr)
    assert "--pool" in line and "has none" in line


def test_a_declared_domain_without_a_typical_gap_keeps_the_measured_one(
    split_data: Path,
) -> None:
    analysis = analyze(AnalyzeSettings(split_data, probes=FAST, declared=Declared(domain="other")))
    features = analysis.recommendation.features
    assert features.domain == "other" and features.domain_gap_origin == "measured"
    assert features.domain_gap == analysis.probes.domain_gap.score.value


def test_the_share_of_small_images_reaches_the_features_and_its_rule(tmp_path: Path) -> None:
    # 64 px images: the median is not below 64, but all are below half the 224 px input
    make_class_folders(tmp_path, {"cat": 6, "dog": 6})
    analysis = analyze(AnalyzeSettings(tmp_path, probes=None))
    rec = analysis.recommendation
    assert rec is not None and rec.features.low_resolution_share == 1.0
    assert "mostly-small-images" in {reason.rule for reason in rec.reasons}
