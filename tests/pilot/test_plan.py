"""Re-planning later seeds from the measured time of earlier ones."""

from __future__ import annotations

import pytest
from helpers import STORED_PILOT

from advisor.pilot.plan import RESERVE_SECONDS, replan, steps_within
from advisor.schema.pilot import PilotResult


def _stored_result() -> PilotResult:
    return PilotResult.model_validate_json(STORED_PILOT.read_text())


@pytest.mark.parametrize("ratio", [0.7, 1.0, 1.4])
def test_replanning_keeps_a_time_budget_when_the_cost_model_misses(ratio: float) -> None:
    """A run whose seeds cost ``ratio`` times what the plan predicted still ends within 10% of
    its budget: the seeds after the first are re-planned from the time the first ones took."""
    plan = _stored_result().plan
    budget, startup, fixed, per_step = 600.0, 30.0, 20.0, 4.0
    first = steps_within(budget - startup - RESERVE_SECONDS, 3, fixed, per_step)
    plan = plan.model_copy(
        update={"steps": [s.model_copy(update={"finetune_steps": first}) for s in plan.steps]}
    )
    elapsed, spent = startup, 0.0
    for k in range(len(plan.steps)):
        if k:
            plan = replan(plan, k, spent, budget - elapsed - RESERVE_SECONDS, fixed, per_step)
        took = ratio * (fixed + per_step * plan.steps[k].finetune_steps)
        spent, elapsed = spent + took, elapsed + took
    assert 0.9 * budget <= elapsed <= 1.1 * budget
    assert plan.steps[0].finetune_steps == first
    assert abs(plan.steps[1].finetune_steps - plan.steps[2].finetune_steps) <= 1
    assert plan.steps[1].ssl_steps == plan.steps[1].finetune_steps
    assert plan.steps[2].curve_steps[-1] == plan.steps[2].ssl_steps
    if ratio > 1:
        assert plan.steps[1].finetune_steps < first
        assert "re-planned after 1 seed took" in plan.steps[1].basis
    assert "re-planned after 2 seeds" in plan.steps[2].basis
