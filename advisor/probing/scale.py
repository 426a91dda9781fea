"""The scale the domain-gap score is read on, for one backbone at one resolution.

For the calibrated backbone (the shipped EfficientNet-Lite0) it is the rule fitted on image sets
of known kind (``knowledge/domain_gap.json``): batch-norm divergence and source-head entropy
combined, with every calibration, held-out and reference set placed on the same scale as
landmarks. For any other backbone nothing is calibrated, so the scale is the batch-norm
divergence alone, placed between natural photographs (0) and noise (1) measured on the spot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from advisor.knowledge.calibration import DomainGapCalibration
from advisor.probes import calibrated_gap


@dataclass(frozen=True)
class GapScale:
    signals: tuple[str, ...]
    meaning: str
    landmarks: dict[str, float] = field(default_factory=dict)
    """Set name -> its score: where known kinds of images fall on this scale."""
    calibration: DomainGapCalibration | None = None
    resolution: int = 0
    natural: float = 0.0
    noise: float = 1.0

    @classmethod
    def fitted(cls, calibration: DomainGapCalibration, resolution: int) -> GapScale:
        return cls(
            signals=tuple(calibration.signals),
            meaning="0 = like natural photos, 1 = like noise; divergence and entropy combined "
            "by a rule fitted on image sets of known kind",
            landmarks=calibration.scores_at(resolution),
            calibration=calibration,
            resolution=resolution,
        )

    @classmethod
    def two_anchors(cls, natural: float, noise: float) -> GapScale:
        return cls(
            signals=("batchnorm_divergence",),
            meaning="0 = like natural photos, 1 = like noise; divergence alone (this backbone "
            "is not calibrated)",
            landmarks={"natural": 0.0, "noise": 1.0},
            natural=natural,
            noise=noise,
        )

    def score(self, signals: Mapping[str, float]) -> tuple[float, dict[str, float]]:
        """The score, and each signal's part in it: its weight times its distance from the
        natural photos' value, so that the parts add up to how far the score is from theirs."""
        if self.calibration is None:
            value = calibrated_gap(
                signals["batchnorm_divergence"], {"natural": self.natural, "noise": self.noise}
            )
            return value, {"batchnorm_divergence": value}
        rule = self.calibration.rule_at(self.resolution)
        natural = self.calibration.signals_at(self.resolution, "natural")
        parts = {s: w * (signals[s] - natural[s]) for s, w in rule.weights.items()}
        return rule.score(signals), parts
