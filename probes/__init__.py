"""Measurements of a dataset through a pretrained network's eyes, as pure functions over arrays.

Nothing here prints, reads files or knows about the command line: callers (the analyze service)
extract features and pass arrays in, and turn the numbers into reports. Installed as
``advisor.probes``.
"""

from .classifiers import CVScore, knn_accuracy, linear_probe_accuracy
from .domain import (
    batchnorm_divergence,
    calibrated_gap,
    class_separation,
    prediction_entropy,
    proxy_a_distance,
)
from .transferability import LogMEScore, h_score, h_score_shrinkage, leep, logme, logme_score, nce

__all__ = [
    "CVScore",
    "LogMEScore",
    "batchnorm_divergence",
    "calibrated_gap",
    "class_separation",
    "h_score",
    "h_score_shrinkage",
    "knn_accuracy",
    "leep",
    "linear_probe_accuracy",
    "logme",
    "logme_score",
    "nce",
    "prediction_entropy",
    "proxy_a_distance",
]
