"""Planning the steps: robust calibration, and seeds that stay replicates when the budget runs
short."""

from __future__ import annotations

import pytest
from helpers import STORED_PILOT

from advisor.pilot import plan as plan_module
from advisor.pilot.plan import (
    CALIBRATION_STEPS,
    LENGTHEN,
    MIN_FINETUNE_STEPS,
    RESERVE_SECONDS,
    SLACK,
    more_seeds,
    replan,
    steps_within,
    time_steps,
)
from advisor.schema.pilot import PilotResult

BUDGET, STARTUP, FIXED, PER_STEP = 600.0, 30.0, 20.0, 4.0


def _three_seed_plan():
    plan = PilotResult.model_validate_json(STORED_PILOT.read_text()).plan
    first = steps_within(BUDGET - STARTUP - RESERVE_SECONDS, 3, FIXED, PER_STEP)
    steps = [s.model_copy(update={"finetune_steps": first}) for s in plan.steps]
    return plan.model_copy(update={"steps": steps, "budget_seconds": BUDGET}), first


def _run(ratio: float | list[float]):
    """Seeds that each take ``ratio`` times what the plan predicted (one for all, or one per
    seed), checked between seeds as the runner checks them: ``replan`` before each later seed,
    ``more_seeds`` once the seeds asked for have run."""
    plan, first = _three_seed_plan()
    ratios = ratio if isinstance(ratio, list) else [ratio] * 10
    elapsed, k = STARTUP, 0
    while k < len(plan.steps):
        left = BUDGET - elapsed - RESERVE_SECONDS
        if k:
            plan = replan(plan, k, left, FIXED, PER_STEP, ratios[k - 1])
            if k >= len(plan.steps):
                break
        elapsed += ratios[k] * (FIXED + PER_STEP * plan.steps[k].finetune_steps)
        k += 1
        if k == 3 == len(plan.steps):
            left = BUDGET - elapsed - RESERVE_SECONDS
            plan = more_seeds(plan, left, FIXED, PER_STEP, ratios[k - 1])
    return plan, first, elapsed


@pytest.mark.parametrize("ratio", [0.9, 1.0])
def test_a_run_on_time_or_a_little_faster_keeps_every_seed_and_its_steps(ratio: float) -> None:
    plan, first, elapsed = _run(ratio)
    assert [s.finetune_steps for s in plan.steps] == [first] * 3
    assert len(plan.seeds) == 3 and 0.85 * BUDGET <= elapsed <= BUDGET


@pytest.mark.parametrize("ratio", [0.5, 0.8])
def test_a_plan_measured_on_a_busy_machine_lengthens_the_later_seeds_alike(ratio: float) -> None:
    """Calibrated while something else ran, the first seed takes a fraction of its planned
    time: the two later seeds are lengthened alike (their protocol is the one the summary
    compares), and the run ends near its budget rather than far before it."""
    plan, first, elapsed = _run(ratio)
    steps = [s.finetune_steps for s in plan.steps]
    assert steps[0] == first and steps[1] == steps[2] >= LENGTHEN * first
    assert plan.steps[1].basis.startswith("lengthened before it started")
    assert plan.steps[2].ssl_steps == steps[2] and plan.steps[2].curve_steps[-1] == steps[2]
    assert "lengthened alike" in plan.choices[-1]
    assert 0.9 * BUDGET <= elapsed <= BUDGET


def test_a_machine_busy_until_the_last_seed_adds_replicates_of_the_same_steps() -> None:
    """Calibrated and first seeds run while something else took the machine, the last one
    alone on it: too late to lengthen anything, so more seeds of the same steps use the time
    left, and the run still ends near its budget."""
    plan, first, elapsed = _run([1.0, 1.0, 0.4, 0.4, 0.4, 0.4])
    steps = [s.finetune_steps for s in plan.steps]
    assert len(steps) > 3 and set(steps) == {first}
    assert plan.seeds == list(range(plan.seeds[0], plan.seeds[0] + len(steps)))
    assert plan.steps[-1].basis.startswith("added after the planned seeds")
    assert "more replicates than were asked for" in plan.choices[-1]
    assert 0.9 * BUDGET <= elapsed <= BUDGET


