"""``advisor backbones``: which backbone specs work offline here."""

from __future__ import annotations

from advisor.cli.options import JsonOpt


def backbones(as_json: JsonOpt = False) -> None:
    """List the backbone specs this machine can use offline, and why the others cannot be."""
    from rich.console import Console

    from advisor.cli.output import emit
    from advisor.render.backbones import render_backbones
    from advisor.services.backbones import backbones as service

    document = service()
    if emit(document, as_json, None):
        render_backbones(Console(), document.backbones)
