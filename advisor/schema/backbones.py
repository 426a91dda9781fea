"""What ``advisor backbones`` writes: the backbone specs usable offline on this machine."""

from __future__ import annotations

from typing import Literal

from advisor.schema.base import Model
from advisor.schema.vocabulary import SCHEMA_VERSION


class BackboneEntry(Model):
    spec: str
    description: str
    available: bool
    why_not: str | None = None


class BackboneList(Model):
    """What advisor backbones --json writes: the specs usable offline on this machine."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    tool_version: str
    backbones: list[BackboneEntry]
