"""The domain-gap calibration: batch-norm divergence of the anchor sets, per resolution.

Written by ``scripts/calibrate_domain_gap.py`` (never by hand) and validated on load.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

CALIBRATION_FILE = "domain_gap.json"


class DomainGapCalibration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backbone: str
    weights_id: str
    images_per_anchor: int = Field(gt=0)
    seed: int
    command: str = Field(description="The command that produced this file.")
    resolutions: dict[int, dict[str, float]] = Field(
        description="Resolution -> anchor name -> mean batch-norm divergence."
    )

    def anchors_at(self, resolution: int) -> dict[str, float]:
        """Anchor divergences at a resolution, interpolated linearly between the measured ones
        (and held at the ends), since the divergence changes smoothly with input size."""
        measured = sorted(self.resolutions)
        if resolution <= measured[0]:
            return dict(self.resolutions[measured[0]])
        if resolution >= measured[-1]:
            return dict(self.resolutions[measured[-1]])
        upper = next(r for r in measured if r >= resolution)
        lower = max(r for r in measured if r <= resolution)
        if upper == lower:
            return dict(self.resolutions[lower])
        t = (resolution - lower) / (upper - lower)
        low, high = self.resolutions[lower], self.resolutions[upper]
        return {name: (1 - t) * low[name] + t * high[name] for name in low}


@cache
def domain_gap_calibration() -> DomainGapCalibration | None:
    """The shipped calibration, or None if it has not been generated."""
    path = resources.files(__package__).joinpath(CALIBRATION_FILE)
    if not path.is_file():
        return None
    return DomainGapCalibration.model_validate(json.loads(path.read_text(encoding="utf-8")))
