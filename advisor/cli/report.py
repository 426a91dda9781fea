"""``advisor report``: the tool's documents as one self-contained HTML page, or as a short
Markdown summary for a pipeline, whose exit code can gate it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.app import fail
from advisor.cli.options import STDOUT, DebugOpt, QuietOpt

FOUND = 3
"""The exit code when the documents show what ``--fail-on`` names: not an error of the tool
(1) nor of its input (2)."""


class FailOn(StrEnum):
    problems = "problems"
    toss_up = "toss-up"


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
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The HTML page to write (atomically); with --markdown the summary (- or none "
            "for stdout).",
            dir_okay=False,
        ),
    ] = None,
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown",
            help="A short Markdown summary (verdict, probability, cost, problems, pilot winner) "
            "for a CI job summary or a pull-request comment.",
        ),
    ] = False,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option(
            "--fail-on",
            help="Exit 3 when a document shows this (repeatable): problems in the data, or a "
            "toss-up verdict.",
        ),
    ] = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """One self-contained HTML page for analyses, decisions and pilot results: the verdict,
    its reasons, the dataset, its problems with thumbnails, the probes and the pilot, offline;
    or, with --markdown, a short summary of each."""
    from rich.console import Console

    from advisor.errors import InputError
    from advisor.services import report as service

    err = Console(stderr=True, quiet=quiet)
    read = [service.read_document(path) for path in documents]
    if markdown:
        to_file = output is not None and output != STDOUT
        text = service.write_summary(read, output if to_file else None)
        if to_file:
            err.print(f"wrote {output}", style="dim")
        else:
            typer.echo(text, nl=False)
    elif output is None:
        raise InputError("is needed for the page (or give `markdown`)", "output")
    else:
        page = service.write_documents(read, output, documents)
        err.print(
            f"wrote {output} ({page.size / 1024:,.0f} KB, {len(documents)} document"
            f"{'s' if len(documents) != 1 else ''})",
            style="dim",
        )
    found = service.gate(read, {str(item) for item in fail_on or []})
    if found:
        fail("; ".join(found), FOUND)
