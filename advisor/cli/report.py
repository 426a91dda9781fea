"""``advisor report``: the tool's documents as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.options import DebugOpt, QuietOpt


def report(
    documents: Annotated[
        list[Path],
        typer.Argument(
            help="Documents written by advisor (analyze, decide or pilot with -o or --json).",
            dir_okay=False,
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="The HTML page to write (atomically).", dir_okay=False),
    ],
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """One self-contained HTML page for analyses, decisions and pilot results: the verdict,
    its reasons, the dataset, its problems with thumbnails, the probes and the pilot, offline."""
    from rich.console import Console

    from advisor.services import report as service

    page = service.write_report_of(documents, output)
    Console(stderr=True, quiet=quiet).print(
        f"wrote {output} ({page.size / 1024:,.0f} KB, {len(documents)} document"
        f"{'s' if len(documents) != 1 else ''})",
        style="dim",
    )
