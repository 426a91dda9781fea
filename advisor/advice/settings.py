"""What the user said about compute, checked before anything is read: the command line builds
it from its options and hands it to a service."""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.errors import InputError
from advisor.knowledge.costs import load_costs
from advisor.schema.cost import CostKnowledge, Device

LARGEST = 1e9
"""The largest budget in hours, or price per hour, taken: beyond it a product overflows what a
document can hold, and no real one comes near it."""


@dataclass(frozen=True)
class ComputeSettings:
    """What the user said about compute: a budget in device-hours, a price per device-hour, and
    the reference device to forecast for instead of the measured one."""

    budget_hours: float | None = None
    price_per_hour: float | None = None
    device_profile: str | None = None

    def __post_init__(self) -> None:
        budget, price = self.budget_hours, self.price_per_hour
        if budget is not None and not (math.isfinite(budget) and 0 < budget <= LARGEST):
            raise InputError(f"must be a positive number of hours, not {budget}", "compute-budget")
        if price is not None and not (math.isfinite(price) and 0 <= price <= LARGEST):
            raise InputError(
                f"must be a price from 0 to {LARGEST:.0e}, not {price}", "price-per-hour"
            )
        if self.device_profile is not None:
            reference_device(load_costs(), self.device_profile)


def reference_device(costs: CostKnowledge, device_id: str) -> Device:
    """The reference device of that id, or the one-line error that lists them."""
    device = costs.device(device_id)
    if device is None:
        known = ", ".join(d.id for d in costs.devices)
        raise InputError(
            f"{device_id!r} is not a reference device; choose among {known}", "device-profile"
        )
    return device
