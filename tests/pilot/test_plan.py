"""Planning the steps: robust calibration, and seeds that stay replicates when the budget runs
short."""

from __future__ import annotations

import pytest
from helpers import STORED_PILOT

from advisor.errors import InputError
from advisor.pilot import plan as plan_module
from advisor.pilot.budget import parse_budget
from advisor.pilot.plan import (
    CALIBRATION_STEPS,
    COSTS,
    MIN_FINETUNE_STEPS,
    RESERVE_SECONDS,
    more_seeds,
    replan,
    seed_cost,
    shape,
    steps_within,
    time_steps,
)
from advisor.pilot.stats import PROTOCOL_RANGE
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
    ``more_seeds`` whenever the plan's seeds have all run."""
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
        if k == len(plan.steps):
            left = BUDGET - elapsed - RESERVE_SECONDS
            plan = more_seeds(plan, 3, left, FIXED, PER_STEP, ratios[k - 1])
    return plan, first, elapsed


def _one_protocol(plan, first: int) -> bool:
    low, high = PROTOCOL_RANGE
    return all(low * first <= s.finetune_steps <= high * first for s in plan.steps)


@pytest.mark.parametrize("ratio", [0.9, 1.0, 1.1])
def test_a_run_near_its_calibration_keeps_every_seed_and_ends_within_a_tenth_of_the_budget(
    ratio: float,
) -> None:
    plan, first, elapsed = _run(ratio)
    assert len(plan.seeds) == 3 and plan.steps[0].finetune_steps == first
    assert _one_protocol(plan, first)
    assert 0.9 * BUDGET <= elapsed <= 1.1 * BUDGET


def test_a_run_on_time_is_not_re_planned() -> None:
    plan, first, _ = _run(1.0)
    assert [s.finetune_steps for s in plan.steps] == [first] * 3
    assert all(s.basis == plan.steps[0].basis for s in plan.steps)


@pytest.mark.parametrize("ratio", [0.4, 0.5, 0.8])
def test_a_plan_measured_on_a_busy_machine_spends_the_time_it_freed(ratio: float) -> None:
    """Calibrated while something else ran, every seed takes a fraction of its planned time:
    the later seeds are lengthened alike within the protocol's range, replicates are added, and
    the run ends within 10% of its budget rather than far before it."""
    plan, first, elapsed = _run(ratio)
    steps = [s.finetune_steps for s in plan.steps]
    assert steps[0] == first and steps[1] > first and _one_protocol(plan, first)
    assert plan.steps[1].basis.startswith("lengthened before it started")
    assert plan.steps[-1].ssl_steps == steps[-1] and plan.steps[-1].curve_steps[-1] == steps[-1]
    assert len(plan.seeds) <= 6
    assert 0.9 * BUDGET <= elapsed <= 1.1 * BUDGET


def test_a_machine_busy_until_the_last_seed_adds_replicates() -> None:
    plan, first, elapsed = _run([1.0, 1.0, 0.4, 0.4, 0.4, 0.4])
    assert len(plan.steps) > 3 and _one_protocol(plan, first)
    assert plan.seeds == list(range(plan.seeds[0], plan.seeds[0] + len(plan.steps)))
    assert plan.steps[-1].basis.startswith("added after the planned seeds")
    assert "more replicates than the plan had" in " ".join(plan.choices)
    assert 0.9 * BUDGET <= elapsed <= 1.1 * BUDGET


@pytest.mark.parametrize("ratio", [1.2, 1.35, 1.8])
def test_a_slow_run_shortens_or_drops_later_seeds_and_still_ends_on_budget(ratio: float) -> None:
    plan, first, elapsed = _run(ratio)
    steps = [s.finetune_steps for s in plan.steps]
    assert steps[0] == first and all(s < first for s in steps[1:]) and _one_protocol(plan, first)
    assert plan.steps[1].basis.startswith("shortened before it started")
    assert 0.9 * BUDGET <= elapsed <= 1.1 * BUDGET


