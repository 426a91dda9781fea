"""Imbalance figures against values worked out by hand.

Effective number of samples (Cui et al. 2019): E(n) = (1 - b^n) / (1 - b) with b = 0.999.
Expanding b^n = (1 - 0.001)^n binomially, E(n) = n - C(n,2)·1e-3 + C(n,3)·1e-6 - C(n,4)·1e-9 ...
  E(1)  = 1
  E(3)  = 3 - 0.003 + 0.000001                                      = 2.997001
  E(4)  = 4 - 0.006 + 0.000004 - 0.000000001                        = 3.994003999
  E(5)  = 5 - 0.010 + 0.000010 - 0.000000005 + 0.000000000001       = 4.990009995001
  E(7)  = 7 - 0.021 + 0.000035 - 0.000000035 + 0.000000000021       = 6.979034965021
  E(10) = 10 - 0.045 + 0.000120 - 0.000000210 + 0.000000000252     ≈ 9.955119790252
(the next terms are below 1e-12).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from helpers import make_class_folders, profile_of

from advisor.data.imbalance import (
    EFFECTIVE_SAMPLES_BETA,
    effective_samples,
    gini,
    imbalance,
    normalized_entropy,
)

TOL = 1e-6


def test_beta_is_the_documented_value() -> None:
    assert EFFECTIVE_SAMPLES_BETA == 0.999


def test_counts_10_5_5() -> None:
    imb = imbalance({"a": 10, "b": 5, "c": 5}, "basis")
    assert imb is not None
    # largest / smallest = 10 / 5
    assert imb.max_min_ratio == 2.0
    # p = (1/2, 1/4, 1/4): H = 1/2 ln 2 + 2 · 1/4 ln 4 = 3/2 ln 2; divided by ln 3
    assert imb.normalized_entropy == pytest.approx(1.5 * math.log(2) / math.log(3), abs=TOL)
    assert imb.normalized_entropy == pytest.approx(0.946394630, abs=TOL)
    # Gini = sum_ij |xi - xj| / (2 n^2 mean): the pairs (10,5) x4 give 20; 2 · 9 · 20/3 = 120
    assert imb.gini == pytest.approx(1 / 6, abs=TOL)
    # E(10) + 2 E(5) = 9.955119790252 + 9.980019990002
    assert imb.effective_samples == pytest.approx(19.935139780254, abs=TOL)
    assert imb.effective_samples_per_class == {"a": 9.955, "b": 4.99, "c": 4.99}
    assert imb.effective_samples_beta == 0.999
    assert imb.class_counts == {"a": 10, "b": 5, "c": 5}
    assert imb.basis == "basis"


def test_counts_3_1() -> None:
    imb = imbalance({"big": 3, "small": 1}, "b")
    assert imb is not None
    assert imb.max_min_ratio == 3.0
    # p = (3/4, 1/4): H / ln 2 = 2 - 3/4 log2(3) = 2 - 0.75 · 1.5849625007 = 0.8112781245
    assert imb.normalized_entropy == pytest.approx(0.8112781245, abs=TOL)
    # sum_ij |xi - xj| = 2 · 2 = 4; 2 n^2 mean = 2 · 4 · 2 = 16
    assert imb.gini == pytest.approx(0.25, abs=TOL)
    # E(3) + E(1)
    assert imb.effective_samples == pytest.approx(3.997001, abs=TOL)
    assert "'big' has 3.0x the images of 'small'" in imb.reading


def test_balanced_counts() -> None:
    imb = imbalance({"a": 4, "b": 4, "c": 4, "d": 4}, "b")
    assert imb is not None
    assert imb.max_min_ratio == 1.0
    assert imb.normalized_entropy == pytest.approx(1.0, abs=1e-12)
    assert imb.gini == pytest.approx(0.0, abs=1e-12)
    # 4 E(4)
    assert imb.effective_samples == pytest.approx(15.976015996, abs=TOL)
    assert imb.reading.startswith("balanced")


def test_single_class() -> None:
    imb = imbalance({"only": 7}, "b")
    assert imb is not None
    assert imb.normalized_entropy is None
    assert imb.gini == 0.0
    assert imb.max_min_ratio == 1.0
    assert imb.effective_samples == pytest.approx(6.979034965021, abs=TOL)
    assert "single class" in imb.reading


def test_no_classes_gives_none() -> None:
    assert imbalance({}, "b") is None


def test_extreme_two_class_gini() -> None:
    # sorted (1, 1000): sum_ij |xi - xj| = 2 · 999; 2 n^2 mean = 2 · 4 · 500.5 = 4004
    imb = imbalance({"head": 1000, "tail": 1}, "b")
    assert imb is not None
    assert imb.gini == pytest.approx(999 / 2002, abs=TOL)
    assert imb.max_min_ratio == 1000.0
    assert imb.reading.startswith("long-tailed")


@pytest.mark.parametrize(
    ("counts", "start"),
    [
        ({"a": 14, "b": 10}, "balanced"),  # 1.4
        ({"a": 3, "b": 2}, "mildly imbalanced"),  # 1.5
        ({"a": 29, "b": 10}, "mildly imbalanced"),  # 2.9
        ({"a": 3, "b": 1}, "imbalanced"),  # 3
        ({"a": 99, "b": 10}, "imbalanced"),  # 9.9
        ({"a": 10, "b": 1}, "long-tailed"),  # 10
    ],
)
def test_reading_thresholds(counts: dict[str, int], start: str) -> None:
    imb = imbalance(counts, "b")
    assert imb is not None
    assert imb.reading.startswith(start + ":")


def test_figures_do_not_depend_on_class_order() -> None:
    a = imbalance({"x": 7, "y": 2, "z": 30}, "b")
    b = imbalance({"z": 30, "x": 7, "y": 2}, "b")
    assert a is not None and b is not None
    assert a.gini == pytest.approx(b.gini)
    assert a.normalized_entropy == pytest.approx(b.normalized_entropy)
    assert a.effective_samples == pytest.approx(b.effective_samples)
    assert a.max_min_ratio == b.max_min_ratio


def test_helpers_on_arrays() -> None:
    counts = np.array([10, 5, 5])
    assert normalized_entropy(counts) == pytest.approx(0.946394630, abs=TOL)
    assert normalized_entropy(np.array([5])) is None
    assert gini(counts) == pytest.approx(1 / 6, abs=TOL)
    assert gini(np.array([9])) == 0.0
    np.testing.assert_allclose(
        effective_samples(np.array([1, 3, 10])), [1.0, 2.997001, 9.955119790252], atol=TOL
    )
    # effective number saturates at 1 / (1 - beta) = 1000
    assert effective_samples(np.array([100_000]))[0] == pytest.approx(1000.0, abs=1e-3)


def test_profile_reports_imbalance_of_the_class_folders(tmp_path: Path) -> None:
    make_class_folders(tmp_path, {"a": 4, "b": 2, "c": 2})
    imb = profile_of(tmp_path).imbalance
    assert imb is not None
    assert imb.max_min_ratio == 2.0
    # same proportions as 10, 5, 5
    assert imb.normalized_entropy == pytest.approx(0.946394630, abs=TOL)
    assert imb.gini == pytest.approx(1 / 6, abs=TOL)
    # E(4) + 2 E(2), E(2) = 2 - 0.001
    assert imb.effective_samples == pytest.approx(3.994003999 + 2 * 1.999, abs=TOL)
