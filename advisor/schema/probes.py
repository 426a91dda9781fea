"""A pretrained backbone's view of a dataset: domain gap, transferability, granularity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from advisor.schema.base import Model
from advisor.schema.cost import Throughput


class Measurement(Model):
    """One probe's reading: its value (None when it could not run, with the reason), the number
    of images it used, and what it means in one line."""

    value: float | None
    spread: float | None = Field(default=None, description="Standard deviation over CV folds.")
    sample: int = Field(ge=0, description="Images the measurement used.")
    meaning: str
    skipped: str | None = Field(default=None, description="Why there is no value.")


class DomainGap(Model):
    """How far the data lies from the backbone's source, in several readings and one score."""

    score: Measurement = Field(description="The aggregate in [0, 1]: 0 natural photos, 1 noise.")
    contributions: dict[str, float] = Field(
        description="Each signal's part of the score: its weight times its distance from the "
        "natural photos' value; the parts add up to how far the score is from theirs."
    )
    driven_by: str | None = Field(
        description="The signal that moved the score most away from natural photos (None when "
        "none did)."
    )
    batchnorm_divergence: Measurement
    batchnorm_divergence_per_layer: dict[str, float]
    calibration: dict[str, float] = Field(
        description="The score of image sets of known kind (natural photos, textures, faces, "
        "handwriting, industrial images, scans, noise...) on the same scale: landmarks."
    )
    source_entropy: Measurement
    knn_gain: Measurement = Field(description="k-NN accuracy, pretrained minus untrained.")
    logme_gain: Measurement = Field(description="LogME, pretrained minus untrained.")
    reference_pad: Measurement = Field(description="Proxy A-distance to --reference images.")
    pool_shift_pad: Measurement = Field(description="Proxy A-distance, labeled vs unlabeled.")


class Transferability(Model):
    """How well the pretrained features suit the user's labels."""

    logme: Measurement
    leep: Measurement
    nce: Measurement
    h_score: Measurement
    h_score_shrinkage: Measurement
    knn_accuracy: Measurement
    linear_probe_accuracy: Measurement


class Granularity(Model):
    """How far apart the classes sit in the backbone's features. A reading only: no threshold on
    it has been calibrated on labels of known granularity, so it does not say whether classes are
    fine-grained, and the advice does not read it (declare ``--fine-grained`` instead)."""

    class_separation: Measurement


class Probes(Model):
    """A pretrained backbone's view of the data."""

    backbone: str
    backbone_description: str
    resolution: int
    device: str
    labeled_sample: int
    unlabeled_sample: int
    cache: Literal["hit", "miss", "off"]
    seconds: float
    domain_gap: DomainGap
    transferability: Transferability
    granularity: Granularity
    throughput: Throughput | None = Field(
        default=None,
        description="The backbone's images/s on this device, forward and in training; None in "
        "documents of earlier versions.",
    )
