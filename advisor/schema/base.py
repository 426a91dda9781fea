"""The base every document and part of a document is built on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Unknown fields are errors (a typo in a document fails loudly) and values never change
    after validation (a document is a record of what was measured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
