"""The literature's advice for an analysed dataset, and that advice combined with what a pilot
measured on it: one place for both, whether the pilot has just run or was run before."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from advisor.errors import InputError
from advisor.schema.analysis import Analysis
from advisor.schema.cost import Throughput
from advisor.schema.pilot import PilotResult

if TYPE_CHECKING:
    from advisor.advice.settings import ComputeSettings


def with_recommendation(
    analysis: Analysis,
    compute: ComputeSettings | None = None,
    throughput: Throughput | None = None,
) -> Analysis:
    """The analysis with the engine's recommendation, or with the reason it has none; its cost
    forecast divides by ``throughput``, else by the probes' measurement, else by a reference
    device's."""
    from advisor.advice.decide import recommend
    from advisor.advice.features import features_from_analysis, no_advice_reason

    features = features_from_analysis(analysis)
    if features is None:
        return analysis.model_copy(update={"no_advice": no_advice_reason(analysis)})
    if throughput is None and analysis.probes is not None:
        throughput = analysis.probes.throughput
    rec = recommend(
        features,
        compute=compute,
        throughput=throughput,
        architecture=throughput.architecture if throughput is not None else None,
    )
    return analysis.model_copy(update={"recommendation": rec})


def combine(analysis: Analysis, pilot: PilotResult) -> Analysis:
    """The analysis with its recommendation updated by the pilot's measurement."""
    from advisor.advice.decide import combine_with_pilot

    if analysis.recommendation is None:
        return analysis
    combined = combine_with_pilot(analysis.recommendation, pilot)
    return analysis.model_copy(update={"recommendation": combined})


def read_pilot(path: Path) -> PilotResult:
    """A pilot result written by ``advisor pilot``."""
    if not path.is_file():
        raise InputError(f"{path}: no such file", "pilot")
    try:
        return PilotResult.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InputError(
            f"{path}: not a pilot result ({exc.errors()[0]['msg']})", "pilot"
        ) from None