def test_a_run_far_too_slow_stops_after_the_first_seed() -> None:
    plan, first, _ = _run(3.0)
    assert [s.finetune_steps for s in plan.steps] == [first]
    assert "no later seed fits" in plan.choices[-1] and "2 seeds dropped" in plan.choices[-1]


def test_replicates_need_the_time_and_stop_at_twice_the_seeds_asked() -> None:
    plan, _ = _three_seed_plan()
    assert more_seeds(plan, 3, 10.0, FIXED, PER_STEP, 1.0) == plan
    assert len(more_seeds(plan, 3, 100 * BUDGET, FIXED, PER_STEP, 1.0).seeds) == 6
    assert len(more_seeds(plan, 1, 100 * BUDGET, FIXED, PER_STEP, 1.0).seeds) == 3


ALL = ["tl", "tl+st", "tl+ssl", "ssl", "scratch"]
COST = {**dict.fromkeys(COSTS, 0.5), "ft": 1.0, "ssl": 2.0}


def _seconds_for(arms: list[str], seeds: int, steps: int) -> float:
    fixed, per_step = seed_cost(COST, arms)
    return seeds * (fixed + per_step * steps) + 1


def test_a_budget_that_holds_what_was_asked_cuts_nothing() -> None:
    fits = shape(parse_budget("10m"), ALL, 3, COST, _seconds_for(ALL, 3, 40))
    assert (fits.arms, fits.seeds, fits.steps, fits.cut) == (ALL, 3, 40, [])


def test_a_small_budget_drops_seeds_first_then_the_least_informative_arms() -> None:
    budget = parse_budget("2m")
    fits = shape(budget, ALL, 3, COST, _seconds_for(ALL, 2, MIN_FINETUNE_STEPS))
    assert (fits.arms, fits.seeds) == (ALL, 2) and fits.cut == ["3 seeds reduced to 2"]
    fits = shape(budget, ALL, 3, COST, _seconds_for(ALL, 1, MIN_FINETUNE_STEPS))
    assert (fits.arms, fits.seeds) == (ALL, 1)
    without = ["tl", "tl+st", "tl+ssl", "ssl"]
    fits = shape(budget, ALL, 3, COST, _seconds_for(without, 1, MIN_FINETUNE_STEPS))
    assert (fits.arms, fits.seeds) == (without, 1)
    assert fits.cut == ["3 seeds reduced to 1", "scratch left out"]
    main = ["tl", "tl+ssl"]
    fits = shape(budget, ALL, 3, COST, _seconds_for(main, 1, MIN_FINETUNE_STEPS))
    assert (fits.arms, fits.steps) == (main, MIN_FINETUNE_STEPS)
    assert fits.cut[-1] == "scratch, ssl, tl+st left out"


def test_only_a_budget_without_one_seed_of_tl_and_tl_ssl_is_refused_with_the_least_that_fits() -> (
    None
):
    budget = parse_budget("30s")
    left = _seconds_for(["tl", "tl+ssl"], 1, MIN_FINETUNE_STEPS) - 2
    with pytest.raises(InputError) as refused:
        shape(budget, ALL, 3, COST, left)
    need = (
        int(
            30
            - left
            + sum(seed_cost(COST, ["tl", "tl+ssl"])[i] * (1, MIN_FINETUNE_STEPS)[i] for i in (0, 1))
        )
        + 1
    )
    assert "tl and tl+ssl" in str(refused.value) and f"give at least {need}s" in str(refused.value)
    # never fewer than tl and one other arm, whichever the user chose
    two = ["tl", "ssl"]
    with pytest.raises(InputError, match="one seed of tl and ssl"):
        shape(budget, two, 1, COST, _seconds_for(two, 1, MIN_FINETUNE_STEPS) - 2)


def test_a_step_budget_shrinks_the_same_way() -> None:
    fits = shape(parse_budget("40steps"), ALL, 3, COST, 0.0)
    # 5 arms + 2 SSL phases = 7 step units a seed; 1 seed of 5 steps needs 35
    assert (fits.seeds, fits.steps) == (1, 5)
    with pytest.raises(InputError, match="give at least 15steps"):
        shape(parse_budget("12steps"), ALL, 3, COST, 0.0)


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
