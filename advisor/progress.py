"""How a long job tells its caller what it is doing, without knowing who listens.

The services and the stages take a ``Progress``; the command line and the Python API (with
``progress=True``) pass ``TerminalProgress``, which draws rich bars and prints notes on stderr;
tests and scripts pass ``SILENT`` or their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bars
from rich.text import Text


class Progress(Protocol):
    def stage(self, description: str, total: int, unit: str) -> None:
        """A stage of ``total`` items (counted in ``unit``) starts; the previous one is over."""

    def advance(self, done: int) -> None:
        """``done`` more items of the current stage are finished."""

    def note(self, text: str) -> None:
        """Something worth telling the user on the way (a plan, where a result was stored)."""

    def warn(self, text: str) -> None:
        """Something the user should fix, that did not stop the job."""


class Silent:
    """A ``Progress`` that tells nobody."""

    def stage(self, description: str, total: int, unit: str) -> None:
        pass

    def advance(self, done: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass


SILENT = Silent()


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "items")
        return Text(f"{speed:,.0f} {unit}/s" if speed else "", style="cyan")


class TerminalProgress:
    """A ``Progress`` on stderr: a bar per stage, drawn only in a terminal, and the notes and
    warnings as lines (none of it when quiet); the command line's, and the ready one the
    Python API draws with ``progress=True``."""

    def __init__(self, err: Console, quiet: bool) -> None:
        self.err = err
        self.bars = Bars(
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
