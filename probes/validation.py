"""The checks every probe shares: arrays of the right shape and finite, labels as class indices,
and results that are numbers. A probe that cannot give a number raises ``ValueError`` saying why,
and the caller reports that reason instead of a value: no probe returns NaN."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def as_matrix(values: ArrayLike, name: str) -> np.ndarray:
    """Float64 copy of a 2-D finite array: every score here sums squares over many samples,
    where float32 loses digits the comparison with the reference implementations needs."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [samples, dims], got shape {array.shape}")
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(f"{name} needs at least 2 samples and 1 column, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def encode_labels(
    labels: ArrayLike, samples: int | None, name: str = "labels", min_classes: int = 2
) -> tuple[np.ndarray, int]:
    """Class indices 0..C-1 and C: every formula below indexes arrays by class, and callers'
    labels are folder names or arbitrary integers. ``samples=None`` skips the length check."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {array.shape}")
    if samples is not None and len(array) != samples:
        raise ValueError(f"{name} has {len(array)} entries but there are {samples} samples")
    classes, codes = np.unique(array, return_inverse=True)
    if len(classes) < min_classes:
        raise ValueError(
            f"{name} must contain at least {min_classes} distinct classes, got {len(classes)}"
        )
    return codes.reshape(-1), len(classes)


def check_features_labels(
    features: ArrayLike, labels: ArrayLike
) -> tuple[np.ndarray, np.ndarray, int]:
    """The validation every feature-based probe shares: features as float64 [N, D], labels as
    class indices, and the number of classes."""
    f = as_matrix(features, "features")
    y, classes = encode_labels(labels, len(f))
    return f, y, classes


def finite(value: float, what: str) -> float:
    """``value`` as a float, or a ``ValueError`` saying that ``what`` has no finite value."""
    if not np.isfinite(value):
        raise ValueError(f"{what} has no finite value on these inputs")
    return float(value)
