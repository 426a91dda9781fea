"""Where a command's document goes (stdout, ``-o FILE``, the terminal), and the progress bars
and notes on stderr while it is made."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

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


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "items")
        return Text(f"{speed:,.0f} {unit}/s" if speed else "", style="cyan")


class TerminalProgress:
    """The services' ``Progress`` on stderr: a bar per stage, drawn only in a terminal, and the
    notes and warnings as lines (none of it with ``--quiet``)."""

    def __init__(self, err: Console, quiet: bool) -> None:
        self.err = err
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=quiet or not err.is_terminal,
        )
        self.current: list[TaskID] = []

    def stage(self, description: str, total: int, unit: str) -> None:
        if self.current:
            self.bars.update(self.current[-1], visible=False)
        self.current.append(self.bars.add_task(description, total=total, unit=unit))

    def advance(self, done: int) -> None:
        if self.current:
            self.bars.advance(self.current[-1], done)

    def note(self, text: str) -> None:
        self.err.print(text, style="dim", soft_wrap=True)

    def warn(self, text: str) -> None:
        self.err.print(f"advisor: warning: {text}", style="yellow", soft_wrap=True)


@contextmanager
def progress_on_stderr(err: Console, quiet: bool) -> Iterator[TerminalProgress]:
    progress = TerminalProgress(err, quiet)
    with progress.bars:
        yield progress
