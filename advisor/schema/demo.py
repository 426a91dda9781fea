"""What ``advisor demo`` writes: what the demo folder holds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Model
from advisor.schema.vocabulary import SCHEMA_VERSION


class DemoDataset(Model):
    """What advisor demo --json writes: what the demo folder holds."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    dataset: Literal["digits", "shapes"]
    seed: int
    out: str
    images: int
    labeled: dict[str, dict[str, int]] = Field(description="Per split, images per class.")
    unlabeled: int
    planted: list[str] = Field(description="Problems placed on purpose for the report to find.")
