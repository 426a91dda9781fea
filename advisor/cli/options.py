"""Options that several commands share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.app import Globals
from advisor.errors import InputError

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


def need_data(data: Path | None, manifest: Path | None) -> None:
    """The dataset commands read a folder, a manifest, or both."""
    if data is None and manifest is None:
        raise InputError("give a data folder or --manifest FILE.csv")
