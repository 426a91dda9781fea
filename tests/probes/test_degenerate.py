"""Every probe on degenerate inputs gives a finite number or a ValueError that says why, never
NaN or infinity, and never a numerical warning."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from advisor.probes import (
    class_separation,
    h_score,
    h_score_shrinkage,
    knn_accuracy,
    leep,
    linear_probe_accuracy,
    logme,
    nce,
    prediction_entropy,
    proxy_a_distance,
)

RNG = np.random.default_rng(0)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


PROBES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "logme": logme,
    "h_score": h_score,
    "h_score_shrinkage": h_score_shrinkage,
    "class_separation": class_separation,
    "knn_accuracy": lambda x, y: knn_accuracy(x, y).mean,
    "linear_probe_accuracy": lambda x, y: linear_probe_accuracy(x, y).mean,
    "proxy_a_distance": lambda x, y: proxy_a_distance(x[y == y[0]], x[y != y[0]]),
    "leep": lambda x, y: leep(_softmax(x), y),
    "nce": lambda x, y: nce(x.argmax(axis=1), y),
    "prediction_entropy": lambda x, y: prediction_entropy(x),
}


def _two_classes(n: int) -> np.ndarray:
    return np.r_[np.zeros(n // 2), np.ones(n - n // 2)].astype(int)


CASES = {
    "two classes, one image each": (RNG.normal(size=(2, 8)), np.array([0, 1])),
    "constant images": (np.ones((20, 16)), _two_classes(20)),
    "all zero": (np.zeros((20, 16)), _two_classes(20)),
    "duplicated rows": (np.repeat(RNG.normal(size=(4, 16)), 5, axis=0), _two_classes(20)),
    "one feature vector per class": (
        np.repeat(RNG.normal(size=(2, 64)), 10, axis=0),
        _two_classes(20),
    ),
    "D >> N": (RNG.normal(size=(12, 2000)), _two_classes(12)),
    "large values": (RNG.normal(size=(30, 8)) * 1e6, _two_classes(30)),
    "one hot of the labels": (np.eye(2)[_two_classes(20)], _two_classes(20)),
}


def _outcome(probe: Callable, x: np.ndarray, y: np.ndarray) -> float | None:
    """The probe's value, or None when it said why it has none."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numerical warning fails the test
        try:
            value = probe(x, y)
        except ValueError as refused:
            assert str(refused), "a refusal must say why"
            return None
    assert np.isfinite(value), value
    return value


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", list(PROBES))
def test_degenerate_inputs_give_a_number_or_a_reason(name: str, case: str) -> None:
    x, y = CASES[case]
    _outcome(PROBES[name], x, y)


def test_logme_says_why_when_the_features_fit_the_labels_exactly() -> None:
    x, y = CASES["one feature vector per class"]
    with pytest.raises(ValueError, match="no maximum"):
        logme(x, y)


@settings(max_examples=60, deadline=None)
@given(
    rows=hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, 6), st.integers(1, 40)),
        elements=st.sampled_from([0.0, 1.0, -1.0, 0.5, 3.0, 1e-8, 1e8]),
    ),
    repeats=st.integers(1, 4),
)
def test_any_small_feature_matrix_gives_a_number_or_a_reason(rows: np.ndarray, repeats: int):
    x = np.repeat(rows, repeats, axis=0)
    y = _two_classes(len(x))
    for probe in PROBES.values():
        _outcome(probe, x, y)
