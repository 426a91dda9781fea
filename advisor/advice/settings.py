"""What the user said about compute, checked before anything is read: the command line builds
it from its options and hands it to a service."""

from __future__ import annotations

import math
from dataclasses import dataclass

from advisor.errors import InputError
from advisor.knowledge.costs import load_costs


@dataclass(frozen=True)
class ComputeSettings:
    """What the user said about compute: a budget in device-hours, a price per device-hour, and
    the reference device to forecast for instead of the measured one."""

    budget_hours: float | None = None
    price_per_hour: float | None = None
    device_profile: str | None = None

    def __post_init__(self) -> None:
        if self.budget_hours is not None and not (
            math.isfinite(self.budget_hours) and self.budget_hours > 0
        ):
            raise InputError(
                f"must be a positive number of hours, not {self.budget_hours}", "compute-budget"
            )
        if self.price_per_hour is not None and not (
            math.isfinite(self.price_per_hour) and self.price_per_hour >= 0
        ):
            raise InputError(
                f"must be a price of 0 or more, not {self.price_per_hour}", "price-per-hour"
            )
        if self.device_profile is not None:
            costs = load_costs()
            if costs.device(self.device_profile) is None:
                known = ", ".join(d.id for d in costs.devices)
                raise InputError(
                    f"{self.device_profile!r} is not a reference device; choose among {known}",
                    "device-profile",
                )
