"""The summary of a pilot: ties, bootstrap shares, and runs over their budget."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import STORED_PILOT

from advisor.pilot import stats
from advisor.pilot.stats import summarise
from advisor.schema.pilot import PilotResult


def _stored_result() -> PilotResult:
    return PilotResult.model_validate_json(STORED_PILOT.read_text())


def test_a_run_far_over_its_time_budget_says_so() -> None:
    kept = _stored_result()
    within = summarise(kept.plan, kept.units, 195.0, kept.sources)
    assert not any("over its budget" in c for c in within.caveats)
    over = summarise(kept.plan, kept.units, 250.0, kept.sources)
    assert any("250 s, 39% over its budget of 3m" in c for c in over.caveats)


def test_arms_tied_at_the_top_have_no_measured_best() -> None:
    kept = _stored_result()
    # both pretrained arms score every evaluation image right, as on an easy far-domain world
    units = [
        u.model_copy(update={"correct": [True] * len(u.correct), "accuracy": 1.0})
        if u.arm in ("tl", "tl+ssl")
        else u
        for u in kept.units
    ]
    tied = summarise(kept.plan, units, 100.0, kept.sources)
    assert tied.measured_best is None and tied.winner is None and tied.confidence is None
    assert any(c.startswith("tl and tl+ssl tie at 100.0% accuracy") for c in tied.caveats)
    assert not any("No arm is clearly best" in c for c in tied.caveats)
    assert [d.accuracy_points for d in tied.differences if d.arm == "tl+ssl"] == [0.0]


def test_bootstrap_draws_that_tie_are_shared() -> None:
    draws = {"tl": np.ones(4), "tl+ssl": np.ones(4), "ssl": np.array([0.5, 1.0, 1.0, 1.0])}
    shares = stats.best_share(draws)
    assert shares == pytest.approx({"tl": 0.375, "tl+ssl": 0.375, "ssl": 0.25})
