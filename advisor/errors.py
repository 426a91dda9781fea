"""Errors the user can fix, kept apart from bugs so the CLI can answer them in one line."""

from __future__ import annotations


class InputError(Exception):
    """Bad usage or bad input: the CLI prints it on one line and exits with code 2.

    ``param`` names the setting at fault in the library's own terms (``output``, ``device``,
    ``budget``), and ``message`` then reads on from that setting's name ("is a folder; give a
    file name"). A message that points to another setting names it in backquotes ("or pass
    `force`"). The command line shows both as flags (``-o``, ``--force``); anyone calling the
    library directly reads the parameters' names instead, so no layer below the command line
    needs to know how its options are spelt.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message if param is None else f"{param} {message}")
        self.message = message
        self.param = param


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (library messages often span several), or its type."""
    return " ".join(str(exc).split()) or type(exc).__name__
