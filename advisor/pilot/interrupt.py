"""Ctrl-C during a pilot: the first one lets the current step finish, then the pilot saves what
it finished and stops; a second one stops at once."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType


class Interrupted(Exception):
    """Ctrl-C arrived; the current step finished."""


class PilotInterrupted(KeyboardInterrupt):
    """The pilot stopped on Ctrl-C after saving ``saved`` of its ``total`` arm-seed runs in
    ``out``, where a resumed pilot picks them up."""

    def __init__(self, saved: int, total: int, out: Path) -> None:
        super().__init__(f"{saved} of {total} arm-seed runs are saved in {out}")
        self.saved, self.total, self.out = saved, total, out


class StopFlag:
    """Checked after every step. ``agree``, with more than one process, makes the processes
    stop at the same step when Ctrl-C reached any of them: each takes the others' flags."""

    def __init__(self) -> None:
        self.requested = False
        self.agree: Callable[[bool], bool] | None = None

    def check(self) -> None:
        requested = self.requested if self.agree is None else self.agree(self.requested)
        if requested:
            raise Interrupted


class SigintGuard:
    """While active, the first Ctrl-C only raises the flag that the training loops check."""

    def __init__(self, stop: StopFlag) -> None:
        self.stop = stop
        self.previous = None

    def __enter__(self) -> SigintGuard:
        def handle(_signum: int, _frame: FrameType | None) -> None:
            if self.stop.requested:
                raise KeyboardInterrupt
            self.stop.requested = True

        try:
            self.previous = signal.signal(signal.SIGINT, handle)
        except ValueError:  # not the main thread: leave Ctrl-C as it is
            self.previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
