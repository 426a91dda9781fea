"""The summary of a pilot: ties, bootstrap shares, and runs over their budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import STORED_PILOT

from advisor.pilot import stats
from advisor.pilot.stats import PROTOCOL_RANGE, midway_positions, summarise
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
    """A frozen reading clearly above every fine-tuned arm is the winner; the pilot is too
    short to judge the fine-tuned arms, which it says, with a longer budget."""
    kept = _stored_result()
    units = _with(_with(kept.units, "tl-linear", 0.95), "tl", 0.70)
    result = summarise(kept.plan, units, 100.0, kept.sources)
    assert result.winner == "tl-linear"
    assert any("linear protocol" in c for c in result.caveats)
    assert result.too_short is not None and "--budget" in result.too_short


def test_seeds_outside_the_protocols_range_are_kept_out_of_the_means() -> None:
    """Later seeds re-planned within PROTOCOL_RANGE of the first seed's steps are replicates;
    a seed outside it is listed with the units only."""
    kept = _stored_result()
    first = kept.plan.steps[0].finetune_steps
    low, high = PROTOCOL_RANGE
    steps = list(kept.plan.steps)
    steps[1] = steps[1].model_copy(update={"finetune_steps": math.ceil(low * first)})
    steps[2] = steps[2].model_copy(update={"finetune_steps": int(high * first)})
    plan = kept.plan.model_copy(update={"steps": steps})
    result = summarise(plan, kept.units, 100.0, kept.sources)
    assert all(a.seeds == 3 for a in result.arms) and result.compared_seeds == [0, 1, 2]
    steps[2] = steps[2].model_copy(update={"finetune_steps": int(high * first) + 1})
    steps[1] = steps[1].model_copy(update={"finetune_steps": math.ceil(low * first) - 1})
    plan = kept.plan.model_copy(update={"steps": steps})
    result = summarise(plan, kept.units, 100.0, kept.sources)
    assert all(a.seeds == 1 for a in result.arms) and result.compared_seeds == [0]
    assert any(
        f"steps (0); seed 1 ({math.ceil(low * first) - 1} steps), seed 2 "
        f"({int(high * first) + 1} steps) ran another number" in c
        for c in result.caveats
    )


def test_self_supervision_that_made_the_features_worse_is_reported() -> None:
    kept = _stored_result()
    result = summarise(kept.plan, kept.units, 100.0, kept.sources)
    assert any("made the tl+ssl features worse" in c for c in result.caveats)


def _halfway(units, arm: str, accuracy: float):
    """The units with ``arm`` read halfway at ``accuracy`` on the seed's halfway images."""
    changed = []
    for u in units:
        if u.arm == arm:
            n = len(midway_positions(u.seed, len(u.correct)))
            right = round(accuracy * n)
            halfway = [True] * right + [False] * (n - right)
            u = u.model_copy(update={"midway_step": 6, "midway_correct": halfway})
        changed.append(u)
    return changed


def _scored(tl: float, linear: float, ssl: float):
    kept = _stored_result()
    units = _with(_with(_with(kept.units, "tl-linear", linear), "tl", tl), "tl+ssl", ssl)
    return kept, units


def test_a_pilot_whose_tl_has_not_left_the_frozen_reading_names_no_fine_tuned_winner() -> None:
    kept, units = _scored(tl=0.80, linear=0.80, ssl=0.97)
    result = summarise(kept.plan, units, 100.0, kept.sources)
    assert result.measured_best == "tl+ssl" and result.winner is None
    assert result.too_short is not None and result.too_short in result.caveats
    assert "Too short to judge" in result.too_short and "--budget" in result.too_short


def test_a_pilot_whose_tl_left_the_frozen_reading_names_its_winner() -> None:
    kept, units = _scored(tl=0.88, linear=0.70, ssl=0.98)
    result = summarise(kept.plan, units, 100.0, kept.sources)
    assert result.too_short is None and result.winner == "tl+ssl"


def test_a_curve_still_rising_widens_both_sides_and_sets_nothing_aside() -> None:
    """The referee is even-handed: self-supervision still improving when transfer clearly won
    no longer withholds transfer's win; it widens the self-supervised arms' intervals on both
    sides, as a difference that still moved over the second half of fine-tuning does."""
    kept, units = _scored(tl=0.97, linear=0.70, ssl=0.60)
    rising = [
        u.model_copy(
            update={
                "curve": [
                    p.model_copy(update={"knn_accuracy": 0.5 + 0.05 * k})
                    for k, p in enumerate(u.curve)
                ]
            }
        )
        if u.arm in ("ssl", "tl+ssl")
        else u
        for u in units
    ]
    result = summarise(kept.plan, rising, 100.0, kept.sources)
    assert result.ssl_still_improving and result.winner == "tl"
    d = next(d for d in result.differences if d.arm == "tl+ssl")
    assert d.low < d.sampling_low and d.high > d.sampling_high
    steady = summarise(kept.plan, units, 100.0, kept.sources)
    calm = next(d for d in steady.differences if d.arm == "tl+ssl")
    assert d.high - d.low > calm.high - calm.low


def test_a_difference_that_moved_over_the_second_half_is_widened_by_the_move() -> None:
    kept, units = _scored(tl=0.90, linear=0.70, ssl=0.95)
    still = _halfway(_halfway(units, "tl", 0.90), "tl+ssl", 0.95)
    moving = _halfway(_halfway(units, "tl", 0.70), "tl+ssl", 0.95)  # tl climbed 20 points
    calm = next(d for d in summarise(kept.plan, still, 1.0, kept.sources).differences)
    moved = next(d for d in summarise(kept.plan, moving, 1.0, kept.sources).differences)
    assert calm.arm == moved.arm == "tl+ssl"
    assert abs(calm.moved_points) < 3 and moved.moved_points < -15
    assert moved.sampling_low == calm.sampling_low
    assert moved.low < calm.low - 10 and moved.high > calm.high + 10
    assert calm.drift_points == stats.DRIFT_POINTS


def test_a_tl_level_with_the_frozen_reading_is_judged_unless_it_was_still_climbing() -> None:
    """Level with the frozen reading and flat over its second half, tl has settled there (a
    finding: the winner stands); level and still climbing, fine-tuning had not begun to pay."""
    kept, units = _scored(tl=0.80, linear=0.80, ssl=0.97)
    flat = _halfway(_halfway(units, "tl", 0.80), "tl+ssl", 0.97)
    settled = summarise(kept.plan, flat, 100.0, kept.sources)
    assert settled.too_short is None and settled.winner == "tl+ssl"
    rising = _halfway(_halfway(units, "tl", 0.55), "tl+ssl", 0.97)
    short = summarise(kept.plan, rising, 100.0, kept.sources)
    assert short.winner is None and short.measured_best == "tl+ssl"
    assert "still climbing (+25" in short.too_short and "--budget 15m, 5x" in short.too_short


def test_the_terminal_says_a_pilot_was_too_short_and_how_its_intervals_were_widened() -> None:
    from rich.console import Console

    from advisor.render.pilot import render_pilot

    kept, units = _scored(tl=0.80, linear=0.80, ssl=0.97)
    result = summarise(kept.plan, units, 100.0, kept.sources)
    console = Console(record=True, width=200)
    render_pilot(console, result)
    text = console.export_text()
    assert "Measured winner: too short to judge (best so far: tl+ssl)" in text
    assert "widened for what a longer run may still change" in text
