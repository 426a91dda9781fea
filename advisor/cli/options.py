"""Options that several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from advisor.cli.app import Globals
from advisor.errors import InputError

if TYPE_CHECKING:
    from advisor.advice.settings import ComputeSettings

STDOUT = Path("-")


def _record_debug(ctx: typer.Context, value: bool) -> None:
    if value:
        ctx.ensure_object(Globals).debug = True


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help="Also write the JSON result to FILE (atomically; - for stdout).",
        dir_okay=False,
    ),
]
HtmlOpt = Annotated[
    Path | None,
    typer.Option(
        "--html",
        help="Also write the result as a self-contained HTML page (as advisor report does).",
        dir_okay=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")]
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, help="Seed for everything random (recorded in the result).")
]
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Show tracebacks of internal errors.",
        callback=_record_debug,
        expose_value=False,
    ),
]
UnlabeledOpt = Annotated[
    list[Path] | None,
    typer.Option("--unlabeled", help="Extra folder of unlabeled images (repeatable)."),
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option("--manifest", help="CSV with columns path,label[,split], paths relative to it."),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")]
ComputeBudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--compute-budget",
        help="Device-hours you can spend at full scale: arms forecast to cost more are set "
        "aside, and the verdict names the best one within it.",
        rich_help_panel="Compute",
        show_default=False,
    ),
]
PriceOpt = Annotated[
    float | None,
    typer.Option(
        "--price-per-hour",
        help="What one device-hour costs you (any currency): the forecast adds the price.",
        rich_help_panel="Compute",
        show_default=False,
    ),
]
DeviceProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--device-profile",
        help="Forecast for a reference device (cpu-core, t4, p100, v100, a100, h100, rtx3090, "
        "rtx4090, rtxa6000, tpu-v3-core) instead of the one timed here. Default: the timed one, "
        "else a100.",
        rich_help_panel="Compute",
        show_default=False,
    ),
]


def compute_settings(
    budget: float | None, price: float | None, profile: str | None
) -> ComputeSettings:
    """The compute options, checked before any file is read."""
    from advisor.advice.settings import ComputeSettings

    return ComputeSettings(budget_hours=budget, price_per_hour=price, device_profile=profile)


def need_data(data: Path | None, manifest: Path | None) -> None:
    """The dataset commands read a folder, a manifest, or both."""
    if data is None and manifest is None:
        raise InputError("give a data folder or --manifest FILE.csv")
