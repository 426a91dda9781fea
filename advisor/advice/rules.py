"""Evaluating the knowledge base's conditions (of its rules and its recipe) on a set of features.

A rule fires when every condition holds; a condition on a feature that is not known (a study
that did not report it, a card that left it out) does not hold, so silence never fires a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from advisor.schema.knowledge import Conditions, Rule
from advisor.schema.vocabulary import TRANSFER, Paradigm

_TESTS = {
    "lt": lambda value, bound: value < bound,
    "le": lambda value, bound: value <= bound,
    "gt": lambda value, bound: value > bound,
    "ge": lambda value, bound: value >= bound,
    "eq": lambda value, bound: value == bound,
    "in": lambda value, bound: value in bound,
}


def holds(when: Conditions, values: Mapping[str, Any]) -> bool:
    """Every condition holds (none at all: always)."""
    for name, test in when.items():
        value = values.get(name)
        if value is None:
            return False
        ((operator, bound),) = test.items()
        if not _TESTS[operator](value, bound):
            return False
    return True


def fires(rule: Rule, features: Mapping[str, Any]) -> bool:
    return holds(rule.when, features)


def fired_rules(rules: Iterable[Rule], features: Mapping[str, Any]) -> list[Rule]:
    """The rules that fire, strongest first (ties keep the file's order)."""
    return sorted(
        (rule for rule in rules if fires(rule, features)), key=lambda rule: -rule.strength
    )


def direction(rule: Rule, arm: Paradigm) -> int:
    """+1 if the rule argues for ``arm`` over plain transfer, -1 if for transfer over ``arm``,
    0 if it does not bear on that comparison."""
    if arm in rule.favours and TRANSFER in rule.over:
        return 1
    if TRANSFER in rule.favours and arm in rule.over:
        return -1
    return 0
