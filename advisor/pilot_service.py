"""What follows a finished pilot: its result saved beside the runs, the literature's prior
combined with the measurement, and the experience store updated."""

from __future__ import annotations

from pathlib import Path

from advisor import experience
from advisor.decide import combine_with_pilot, features_from_analysis, recommend
from advisor.output import write_atomically
from advisor.pilot.runner import Pilot
from advisor.schema import PilotResult


def finish_pilot(
    runner: Pilot, result: PilotResult, store: bool = True
) -> tuple[PilotResult, Path | None]:
    features = features_from_analysis(runner.analysis())
    if features is not None:
        combined = combine_with_pilot(recommend(features), result)
        result = result.model_copy(update={"recommendation": combined})
    write_atomically(runner.settings.out / "result.json", result.model_dump_json(indent=2))
    stored = None
    ssl = [d for d in result.differences if d.arm in ("ssl", "tl+ssl")]
    if store and features is not None and ssl and result.complete:
        best = max(ssl, key=lambda d: d.accuracy_points)
        stored = experience.append(
            experience.Experience(
                time=experience.now(),
                tool_version=result.tool_version,
                features=features,
                arm=best.arm,
                measured_points=best.accuracy_points,
                low=best.low,
                high=best.high,
                seeds=len(result.plan.seeds),
                finetune_steps=min(x.finetune_steps for x in result.plan.steps),
                ssl_steps=min(x.ssl_steps for x in result.plan.steps),
            )
        )
    return result, stored
