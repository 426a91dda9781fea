"""A pilot's measurement combined with the literature's prior."""

from __future__ import annotations

from helpers import STORED_PILOT

from advisor.advice.decide import combine_with_pilot, recommend
from advisor.advice.features import features_from_card
from advisor.schema.card import DatasetCard
from advisor.schema.pilot import PairedDifference, PilotResult


def _stored_result() -> PilotResult:
    return PilotResult.model_validate_json(STORED_PILOT.read_text())


def _pilot(points: float, low: float, high: float, improving: bool | None) -> PilotResult:
    result = _stored_result()
    difference = PairedDifference(
        arm="tl+ssl", accuracy_points=points, low=low, high=high, level=0.95
    )
    return result.model_copy(update={"differences": [difference], "ssl_still_improving": improving})


def _card(**changes):
    fields = dict(
        name="t",
        task="classification",
        domain="natural",
        labeled_images=5000,
        unlabeled_images=20000,
        classes=10,
        image_size=256,
    )
    return features_from_card(DatasetCard.model_validate({**fields, **changes}))


def test_a_clear_pilot_moves_the_verdict_and_a_truncated_one_does_not() -> None:
    prior = recommend(_card())
    assert prior.verdict == "tl"
    moved = combine_with_pilot(prior, _pilot(6.0, 3.0, 9.0, False))
    assert moved.verdict == "tl+ssl" and moved.pilot is not None
    assert moved.pilot.weight > 0.5
    assert moved.expected_gain.low > 0
    vague = combine_with_pilot(prior, _pilot(1.0, -8.0, 10.0, False))
    assert vague.pilot.weight < moved.pilot.weight
    truncated = combine_with_pilot(prior, _pilot(-5.0, -8.0, -2.0, True))
    assert truncated.verdict == prior.verdict and truncated.pilot is None
    assert any("still improving" in c for c in truncated.caveats)
