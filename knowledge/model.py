"""The fitted gain models as data: what a self-supervised arm gains over supervised transfer
(``model.json``), and what self-training gains over it (``self_training.json``), each a
meta-regression on the setting's moderators with a random effect per study.

The gain is modelled on the asinh scale, because the studies report different metrics, from AUC
near its ceiling to top-1 on thousands of classes: asinh is linear within a few points and
logarithmic beyond, so one study's 30-point gaps cannot drown another's 3-point ones. A new
dataset is a new study, so its predictive spread holds the coefficients' uncertainty, the
between-study spread and the within-study noise. The JSON holds the whole model; nothing is
unpickled.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

MODEL_FILE = "model.json"
SELF_TRAINING_FILE = "self_training.json"
"""The self-training model (``tl+st`` against ``tl``): the same form on its own comparisons and
terms (``advisor knowledge fit --self-training``)."""


class FitMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    studies: int
    rmse: float = Field(description="In-sample root mean squared error, asinh scale.")
    sign_agreement: float = Field(description="In-sample share of rows whose sign is predicted.")


class RuleCheck(BaseModel):
    """Whether the fitted coefficient a rule stands for points the way the rule says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    term: str
    sign: Literal[-1, 1] = Field(description="The sign the rule implies for the coefficient.")
    coefficient: float
    low: float
    high: float
    status: Literal["supported", "consistent", "contradicted", "prior"] = Field(
        description="supported: the 90% interval lies on the rule's side; contradicted: on the "
        "other side; consistent: it spans 0; prior: no direct comparison varies the moderator, "
        "so the rule's direction is the prior and the data say nothing of it."
    )


class GainModel(BaseModel):
    """Posterior of the meta-regression of asinh(gap) on the moderators."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    command: str = Field(description="The command that rebuilds this file.")
    terms: list[str] = Field(description="Moderator names, in the order of the coefficients.")
    prior_mean: list[float]
    prior_sd: list[float]
    coefficients: list[float] = Field(description="Posterior mean, asinh scale per unit.")
    covariance: list[list[float]] = Field(description="Posterior covariance of the coefficients.")
    between_study_variance: float = Field(ge=0, description="tau^2, asinh scale.")
    within_study_variance: float = Field(gt=0, description="sigma^2, asinh scale.")
    rule_checks: list[RuleCheck]
    fit_rows: list[str]
    excluded_studies: list[str] = Field(description="Studies kept out of the fit (sealed).")
    metrics: FitMetrics

    def predict(self, x: np.ndarray) -> tuple[float, float]:
        """Expected gain and predictive standard deviation for a new study's setting ``x``,
        both on the asinh scale."""
        beta = np.asarray(self.coefficients)
        cov = np.asarray(self.covariance)
        mean = float(x @ beta)
        variance = float(x @ cov @ x) + self.between_study_variance + self.within_study_variance
        return mean, math.sqrt(variance)

    @staticmethod
    def probability(mean: float, sd: float) -> float:
        """P(gain > 0) under the predictive normal."""
        from scipy.stats import norm

        return float(norm.cdf(mean / sd))

    def check(self, rule: str) -> RuleCheck | None:
        return next((c for c in self.rule_checks if c.rule == rule), None)


def _read(name: str) -> GainModel:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return GainModel.model_validate(json.loads(text))


@cache
def load_model() -> GainModel:
    """The shipped model (rebuilt by ``advisor knowledge fit``)."""
    return _read(MODEL_FILE)


@cache
def load_self_training_model() -> GainModel:
    """The shipped self-training model (rebuilt by ``advisor knowledge fit --self-training``)."""
    return _read(SELF_TRAINING_FILE)
