"""How a long job tells its caller what it is doing, without knowing who listens.

The services and the stages take a ``Progress``; the command line passes one that draws rich
progress bars and prints notes on stderr, tests and scripts pass ``SILENT`` or their own.
"""

from __future__ import annotations

from typing import Protocol


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
