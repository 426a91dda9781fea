"""The base every document and part of a document is built on."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Unknown fields are errors (a typo in a document fails loudly) and values never change
    after validation (a document is a record of what was measured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


NotebookView = Callable[["Displayed"], str]
_views: list[NotebookView] = []


def show_in_notebooks(view: NotebookView) -> None:
    """How documents draw themselves in Jupyter, given from above (the schema imports nothing
    above it): the Python API gives the report's page of one document."""
    _views[:] = [view]


class Displayed(Model):
    """A document a notebook shows as the report's page of it (``_repr_html_``), once the
    Python API has said how; until then, as its fields."""

    def _repr_html_(self) -> str | None:
        return _views[0](self) if _views else None
