"""The backbone specs, in a table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from advisor.schema.backbones import BackboneEntry


def render_backbones(console: Console, infos: list[BackboneEntry]) -> None:
    """The backbone specs: which ones work offline here, and what is missing for the others."""
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("spec")
    table.add_column("available")
    table.add_column("what it is / what is missing", overflow="fold")
    for info in infos:
        mark = Text("yes", style="green") if info.available else Text("no", style="red")
        table.add_row(info.spec, mark, info.description if info.available else info.why_not)
    console.print(table)
