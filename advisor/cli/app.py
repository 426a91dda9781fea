"""The ``advisor`` application: the root command with its global options, and the one place
where every failure becomes a line on stderr and an exit code.

Conventions: ``--json`` prints pure JSON on stdout with progress and logs on stderr; ``-o FILE``
is written atomically; bad usage or input is one line on stderr and exit 2; an internal error is
exit 1, with the traceback only under ``--debug``; Ctrl-C is exit 130.
"""

from __future__ import annotations

import re
import sys
import traceback
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from advisor import __version__
from advisor.errors import InputError

PARAM_NAMES = {"output": "-o", "data": "data folder"}
"""How the command line names a library parameter, where it is not ``--`` and the parameter's
name with dashes."""


@dataclass
class Globals:
    """Options that concern the whole run rather than one command, on the context's ``obj``."""

    debug: bool = False


def flag(param: str) -> str:
    return PARAM_NAMES.get(param, "--" + param.replace("_", "-"))


def input_error_line(exc: InputError) -> str:
    """The error in the command line's words: the parameter at fault, and any mentioned in
    backquotes, as flags."""
    text = re.sub(r"`([a-z_]+)`", lambda m: flag(m.group(1)), exc.message)
    return text if exc.param is None else f"{flag(exc.param)} {text}"


def fail(message: str, code: int) -> None:
    first_line = " ".join(message.split())
    prefix = "advisor: error: " if code in (1, 2) else "advisor: "
    print(f"{prefix}{first_line}", file=sys.stderr)
    sys.exit(code)


class AdvisorGroup(TyperGroup):
    """Every failure becomes one line on stderr and an exit code: 2 bad input, 1 bug, 130 Ctrl-C."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        state = Globals()
        kwargs["obj"] = state
        try:
            code = super().main(*args, **kwargs)
        except InputError as exc:
            fail(input_error_line(exc), 2)
        except (KeyboardInterrupt, typer.Abort):
            fail("interrupted", 130)
        except typer.Exit as exc:
            code = exc.exit_code
        except Exception as exc:
            if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
                # click's usage and parameter errors (typer re-exports or vendors click, so
                # they are recognised by shape rather than by class)
                fail(exc.format_message(), exc.exit_code)
            if state.debug:
                traceback.print_exc()
            hint = "" if state.debug else " (run with --debug for the traceback)"
            fail(f"internal error: {type(exc).__name__}: {exc}{hint}", 1)
        if code == 130:  # typer turns Ctrl-C into this exit code before we see it
            fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=AdvisorGroup,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Should you fine-tune an ImageNet model, pretrain self-supervised on your own images, "
    "or both? Measures your dataset and tells you, with its evidence.",
)


def _show_version(value: bool) -> None:
    if value:
        print(f"advisor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Should you fine-tune an ImageNet model, pretrain self-supervised on your own images, or
    both? Measures your dataset and tells you, with its evidence."""
    from advisor.memory import keep_freed_memory

    keep_freed_memory()
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
