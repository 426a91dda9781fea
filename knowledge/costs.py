"""The published training schedules and the reference devices the cost forecast is built from,
validated on load like the rest of the knowledge base (``advisor/schema/cost.py``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from advisor.schema.cost import CostKnowledge


def build_costs(schedules: str, devices: str) -> CostKnowledge:
    """The cost knowledge from the text of ``schedules.yaml`` and ``devices.yaml``."""
    table = yaml.safe_load(devices)
    return CostKnowledge(
        schedules=yaml.safe_load(schedules),
        devices=table["devices"],
        architectures=table["architectures"],
        utilization=table["utilization"],
    )


@cache
def load_costs() -> CostKnowledge:
    """The shipped schedules and devices, validated once per process."""
    folder = resources.files(__package__)
    return build_costs(
        folder.joinpath("schedules.yaml").read_text(encoding="utf-8"),
        folder.joinpath("devices.yaml").read_text(encoding="utf-8"),
    )
