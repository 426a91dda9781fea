"""The ``pilot`` service: run a pilot within its budget, combine what it measured with the
literature's advice, save the result beside the runs, and add it to the experience store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.errors import InputError
from advisor.output import check_output_paths
from advisor.pilot.settings import PilotSettings
from advisor.progress import SILENT, Progress
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import SSL_ARMS

if TYPE_CHECKING:
    from advisor.advice.settings import ComputeSettings


@dataclass(frozen=True)
class PilotRun:
    """What a pilot left behind: its result, where the experience store kept it (None when it
    was not added), and whether this process is the one that reports it (with more than one
    process, only the first)."""

    result: PilotResult
    stored: Path | None
    primary: bool = True


def run_pilot(
    settings: PilotSettings,
    output: Path | None = None,
    store: bool = True,
    progress: Progress = SILENT,
    html: Path | None = None,
    compute: ComputeSettings | None = None,
) -> PilotRun:
    """Run the pilot; ``output`` and ``html``, where the caller will write the result and its
    page, are checked before any training. The budget's clock starts here, before the training
    libraries are imported, so that a time budget covers the whole command."""
    started = time.perf_counter()
    from advisor.advice import experience
    from advisor.pilot.runner import Pilot
    from advisor.services.combine import combine, with_recommendation

    runner = Pilot(settings, progress)
    protected = [p for p in (settings.data, *settings.unlabeled) if p is not None]
    check_output_paths({"output": output, "html": html}, protected, [settings.manifest])
    if html is not None and html.resolve() == (settings.out / "result.json").resolve():
        raise InputError("is the pilot's own result file, which `resume` reads", "html")
    result = runner.run(started)
    analysis = with_recommendation(runner.analysis(), compute, runner.timed)
    analysis = combine(analysis, result)
    result = result.model_copy(update={"recommendation": analysis.recommendation})
    runner.store.save_result(result.model_dump_json(indent=2))
    stored = None
    ssl = [d for d in result.differences if d.arm in SSL_ARMS]
    informative = result.complete and result.too_short is None
    if store and runner.primary and analysis.recommendation is not None and ssl and informative:
        best = max(ssl, key=lambda d: d.accuracy_points)
        stored = experience.append(
            experience.Experience(
                time=experience.now(),
                tool_version=result.tool_version,
                features=analysis.recommendation.features,
                arm=best.arm,
                measured_points=best.accuracy_points,
                low=best.low,
                high=best.high,
                seeds=len(result.plan.seeds),
                finetune_steps=min(x.finetune_steps for x in result.plan.steps),
                ssl_steps=min(x.ssl_steps for x in result.plan.steps),
            )
        )
    if stored is not None:
        progress.note(f"added to the experience store: {stored}")
    return PilotRun(result, stored, runner.primary)
