"""Class-imbalance figures from class counts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from advisor.schema.profile import Imbalance

EFFECTIVE_SAMPLES_BETA = 0.999
"""Cui et al. 2019 (Class-Balanced Loss Based on Effective Number of Samples) treat beta as a
hyperparameter searched over {0.9, 0.99, 0.999, 0.9999}; 0.999 is the value they used for their
large-scale runs (ImageNet, iNaturalist). With it a class stops gaining "effective" images at a
few thousand, which is the regime where more labels of one class stop helping a classifier."""


def normalized_entropy(counts: np.ndarray) -> float | None:
    """Shannon entropy of the class distribution divided by its maximum, log(classes)."""
    if len(counts) < 2:
        return None
    p = counts / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / math.log(len(counts)))


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of the counts: 0 when every class is the same size, towards 1 when one
    class holds everything (mean absolute difference over twice the mean)."""
    n = len(counts)
    if n < 2 or counts.sum() == 0:
        return 0.0
    ordered = np.sort(counts.astype(np.float64))
    ranks = np.arange(1, n + 1)
    return float((2 * ranks - n - 1) @ ordered / (n * ordered.sum()))


def effective_samples(counts: np.ndarray, beta: float = EFFECTIVE_SAMPLES_BETA) -> np.ndarray:
    """Effective number of samples per class, (1 - beta^n) / (1 - beta) (Cui et al. 2019)."""
    return (1.0 - np.power(beta, counts.astype(np.float64))) / (1.0 - beta)


def imbalance(
    class_counts: Mapping[str, int], basis: str, missing: Sequence[str] = ()
) -> Imbalance | None:
    """The imbalance figures of some class counts, with a plain-words reading; None if empty.
    ``missing`` names classes that have labeled images elsewhere (val/test) but none counted."""
    names = list(class_counts)
    counts = np.array([class_counts[name] for name in names], dtype=np.int64)
    if len(counts) == 0 or counts.sum() == 0:
        return None
    ratio = float(counts.max() / counts.min())
    effective = effective_samples(counts)
    entropy = normalized_entropy(counts)
    return Imbalance(
        basis=basis,
        class_counts=dict(class_counts),
        max_min_ratio=ratio,
        normalized_entropy=entropy,
        gini=gini(counts),
        effective_samples=float(effective.sum()),
        effective_samples_beta=EFFECTIVE_SAMPLES_BETA,
        effective_samples_per_class={
            name: round(float(value), 3) for name, value in zip(names, effective, strict=True)
        },
        missing_classes=list(missing),
        reading=reading(
            ratio, len(counts), names[int(counts.argmax())], names[int(counts.argmin())]
        )
        + (f"; no training images at all for {', '.join(missing)}" if missing else ""),
    )


def reading(ratio: float, classes: int, largest: str, smallest: str) -> str:
    """Thresholds follow common practice in the long-tail literature, where benchmarks are built
    at ratios of 10 to 100 (CIFAR-LT) and ImageNet-LT reaches about 256."""
    if classes < 2:
        return "a single class: there is nothing to balance, and nothing to classify yet"
    if ratio < 1.5:
        return "balanced: every class has about the same number of images"
    spread = f"'{largest}' has {ratio:.1f}x the images of '{smallest}'"
    if ratio < 3:
        return f"mildly imbalanced: {spread}; plain training usually copes"
    if ratio < 10:
        return (
            f"imbalanced: {spread}; report macro-F1 beside accuracy and consider class-balanced "
            "sampling or loss weights"
        )
    return (
        f"long-tailed: {spread}; accuracy will hide the rare classes: use macro-F1, "
        "class-balanced loss or resampling, and check the rare classes have enough test images"
    )
