"""The fitted gain model as data: what the self-supervised family gains over supervised transfer.

The model reads a setting through the rules. Each rule that fires and compares an arm with plain
transfer casts a vote of its strength (1-3 stars) for or against the arm; the votes add up, and
one fitted scale turns the total into an expected gain. The gain is modelled on the asinh scale,
because the studies report different metrics, from AUC near its ceiling to top-1 on 10,000
classes: asinh is linear within a few points and logarithmic beyond, so one study's 30-point
gaps cannot drown another's 3-point ones. The JSON holds the whole model; nothing is unpickled.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

MODEL_FILE = "model.json"


class FitMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    studies: int
    rmse: float = Field(description="In-sample root mean squared error, asinh scale.")
    sign_agreement: float = Field(description="In-sample share of rows whose sign is predicted.")


class GainModel(BaseModel):
    """Posterior of a Bayesian regression of asinh(gap) on the strength-weighted rule vote."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    command: str = Field(description="The command that rebuilds this file.")
    rules: list[str] = Field(description="Rule ids, in the order of the weights.")
    strength: list[float] = Field(description="Each rule's vote (its strength; 0 if unusable).")
    scale: float = Field(ge=0, description="Fitted asinh-scale gain per star of net vote.")
    scale_variance: float = Field(ge=0, description="Posterior variance of the scale.")
    noise_variance: float
    probability_scale: float = Field(
        description="Standard deviation (asinh scale) that turns an expected gain into a "
        "probability: the noise plus the scale's uncertainty averaged over the fit rows."
    )
    fit_rows: list[str]
    metrics: FitMetrics

    def vote(self, directions: dict[str, int]) -> float:
        """Net strength of the fired rules for the arm (rules unknown to the model count 0)."""
        pairs = zip(self.rules, self.strength, strict=True)
        return float(sum(directions.get(rule, 0) * strength for rule, strength in pairs))

    def predict(self, directions: dict[str, int]) -> tuple[float, float]:
        """Expected gain and predictive standard deviation, both on the asinh scale."""
        vote = self.vote(directions)
        return self.scale * vote, math.sqrt(self.noise_variance + self.scale_variance * vote**2)

    def probabilities(self, means: np.ndarray) -> np.ndarray:
        """P(gain > 0) for expected gains, on the model's fixed scale, so that the probability
        moves with the expected gain alone (and so stays monotone wherever the gain is)."""
        from scipy.stats import norm

        return norm.cdf(np.asarray(means) / self.probability_scale)


@cache
def load_model() -> GainModel:
    """The shipped model (rebuilt by ``advisor knowledge fit``)."""
    text = resources.files(__package__).joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return GainModel.model_validate(json.loads(text))
