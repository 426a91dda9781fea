"""Choosing which images a stage looks at: stratified and random samples."""

from __future__ import annotations

import pytest

from advisor.data.sampling import random_sample, stratified_sample
from advisor.errors import InputError


def test_stratified_sample_keeps_every_class_and_the_limit() -> None:
    labels = ["a"] * 900 + ["b"] * 90 + ["c"] * 3 + [None] * 50
    chosen = stratified_sample(labels, 100, seed=0)
    assert len(chosen) <= 100
    picked = [labels[i] for i in chosen]
    assert None not in picked
    assert picked.count("c") == 3  # rare classes keep min(size, 5)
    assert picked.count("b") >= 5
    assert picked.count("a") > picked.count("b")
    assert chosen == sorted(set(chosen))
    assert stratified_sample(labels, 100, seed=0) == chosen
    assert stratified_sample(labels, 100, seed=1) != chosen


def test_stratified_sample_takes_everything_under_the_limit() -> None:
    labels = ["a", None, "b", "a"]
    assert stratified_sample(labels, 10, seed=0) == [0, 2, 3]
    with pytest.raises(InputError, match="positive") as caught:
        stratified_sample(labels, 0, seed=0)
    assert caught.value.param == "sample"


def test_random_sample() -> None:
    assert random_sample([5, 7, 9], 10, seed=0) == [5, 7, 9]
    picked = random_sample(list(range(100)), 10, seed=3)
    assert len(picked) == 10 and picked == sorted(picked)
