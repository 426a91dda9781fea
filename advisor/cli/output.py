"""Where a command's document goes: stdout, ``-o FILE``, the terminal, its HTML page (the bars
and notes on stderr while it is made are ``advisor.progress.TerminalProgress``)."""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console

from advisor.cli.options import STDOUT
from advisor.output import write_atomically
from advisor.schema.analysis import Analysis
from advisor.schema.pilot import PilotResult


def destination(output: Path | None, as_json: bool) -> tuple[Path | None, bool]:
    """``-o -`` means stdout, the same as ``--json``."""
    return (None, True) if output == STDOUT else (output, as_json)


def emit(document: BaseModel, as_json: bool, output: Path | None) -> bool:
    """Write the document where asked; True when the terminal rendering should follow."""
    text = document.model_dump_json(indent=2)
    if output is not None:
        write_atomically(output, text + "\n")
    if as_json:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return False
    return True


def emit_page(document: Analysis | PilotResult, html: Path | None, err: Console) -> None:
    """``--html``: the document's page, after its JSON (the record) is written."""
    if html is None:
        return
    from advisor.services.report import write_page

    write_page(document, html)
    err.print(f"wrote {html}", style="dim")
