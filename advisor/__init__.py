"""pretrain-advisor: choose between transfer learning, self-supervised pretraining and both.

The public API is the names of ``__all__`` (documented in ``advisor.api``); they load on first
use, so that ``import advisor`` stays instant and the command line's start-up pays for nothing
it does not run. The pilot's function is ``run_pilot``: ``advisor.pilot`` is the package that
trains it, and importing any of its modules would put the package in that name's place.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("pretrain-advisor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "InputError",
    "analyze",
    "combine",
    "decide",
    "load",
    "markdown",
    "report",
    "run_pilot",
]


def __getattr__(name: str) -> Any:
    if name == "InputError":
        return import_module("advisor.errors").InputError
    if name in __all__:
        return getattr(import_module("advisor.api"), name)
    raise AttributeError(f"module 'advisor' has no attribute {name!r}")
