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


def _with(units, arm: str, accuracy: float, seed: int | None = None):
    """The units with ``arm`` (of one seed, or all) scoring ``accuracy``, its images right in
    order until the share is reached."""
    changed = []
    for u in units:
        if u.arm == arm and (seed is None or u.seed == seed):
            right = round(accuracy * len(u.correct))
            correct = [True] * right + [False] * (len(u.correct) - right)
            u = u.model_copy(update={"accuracy": right / len(u.correct), "correct": correct})
        changed.append(u)
    return changed


def test_an_arm_at_chance_or_below_its_own_start_is_a_failed_run_not_evidence() -> None:
    kept = _stored_result()
    plan = kept.plan.model_copy(update={"majority_share": 0.25})
    units = _with(kept.units, "tl-linear", 0.80)
    units = _with(units, "tl", 0.90)
    units = _with(units, "tl+ssl", 0.95, seed=1)
    units = _with(units, "tl+ssl", 0.60, seed=0)  # fine-tuning lost what it started from
    units = _with(units, "ssl", 0.27)  # no better than the largest class
    result = summarise(plan, units, 100.0, kept.sources)
    failed = {(f.arm, f.seed) for f in result.failed_runs}
    assert ("tl+ssl", 0) in failed and ("tl+ssl", 1) not in failed
    assert {("ssl", 0), ("ssl", 1), ("ssl", 2)} <= failed
    assert ("tl", 0) not in failed
    assert result.measured_best not in {"tl+ssl", "ssl"}
    assert sum(c.startswith("Failed run") for c in result.caveats) == len(failed)


def test_the_frozen_reading_competes_and_says_so() -> None:
    kept = _stored_result()
    units = _with(_with(kept.units, "tl-linear", 0.95), "tl", 0.70)
    result = summarise(kept.plan, units, 100.0, kept.sources)
    assert result.winner == "tl-linear"
    assert any("linear protocol" in c for c in result.caveats)


def test_seeds_of_another_protocol_are_kept_out_of_the_means() -> None:
    kept = _stored_result()
    steps = list(kept.plan.steps)
    steps[2] = steps[2].model_copy(update={"finetune_steps": 5, "ssl_steps": 5})
    plan = kept.plan.model_copy(update={"steps": steps})
    result = summarise(plan, kept.units, 100.0, kept.sources)
    assert all(a.seeds == 2 for a in result.arms)
    assert any("seed 2 (5 steps)" in c for c in result.caveats)
    # lengthened later seeds outnumber the first: the summary compares them
    first = steps[0].finetune_steps
    longer = [s.model_copy(update={"finetune_steps": 2 * first}) for s in kept.plan.steps[1:]]
    plan = kept.plan.model_copy(update={"steps": [kept.plan.steps[0], *longer]})
    result = summarise(plan, kept.units, 100.0, kept.sources)
    assert all(a.seeds == 2 for a in result.arms)
    assert any(
        f"seed 0 ({first} steps) ran another number of steps and is" in c for c in result.caveats
    )


def test_self_supervision_that_made_the_features_worse_is_reported() -> None:
    kept = _stored_result()
    result = summarise(kept.plan, kept.units, 100.0, kept.sources)
    assert any("made the tl+ssl features worse" in c for c in result.caveats)
