"""Reading a dataset card (YAML) into a validated ``DatasetCard``.

Every way a card can be wrong ends as one ``InputError`` line that names the file and the field;
unknown keys are returned, not fatal, so a card written for a newer version still works.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from advisor.errors import InputError
from advisor.schema.card import DatasetCard


def _first_error(path: Path, exc: ValidationError) -> InputError:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "card"
    if error["type"] == "missing":
        return InputError(f"{path}: missing required field {field!r}")
    given = error.get("input")
    shown = f" (got {given!r})" if not isinstance(given, dict | list) else ""
    return InputError(f"{path}: field {field!r}: {error['msg']}{shown}")


def load_card(path: Path) -> tuple[DatasetCard, list[str]]:
    """The card and the keys it has that the card format does not know."""
    if not path.is_file():
        raise InputError(f"no card file at {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a card is a YAML mapping of fields, e.g. 'labeled_images: 2000'")
    try:
        card = DatasetCard.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc) from None
    unknown = sorted(str(key) for key in data if key not in DatasetCard.model_fields)
    return card, unknown
