"""A pilot's measurement combined with the literature's prior."""

from __future__ import annotations

import math

from helpers import STORED_PILOT, make_card
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from advisor.advice.decide import combine_with_pilot, recommend
from advisor.advice.features import features_from_card
from advisor.schema.pilot import FailedRun, PairedDifference, PilotResult


def _stored_result() -> PilotResult:
    return PilotResult.model_validate_json(STORED_PILOT.read_text())


def _pilot(points: float, low: float, high: float, improving: bool | None) -> PilotResult:
    result = _stored_result()
    difference = PairedDifference(
        arm="tl+ssl", accuracy_points=points, low=low, high=high, level=0.95
    )
    return result.model_copy(update={"differences": [difference], "ssl_still_improving": improving})


def _card(**changes):
    return features_from_card(make_card(**changes))


def test_a_clear_pilot_moves_the_verdict_whichever_way_it_points() -> None:
    """A result counts in either direction: self-supervision still improving when it lost no
    longer sets the loss aside (the pilot's interval carries what a longer run may change)."""
    prior = recommend(_card(fine_grained=True))
    assert prior.verdict == "tl"
    moved = combine_with_pilot(prior, _pilot(6.0, 3.0, 9.0, False))
    assert moved.verdict == "tl+ssl" and moved.pilot is not None
    assert moved.pilot.weight > 0.5
    assert moved.expected_gain.low > 0
    vague = combine_with_pilot(prior, _pilot(1.0, -8.0, 10.0, False))
    assert vague.pilot.weight < moved.pilot.weight
    losing = combine_with_pilot(prior, _pilot(-5.0, -8.0, -2.0, True))
    assert losing.verdict == "tl" and losing.pilot is not None and losing.pilot.weight > 0.5
    assert losing.arms["tl+ssl"].probability < prior.arms["tl+ssl"].probability
    assert not any("not counted against them" in c for c in losing.caveats)


def test_a_pilot_too_short_to_judge_is_not_combined() -> None:
    prior = recommend(_card(fine_grained=True))
    short = _pilot(6.0, 3.0, 9.0, False).model_copy(update={"too_short": "Too short to judge."})
    combined = combine_with_pilot(prior, short)
    assert combined.pilot is None and combined.verdict == prior.verdict
    assert combined.probability == prior.probability
    assert any("too short to judge" in c and "Too short to judge." in c for c in combined.caveats)


def test_no_pilot_makes_the_combination_certain() -> None:
    prior = recommend(_card(domain="medical-xray", unlabeled_images=500_000))
    sure = combine_with_pilot(prior, _pilot(40.0, 39.0, 41.0, False))
    assert sure.verdict == "tl+ssl" and sure.probability <= 0.99
    assert sure.arms["tl+ssl"].probability <= 0.99
    against = combine_with_pilot(prior, _pilot(-40.0, -41.0, -39.0, False))
    assert against.verdict == "tl" and against.probability <= 0.99
    assert against.arms["tl+ssl"].probability >= 0.01


@settings(max_examples=40, deadline=None)
@given(
    points=st.floats(-15, 15),
    half_width=st.floats(0.5, 20),
    labeled=st.sampled_from([300, 5000, 200_000]),
    gap=st.floats(0, 1),
)
def test_the_combination_is_never_surer_than_both_inputs(
    points: float, half_width: float, labeled: int, gap: float
) -> None:
    """The combined probability that the arm beats transfer lies between the literature's and
    the pilot's own (its measured difference over its interval's spread)."""
    prior = recommend(_card(labeled_images=labeled, domain_gap=gap))
    low, high = points - half_width, points + half_width
    combined = combine_with_pilot(prior, _pilot(points, low, high, False))
    p_prior = prior.arms["tl+ssl"].probability
    spread = (math.asinh(high) - math.asinh(low)) / (2 * norm.ppf(0.975))
    p_pilot = float(norm.cdf(math.asinh(points) / max(spread, 1e-3)))
    p = combined.arms["tl+ssl"].probability
    low, high = sorted((p_prior, p_pilot))
    assert min(max(low, 0.01), 0.99) - 0.001 <= p <= min(max(high, 0.01), 0.99) + 0.001


def test_a_clear_pilot_against_self_supervision_moves_the_verdict_to_transfer() -> None:
    prior = recommend(_card(domain="medical-xray", unlabeled_images=500_000))
    assert prior.verdict == "tl+ssl"
    moved = combine_with_pilot(prior, _pilot(-6.0, -9.0, -3.0, False))
    assert moved.verdict == "tl" and not moved.toss_up


def test_flip_conditions_stay_true_after_a_pilot_changed_the_verdict() -> None:
    pilot = _pilot(0.5, -6.0, 7.0, False)
    features = _card(fine_grained=True, labeled_images=1_500_000)
    prior = recommend(features)
    combined = combine_with_pilot(prior, pilot)
    assert prior.verdict == "tl" != combined.verdict  # the pilot changed it
    assert combined.flip
    for flip in combined.flip:
        changed = features.model_dump()
        changed[flip.feature] = int(flip.value) if flip.feature.endswith("images") else flip.value
        if changed["unlabeled_images"] == 0:
            changed["pool_relation"] = "same"  # the default relation follows the pool
        changed["pool_images"] = changed["unlabeled_images"] + changed["labeled_images"]
        moved = features.model_validate(changed)
        after = combine_with_pilot(recommend(moved), pilot)
        assert after.verdict == flip.verdict != combined.verdict, flip.text


def test_a_failed_arm_is_not_evidence() -> None:
    prior = recommend(_card())
    pilot = _pilot(6.0, 3.0, 9.0, False)
    failed = FailedRun(arm="tl+ssl", seed=0, reason="ended at chance")
    combined = combine_with_pilot(prior, pilot.model_copy(update={"failed_runs": [failed]}))
    assert combined.verdict == prior.verdict and combined.pilot is None


def test_a_frozen_reading_that_wins_sets_the_recipe() -> None:
    prior = recommend(_card())
    linear = PairedDifference(arm="tl-linear", accuracy_points=4.0, low=1.0, high=7.0, level=0.95)
    ssl = PairedDifference(arm="tl+ssl", accuracy_points=-2.0, low=-5.0, high=1.0, level=0.95)
    pilot = _stored_result().model_copy(
        update={"differences": [ssl, linear], "winner": "tl-linear", "ssl_still_improving": False}
    )
    combined = combine_with_pilot(prior, pilot)
    assert combined.verdict == "tl"
    steps = {item.step: item for item in combined.recipe}
    assert "fine-tune" not in steps and steps["protocol"].from_pilot
    assert "+4.0 points" in steps["protocol"].detail
