"""How far a dataset lies from a backbone's source data, measured without any source image."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.linear_model import LogisticRegression

from .classifiers import cross_validated_accuracy
from .validation import check_features_labels


def prediction_entropy(logits: np.ndarray) -> float:
    """Mean entropy of the source head's softmax, divided by log(classes): 1 when the network
    recognises nothing it knows, low when it is sure. A weak signal on its own: confident
    mistakes on far-domain images (digits read as 'nematode') look as sure as photos."""
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError("logits must have shape (n, classes) with at least two classes")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    entropy = -(np.exp(log_p) * log_p).sum(axis=1)
    return float(entropy.mean() / np.log(logits.shape[1]))


def batchnorm_divergence(
    target_mean: np.ndarray,
    target_var: np.ndarray,
    source_mean: np.ndarray,
    source_var: np.ndarray,
    eps: float = 1e-5,
) -> float:
    """Mean over channels of KL(target || source) between per-channel Gaussians: the batch-norm
    running statistics are the source data's own activation statistics, so a layer whose inputs
    on the user's images look nothing like them has drifted from what it was trained on."""
    mt, vt = np.asarray(target_mean, np.float64), np.asarray(target_var, np.float64) + eps
    ms, vs = np.asarray(source_mean, np.float64), np.asarray(source_var, np.float64) + eps
    kl = 0.5 * (vt / vs + (ms - mt) ** 2 / vs - 1.0 + np.log(vs / vt))
    return float(kl.mean())


def proxy_a_distance(a: np.ndarray, b: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Proxy A-distance (Ben-David et al. 2007): 2 (1 - 2 err), err the cross-validated error of
    a linear classifier telling the two sets apart, on equal-sized samples so chance is 0.5.
    0 means indistinguishable, 2 perfectly separable; clipped at 0 below chance.

    tol = 1e-2 rather than scikit-learn's 1e-4: on 600 + 600 EfficientNet-Lite0 features of one
    domain the distance read 0.097 instead of 0.090, in 0.9 s instead of 3.8 s, and 0.42
    instead of 0.43 for a shifted copy; the reading is judged against ~1, not to two decimals."""
    n = min(len(a), len(b))
    if n < folds:
        raise ValueError(f"proxy A-distance needs at least {folds} samples on each side")
    rng = np.random.default_rng(seed)
    x = np.concatenate(
        [a[rng.choice(len(a), n, replace=False)], b[rng.choice(len(b), n, replace=False)]]
    )
    y = np.r_[np.zeros(n), np.ones(n)]
    classifier = LogisticRegression(C=0.1, max_iter=500, tol=1e-2)
    accuracy = cross_validated_accuracy(classifier, x, y, folds, seed).mean
    return float(max(0.0, 2.0 * (1.0 - 2.0 * (1.0 - accuracy))))


def calibrated_gap(divergence: float, anchors: Mapping[str, float]) -> float:
    """Place a batch-norm divergence on [0, 1] between two measured anchors: crops of natural
    photographs (0) and uniform noise (1), both measured with the same backbone and resolution."""
    low, high = anchors["natural"], anchors["noise"]
    if high <= low:
        raise ValueError("the noise anchor must diverge more than the natural anchor")
    return float(np.clip((divergence - low) / (high - low), 0.0, 1.0))


def class_separation(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean distance of images to their class centre over the mean distance between class
    centres, in standardised feature space: near or above 1 the classes overlap as much as they
    differ, the mark of a fine-grained task in this feature space."""
    f, y, classes = check_features_labels(features, labels)
    x = (f - f.mean(axis=0)) / (f.std(axis=0) + 1e-8)
    centres = np.stack([x[y == c].mean(axis=0) for c in range(classes)])
    within = np.linalg.norm(x - centres[y], axis=1).mean()
    gaps = np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2)
    between = gaps[np.triu_indices(classes, k=1)].mean()
    if between == 0:
        raise ValueError("the class centres coincide: the features do not tell the classes apart")
    return float(within / between)
