"""The local experience store: one JSON line per finished pilot, with the dataset's features and
what the pilot measured, for ``advisor knowledge fit --with-experience``."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, ValidationError

from advisor.errors import InputError
from advisor.schema.decision import DecisionFeatures
from advisor.schema.vocabulary import Paradigm

FILE = "experience.jsonl"


class Experience(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time: str
    tool_version: str
    features: DecisionFeatures
    arm: Paradigm
    measured_points: float
    low: float
    high: float
    seeds: int
    finetune_steps: int
    """The fewest over the seeds (a time budget re-plans them per seed)."""
    ssl_steps: int


def store_path() -> Path:
    """``ADVISOR_DATA_DIR`` when set (tests, shared machines), else the platform's user data
    folder."""
    root = os.environ.get("ADVISOR_DATA_DIR") or user_data_dir("pretrain-advisor")
    return Path(root) / FILE


def append(record: Experience) -> Path:
    path = store_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(record.model_dump_json() + "\n")
    return path


def load() -> list[Experience]:
    path = store_path()
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(Experience.model_validate_json(line))
        except ValidationError:
            raise InputError(
                f"{path}, line {number}: not a pilot record of this version of advisor (move the "
                "file aside to start a new store)"
            ) from None
    return records


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
