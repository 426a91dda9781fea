"""``advisor decide``: advice from a dataset card, without the images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.options import (
    ComputeBudgetOpt,
    DebugOpt,
    DeviceProfileOpt,
    JsonOpt,
    OutOpt,
    PriceOpt,
    QuietOpt,
    compute_settings,
)


def decide(
    card: Annotated[
        Path, typer.Argument(help="Dataset card (YAML); see `advisor schema card`.", dir_okay=False)
    ],
    compute_budget: ComputeBudgetOpt = None,
    price_per_hour: PriceOpt = None,
    device_profile: DeviceProfileOpt = None,
    as_json: JsonOpt = False,
    output: OutOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Advice from a dataset card, without the images: verdict, probability, expected gain,
    reasons with citations, caveats, what would flip it, a recipe, and what each arm would cost
    on a reference device."""
    from rich.console import Console

    from advisor.cli.output import destination, emit
    from advisor.progress import TerminalProgress
    from advisor.render.decision import render_recommendation
    from advisor.services import decide as service

    compute = compute_settings(compute_budget, price_per_hour, device_profile)
    output, as_json = destination(output, as_json)
    notes = TerminalProgress(Console(stderr=True, quiet=quiet), quiet)
    document = service.decide(card, output, notes, compute)
    if emit(document, as_json, output):
        render_recommendation(Console(), document)
