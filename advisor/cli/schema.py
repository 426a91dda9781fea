"""``advisor schema``: the JSON Schema of each document the tool writes."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from advisor.schema.vocabulary import DOCUMENT_NAMES


def schema(
    name: Annotated[
        str | None,
        typer.Argument(help=f"One of: {', '.join(DOCUMENT_NAMES)}.", show_default=False),
    ] = None,
) -> None:
    """Print the JSON Schema of a document the tool writes (or list them)."""
    from advisor.services import schema as service

    if name is None:
        for known, summary in service.summaries().items():
            print(f"{known}\t{summary}")
        return
    print(json.dumps(service.json_schema(name), indent=2))
