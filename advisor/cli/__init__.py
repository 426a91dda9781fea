"""The ``advisor`` command line: one module per command, each of which parses its options,
calls one service and renders the document it returns. ``app`` holds the root command and the
error funnel, ``options`` the shared options, ``output`` where documents and progress go.

The commands are registered here, in the order ``advisor --help`` lists them.
"""

from __future__ import annotations

import signal

from advisor.cli import analyze, backbones, decide, demo, knowledge, pilot, report, schema
from advisor.cli.app import app
from advisor.processes import wait_passively

app.command()(analyze.analyze)
app.command()(pilot.pilot)
app.command()(decide.decide)
app.command()(report.report)
app.add_typer(knowledge.knowledge_app, name="knowledge")
app.command()(demo.demo)
app.command()(backbones.backbones)
app.command()(schema.schema)

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point. A closed pipe (``advisor schema analyze | head``) ends the
    process quietly, as it does for any Unix filter, instead of raising on the next write; the
    CPU's threads sleep while they wait (``processes``)."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    wait_passively()  # before any command imports torch
    app()
