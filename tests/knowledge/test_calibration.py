"""The domain-gap calibration as shipped: its rule is what a fresh fit of its own measurements
gives, and it puts the held-out image sets in the order of their kinds."""

from __future__ import annotations

import pytest

from advisor.knowledge.calibration import (
    SIGNALS,
    AnchorSet,
    domain_gap_calibration,
    fit_rule,
    misordered,
)

CALIBRATION = domain_gap_calibration()


@pytest.mark.parametrize("resolution", sorted(CALIBRATION.resolutions))
def test_the_shipped_rule_is_a_fresh_fit_of_the_shipped_measurements(resolution: int) -> None:
    at = CALIBRATION.resolutions[resolution]
    fresh = fit_rule(at.measured, CALIBRATION.sets, SIGNALS)
    assert fresh.intercept == pytest.approx(at.rule.intercept, rel=1e-9, abs=1e-12)
    for signal, weight in at.rule.weights.items():
        assert fresh.weights[signal] == pytest.approx(weight, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("resolution", [160, 224])  # the CPU and the GPU defaults
def test_held_out_sets_fall_in_the_order_of_their_kinds(resolution: int) -> None:
    scores = CALIBRATION.scores_at(resolution)
    assert misordered(scores, CALIBRATION.sets) == []
    held_out = {n for n, a in CALIBRATION.sets.items() if a.role == "held-out"}
    assert held_out >= {"photos", "faces", "mnist", "solar-cells", "gaussian-noise"}


def test_a_rule_fitted_on_one_kind_per_level_reproduces_the_levels() -> None:
    sets = {
        name: AnchorSet(kind=name, source="test", role="calibration", level=level)
        for name, level in (("near", 0.0), ("middle", 0.5), ("far", 1.0))
    }
    measured = {
        name: [{"batchnorm_divergence": 0.1 + 0.4 * a.level, "source_entropy": 0.3 + 0.5 * a.level}]
        for name, a in sets.items()
    }
    rule = fit_rule(measured, sets, SIGNALS)
    for name, anchor in sets.items():
        assert rule.score(measured[name][0]) == pytest.approx(anchor.level, abs=1e-9)


def test_misordered_pairs_are_found_beyond_the_tolerance() -> None:
    sets = {
        name: AnchorSet(kind=name, source="test", role="held-out", level=level)
        for name, level in (("near", 0.0), ("far", 1.0))
    }
    assert misordered({"near": 0.52, "far": 0.5}, sets) == []
    assert misordered({"near": 0.6, "far": 0.5}, sets) == [("near", "far")]


def test_between_measured_resolutions_the_rule_is_interpolated() -> None:
    low, high = 128, 160
    middle = CALIBRATION.rule_at(144)
    for signal in SIGNALS:
        ends = sorted(CALIBRATION.resolutions[r].rule.weights[signal] for r in (low, high))
        assert ends[0] <= middle.weights[signal] <= ends[1]
