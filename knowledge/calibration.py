"""The domain-gap calibration: the signals measured on image sets of known kind, and the rule
fitted on them that turns a dataset's signals into one score, per probe resolution.

Written by ``scripts/calibrate_domain_gap.py`` (never by hand) and validated on load. The sets
with a ``level`` place the scale: natural photographs 0, faces and textures 1/3, handwriting and
industrial images 2/3, noise 1. The ``calibration`` sets fit the rule; the ``held-out`` sets
test the ordering it gives; the ``reference`` sets have no level and are reported beside the
score so that a user can see where a dataset falls among known kinds.

The rule is a least-squares line through the calibration sets' levels on two signals, why those
two being said in ``fit_rule``. Between the measured resolutions the rule's coefficients are
interpolated linearly (and held at the ends), as the signals change smoothly with input size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.optimize import lsq_linear

CALIBRATION_FILE = "domain_gap.json"

SIGNALS = ("batchnorm_divergence", "source_entropy")
"""What the score combines. Batch-norm divergence (the mean over layers of the KL divergence of
the dataset's activation statistics from the source's) reads how unlike the source the pixels and
textures are; source-head entropy reads whether the network recognises anything it was trained
on. A grayscale photograph diverges in its statistics but is recognised; a scan or a micrograph
may match the statistics and be recognised as nothing. Two signals considered and left out: the
proxy A-distance to the natural anchor images told every other set apart from them almost
perfectly, photos of other scenes included (it measures that two collections differ, not how
far), and the k-NN gain of pretrained over untrained features needs labels, which an unlabeled
pool has not."""

Role = Literal["calibration", "held-out", "reference"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnchorSet(_Model):
    kind: str = Field(description="What the images are, in a few words.")
    source: str = Field(description="Where the images come from, so anyone can rebuild them.")
    role: Role
    level: float | None = Field(ge=0, le=1, description="Its place on the scale; None: none.")

    @model_validator(mode="after")
    def _levels_where_needed(self) -> AnchorSet:
        if (self.level is None) != (self.role == "reference"):
            raise ValueError("calibration and held-out sets have a level, reference sets none")
        return self


class Rule(_Model):
    intercept: float
    weights: dict[str, float]

    def score(self, signals: Mapping[str, float]) -> float:
        """The score in [0, 1]."""
        raw = self.intercept + sum(w * signals[name] for name, w in self.weights.items())
        return float(np.clip(raw, 0.0, 1.0))


Signals = dict[str, float]


class AtResolution(_Model):
    measured: dict[str, list[Signals]] = Field(
        description="Set name -> the signals of each draw of its images."
    )
    rule: Rule

    def mean_signals(self, name: str) -> Signals:
        draws = self.measured[name]
        return {s: float(np.mean([d[s] for d in draws])) for s in draws[0]}


class DomainGapCalibration(_Model):
    backbone: str
    weights_id: str
    images_per_set: int = Field(gt=0)
    seed: int
    command: str = Field(description="The command that produced this file.")
    signals: list[str]
    sets: dict[str, AnchorSet]
    resolutions: dict[int, AtResolution]

    @model_validator(mode="after")
    def _consistent(self) -> DomainGapCalibration:
        for resolution, at in self.resolutions.items():
            if set(at.measured) != set(self.sets):
                raise ValueError(f"{resolution} px: the measured sets are not the listed sets")
            if set(at.rule.weights) != set(self.signals):
                raise ValueError(f"{resolution} px: the rule does not weigh the listed signals")
        return self

    def _between(self, resolution: int) -> tuple[int, int, float]:
        measured = sorted(self.resolutions)
        if resolution <= measured[0]:
            return measured[0], measured[0], 0.0
        if resolution >= measured[-1]:
            return measured[-1], measured[-1], 0.0
        upper = next(r for r in measured if r >= resolution)
        lower = max(r for r in measured if r <= resolution)
        if upper == lower:
            return lower, upper, 0.0
        return lower, upper, (resolution - lower) / (upper - lower)

    def rule_at(self, resolution: int) -> Rule:
        lower, upper, t = self._between(resolution)
        low, high = self.resolutions[lower].rule, self.resolutions[upper].rule
        return Rule(
            intercept=(1 - t) * low.intercept + t * high.intercept,
            weights={s: (1 - t) * low.weights[s] + t * high.weights[s] for s in self.signals},
        )

    def signals_at(self, resolution: int, name: str) -> Signals:
        """The mean signals of one set, interpolated between the measured resolutions."""
        lower, upper, t = self._between(resolution)
        low = self.resolutions[lower].mean_signals(name)
        high = self.resolutions[upper].mean_signals(name)
        return {s: (1 - t) * low[s] + t * high[s] for s in low}

    def scores_at(self, resolution: int) -> dict[str, float]:
        """Every set's score at a resolution: the landmarks of the scale."""
        rule = self.rule_at(resolution)
        return {name: rule.score(self.signals_at(resolution, name)) for name in self.sets}


def fit_rule(
    measured: Mapping[str, Sequence[Signals]],
    sets: Mapping[str, AnchorSet],
    signals: Sequence[str],
    nonnegative: bool = True,
) -> Rule:
    """Least squares of the calibration sets' levels on the signals, one row per draw, with the
    signals' weights held at zero or above.

    Why a straight line on two signals: there are four kinds of calibration set (natural photos,
    textures, handwriting, noise), so a rule with more than three coefficients describes the
    draws rather than the kinds (``benchmarks/domain_gap.py`` compares the forms tried). Why no
    negative weight: both signals grow as images leave the source's kind, so a negative weight
    can only be a fit to the collinear quirks of four sets. Unconstrained, the fit at 224 px gave
    entropy a weight of -2.5 and put the held-out faces at 0.92, beyond MNIST; held at zero or
    above, entropy gets weight where it adds something (64 and 160 px) and none elsewhere, and
    no held-out set is out of order at any resolution."""
    rows, levels = [], []
    for name, anchor in sets.items():
        if anchor.role != "calibration":
            continue
        for draw in measured[name]:
            rows.append([draw[s] for s in signals])
            levels.append(anchor.level)
    x, y = np.asarray(rows, dtype=np.float64), np.asarray(levels, dtype=np.float64)
    design = np.column_stack([np.ones(len(x)), x])
    floor = 0.0 if nonnegative else -np.inf
    free, positive = [-np.inf] + [floor] * len(signals), [np.inf] * (len(signals) + 1)
    coefficients = lsq_linear(design, y, bounds=(free, positive), method="bvls").x
    return Rule(
        intercept=float(coefficients[0]),
        weights={s: float(w) for s, w in zip(signals, coefficients[1:], strict=True)},
    )


ORDER_TOLERANCE = 0.05
"""Two sets whose scores lie closer than this may come in either order."""


def misordered(
    scores: Mapping[str, float], sets: Mapping[str, AnchorSet], role: Role = "held-out"
) -> list[tuple[str, str]]:
    """Pairs of sets of the role (a, b) where a's kind lies nearer natural photos than b's but
    a scores higher than b by more than ``ORDER_TOLERANCE``."""
    ranked = [(name, a.level) for name, a in sets.items() if a.role == role]
    return [
        (a, b)
        for a, level_a in ranked
        for b, level_b in ranked
        if level_a < level_b and scores[a] > scores[b] + ORDER_TOLERANCE
    ]


@cache
def domain_gap_calibration() -> DomainGapCalibration | None:
    """The shipped calibration, or None if it has not been generated."""
    path = resources.files(__package__).joinpath(CALIBRATION_FILE)
    if not path.is_file():
        return None
    return DomainGapCalibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
