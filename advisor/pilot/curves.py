"""Where a self-supervised phase's learning curve is going, beyond the steps a short pilot
could afford: a saturating curve fitted through its k-NN readings, projected to ten and a
hundred times the steps, with an interval from the fit's own uncertainty.

The curve is anchored at the phase's first reading f0 and rises (or falls) towards an asymptote
a with a power law: f(t) = a - (a - f0) (1 + t / tau)^(-c). Power laws with an asymptote are the
usual description of accuracy against training compute (e.g. Hestness et al. 2017, "Deep
learning scaling is predictable, empirically"); anchoring at f0 leaves three parameters for the
five or more readings a pilot takes. A projection is a projection: it is labelled as one
wherever it is shown, and never combined with the measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import norm

MIN_POINTS = 5
LEVEL = 0.9


@dataclass(frozen=True)
class Curve:
    start: float
    asymptote: float
    tau: float
    power: float
    covariance: np.ndarray

    def at(self, steps: float | np.ndarray) -> np.ndarray:
        return _model(
            np.asarray(steps, dtype=float), self.start, self.asymptote, self.tau, self.power
        )

    def interval(self, steps: float) -> tuple[float, float, float]:
        """The projected value at ``steps`` and a ``LEVEL`` interval from the fit's covariance,
        carried to the projection by its gradient (the delta method), within [0, 1]."""
        centre = np.array([self.asymptote, self.tau, self.power])
        value = float(self.at(steps))
        gradient = np.zeros(3)
        for k in range(3):
            step = 1e-6 * max(abs(centre[k]), 1e-3)
            moved = centre.copy()
            moved[k] += step
            gradient[k] = (float(_model(steps, self.start, *moved)) - value) / step
        spread = float(np.sqrt(max(gradient @ self.covariance @ gradient, 0.0)))
        half = float(norm.ppf(0.5 + LEVEL / 2)) * spread
        return value, max(value - half, 0.0), min(value + half, 1.0)

    def crossing(self, level: float) -> float | None:
        """The step at which the curve reaches ``level`` from below; None if it never does (or
        starts above it)."""
        if self.start >= level or self.asymptote <= level:
            return None
        ratio = (self.asymptote - self.start) / (self.asymptote - level)
        return float(self.tau * (ratio ** (1 / self.power) - 1))


_LOWER = np.array([0.0, 1e-3, 1e-2])
_UPPER = np.array([1.0, 1e7, 5.0])


def _model(t: np.ndarray, start: float, asymptote, tau, power) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    asymptote, tau, power = (np.asarray(v, dtype=float)[..., None] for v in (asymptote, tau, power))
    values = asymptote - (asymptote - start) * (1 + t / tau) ** (-power)
    return values.squeeze()


def fit_curve(steps: np.ndarray, values: np.ndarray) -> Curve:
    """Fit the curve through readings (``steps[0]`` must be 0, the phase's start). Raises
    ``ValueError`` when there are too few readings or the fit does not converge."""
    steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    if len(steps) < MIN_POINTS or steps[0] != 0:
        raise ValueError(f"a learning curve needs {MIN_POINTS} readings, the first at step 0")
    start = float(values[0])

    def model(t: np.ndarray, asymptote: float, tau: float, power: float) -> np.ndarray:
        return start - (start - asymptote) * (1 - (1 + t / tau) ** (-power))

    guess = [float(np.clip(values[-1], 0, 1)), max(steps[-1] / 4, 1.0), 0.5]
    try:
        params, covariance = curve_fit(
            model, steps, values, p0=guess, bounds=(_LOWER, _UPPER), maxfev=20000
        )
    except (RuntimeError, ValueError) as failed:
        raise ValueError(f"the learning curve could not be fitted ({failed})") from None
    if not np.all(np.isfinite(covariance)):
        raise ValueError("the learning curve's readings do not pin down its shape")
    asymptote, tau, power = (float(p) for p in params)
    return Curve(start, asymptote, tau, power, covariance)