def test_no_replicates_are_added_to_a_run_of_two_protocols_or_without_the_time() -> None:
    plan, first = _three_seed_plan()
    assert more_seeds(plan, 10.0, FIXED, PER_STEP, 1.0) == plan
    shorter = plan.steps[2].model_copy(update={"finetune_steps": first // 2})
    mixed = plan.model_copy(update={"steps": [*plan.steps[:2], shorter]})
    assert more_seeds(mixed, BUDGET, FIXED, PER_STEP, 0.1) == mixed
    # never more than as many again as were asked for
    assert len(more_seeds(plan, 100 * BUDGET, FIXED, PER_STEP, 1.0).seeds) == 6


def test_a_first_seed_a_little_slow_keeps_every_seed_and_ends_near_the_budget() -> None:
    """Without the slack a 5% slower seed would drop the last seed and end the run a third
    early."""
    plan, first, elapsed = _run(1.05)
    assert [s.finetune_steps for s in plan.steps] == [first] * 3
    assert BUDGET < elapsed <= (1 + SLACK) * BUDGET


def test_a_slow_run_drops_seeds_rather_than_shortening_them() -> None:
    plan, first, elapsed = _run(1.2)
    assert [s.finetune_steps for s in plan.steps] == [first, first]
    assert len(plan.seeds) == 2 and len(plan.steps) == 2
    assert "1 seed dropped" in plan.choices[-1] and "at full length" in plan.choices[-1]
    # fewer seeds at full length can end a run early, never late
    assert elapsed <= 1.1 * BUDGET


def test_only_when_no_seed_fits_at_full_length_are_the_rest_shortened_alike() -> None:
    plan, first, elapsed = _run(1.8)
    steps = [s.finetune_steps for s in plan.steps]
    assert steps[0] == first and len(steps) == 2
    assert first // 2 <= steps[1] < first
    assert plan.steps[1].basis.startswith("shortened before it started")
    assert plan.steps[1].ssl_steps == steps[1] and plan.steps[1].curve_steps[-1] == steps[1]
    assert elapsed <= 1.1 * BUDGET


def test_a_run_far_too_slow_stops_after_the_first_seed() -> None:
    plan, first, _ = _run(3.0)
    assert [s.finetune_steps for s in plan.steps] == [first]
    assert plan.seeds == plan.seeds[:1]


def test_calibration_takes_the_median_step_and_measures_again_what_cannot_be_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A clock that hiccups: the first reading has one step 50x too slow (the median ignores
    it); then a reading whose steps add up to far less than the phase took (the machine changed
    speed while measuring) is measured again."""
    readings = iter(
        [
            [0.5] + [0.1] * (CALIBRATION_STEPS - 1) + [5.0],  # one slow step: a median of 0.1
        ]
    )
    now = [0.0]
    monkeypatch.setattr(plan_module.time, "perf_counter", lambda: now[0])

    def run(steps: int, on_step) -> None:
        for duration in next(readings):
            now[0] += duration
            on_step(0)

    per_step, start = time_steps(run)
    assert per_step == pytest.approx(0.1)
    assert start == pytest.approx(0.4)

    readings = iter(
        [
            [0.5] + [0.01] * CALIBRATION_STEPS,  # then 30 s pass before the phase returns
            [0.5] + [0.2] * CALIBRATION_STEPS,
        ]
    )
    late = [True]

    def stalled(steps: int, on_step) -> None:
        run(steps, on_step)
        if late[0]:
            late[0] = False
            now[0] += 30.0

    per_step, _ = time_steps(stalled)
    assert per_step == pytest.approx(0.2)


def test_the_smallest_budget_keeps_the_minimum_steps() -> None:
    assert steps_within(100.0, 1, 0.0, 100.0 / MIN_FINETUNE_STEPS) == MIN_FINETUNE_STEPS
