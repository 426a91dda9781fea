"""The ``schema`` service: the JSON Schema of each document the tool writes."""

from __future__ import annotations

from typing import Any

from advisor.errors import InputError
from advisor.schema.vocabulary import DOCUMENT_NAMES


def summaries() -> dict[str, str]:
    """Document name -> the first line of its description."""
    from advisor.schema.documents import DOCUMENTS

    return {
        name: (model.__doc__ or "").strip().splitlines()[0] for name, model in DOCUMENTS.items()
    }


def json_schema(name: str) -> dict[str, Any]:
    from advisor.schema.documents import DOCUMENTS

    model = DOCUMENTS.get(name)
    if model is None:
        raise InputError(f"no schema named {name!r}; choose one of: {', '.join(DOCUMENT_NAMES)}")
    return model.model_json_schema()
