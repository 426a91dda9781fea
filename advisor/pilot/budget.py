"""Budgets: wall time (``90s``, ``10m``, ``1h``) or optimiser steps (``2000steps``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.errors import InputError

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|steps?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    text: str
    seconds: float | None = None
    steps: int | None = None


def parse_budget(text: str) -> Budget:
    match = _PATTERN.match(text)
    if not match:
        raise InputError(
            f"{text!r}: give a time (90s, 10m, 1h) or a number of steps (2000steps)", "budget"
        )
    amount, unit = float(match.group(1)), match.group(2).lower()
    if amount <= 0:
        raise InputError(f"{text!r} must be positive", "budget")
    if unit.startswith("step"):
        if amount != int(amount):
            raise InputError(f"{text!r}: steps are a whole number", "budget")
        return Budget(text=text.strip(), steps=int(amount))
    return Budget(text=text.strip(), seconds=amount * _UNITS[unit])
