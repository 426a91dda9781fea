"""Budgets: times and steps, and the ones that are neither."""

from __future__ import annotations

import pytest

from advisor.errors import InputError
from advisor.pilot.budget import parse_budget


@pytest.mark.parametrize(
    ("text", "seconds", "steps"),
    [
        ("90s", 90, None),
        ("10m", 600, None),
        ("1h", 3600, None),
        ("2000steps", None, 2000),
        ("1.5h", 5400, None),
        (" 5 min ", 300, None),
        ("1step", None, 1),
    ],
)
def test_budgets(text: str, seconds, steps) -> None:
    budget = parse_budget(text)
    assert budget.seconds == seconds and budget.steps == steps


@pytest.mark.parametrize("text", ["", "ten minutes", "10", "0m", "-5m", "2.5steps", "10d"])
def test_unparseable_budgets(text: str) -> None:
    with pytest.raises(InputError, match="budget"):
        parse_budget(text)
