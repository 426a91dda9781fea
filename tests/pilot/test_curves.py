"""Projecting a learning curve: the fit recovers a known curve, and says so when it cannot."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.pilot.curves import fit_curve


def _known(steps: np.ndarray) -> np.ndarray:
    return 0.8 - (0.8 - 0.3) * (1 + steps / 50) ** -0.7


def test_the_fit_recovers_a_known_curve_and_projects_it() -> None:
    steps = np.array([0.0, 20, 40, 60, 80, 100])
    noise = np.random.default_rng(0).normal(0, 0.005, len(steps))
    curve = fit_curve(steps, _known(steps) + noise)
    assert curve.asymptote == pytest.approx(0.8, abs=0.03)
    assert curve.power == pytest.approx(0.7, abs=0.1)
    value, low, high = curve.interval(500)
    assert low <= _known(np.array(500.0)) <= high
    assert value == pytest.approx(_known(np.array(500.0)), abs=0.02)
    truth = 50 * (((0.8 - 0.3) / (0.8 - 0.6)) ** (1 / 0.7) - 1)
    assert curve.crossing(0.6) == pytest.approx(truth, rel=0.1)
    assert curve.crossing(0.9) is None  # beyond the asymptote: never


def test_too_few_readings_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="needs 5 readings"):
        fit_curve(np.array([0.0, 10, 20]), np.array([0.3, 0.4, 0.45]))
