"""Transferability scores: how well a frozen network's outputs suit a new labelled task, measured
without training anything.

Each score is the one of its paper and follows the conventions of the authors' reference code
(thuml/LogME, and ``tllib.ranking`` of thuml/Transfer-Learning-Library), so that values can be
set beside published ones: higher is better for all of them, LogME and H-score come from
penultimate features, LEEP from the source head's probabilities, NCE from its hard predictions.
``scripts/check_probes.py`` compares every function here with those implementations.

Labels may be any integers or strings: only their partition of the samples matters. A task needs
at least two classes; on one class every score is degenerate (LEEP and NCE would report a perfect
0), so the functions refuse it and let the caller say why nothing was measured.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from sklearn.covariance import ledoit_wolf_shrinkage

from .validation import as_matrix, check_features_labels, encode_labels

__all__ = ["h_score", "h_score_shrinkage", "leep", "logme", "nce"]

# LogME's fixed-point iteration usually settles in a handful of steps when N >> D, but only
# slowly (linearly) when D is close to or above N, where the reference code's cap of 11 steps
# stops it early. Here it runs until the evidence per sample moves by less than _LOGME_TOL; the
# iterations cost O(C k) each against the O(N D^2) decomposition, so the cap is only a backstop.
_LOGME_TOL = 1e-10
_LOGME_MAX_ITER = 2000


def _class_sums(values: np.ndarray, codes: np.ndarray, classes: int) -> np.ndarray:
    """Per-class sums of the rows [C, D] in O(N·D), without a dense one-hot matrix."""
    n = len(codes)
    onehot = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(classes, n))
    return np.asarray(onehot @ values)


def _rank_cutoff(eigenvalues: np.ndarray, size: int) -> np.ndarray:
    """Mask of the eigenvalues of a Gram or covariance matrix that are above its rounding noise
    (the largest eigenvalue times size times machine epsilon, numpy's matrix_rank tolerance).
    Below it an eigenvalue's direction is noise, and dividing by it would only amplify noise."""
    top = eigenvalues.max(initial=0.0)
    return eigenvalues > top * size * np.finfo(np.float64).eps


def logme(features: ArrayLike, labels: ArrayLike) -> float:
    """LogME (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for
    Transfer Learning"; fixed-point algorithm of You et al., JMLR 2022, "Ranking and Tuning
    Pre-trained Models"): the log marginal likelihood per sample of a Bayesian linear regression
    from the features to each class's one-hot indicator, maximised over the prior precision alpha
    and the noise precision beta, averaged over classes. Higher means the features already
    separate the classes linearly without overfitting; no bias term and no centring, as in the
    paper's code.

    All classes share the features, so one eigendecomposition of the smaller Gram matrix
    (F^T F when N >= D, else F F^T) serves every class, and the per-class fixed-point updates
    run as one vectorised iteration over classes. The per-class targets enter only through their
    projections x = U^T y on the left singular vectors; when N >= D these come from the class
    sums F^T y = V S x, without forming the N x D matrix U. Directions with zero singular value
    (D > N, dead or collinear features) add log(alpha) to both the prior and the determinant
    term of the evidence and cancel; dropping them keeps the value equal to the
    all-D-dimensions formula of the ICML paper.
    """
    f, y, classes = check_features_labels(features, labels)
    if not np.any(f):
        raise ValueError("features are all zero: LogME needs at least one non-zero feature")
    n, d = f.shape
    if n >= d:
        sigma, v = np.linalg.eigh(f.T @ f)
        keep = _rank_cutoff(sigma, d)
        sigma, v = sigma[keep], v[:, keep]
        # F^T y = V S x, so x^2 = (V^T F^T y)^2 / sigma
        x2 = (_class_sums(f, y, classes) @ v) ** 2 / sigma
    else:
        sigma, u = np.linalg.eigh(f @ f.T)
        keep = _rank_cutoff(sigma, n)
        sigma, u = sigma[keep], u[:, keep]
        x2 = _class_sums(u, y, classes) ** 2
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        evidence = _max_log_evidence(sigma, x2, counts, n)
    if not np.all(np.isfinite(evidence)):
        raise ValueError(
            "LogME has no maximum here: the features fit the labels exactly (for instance, "
            "every image of a class has the same features), so the evidence grows without bound"
        )
    return float(np.mean(evidence))


def _evidence(
    alpha: np.ndarray,
    beta: np.ndarray,
    sigma: np.ndarray,
    x2: np.ndarray,
    outside: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Log evidence per sample at (alpha, beta) for each target, with the posterior mean m taken
    at t = alpha / beta, and the statistics MacKay's updates need: gamma (the effective number of
    parameters), N - gamma, |m|^2 and |y - F m|^2. N - gamma is summed from t / (sigma + t)
    rather than subtracted, because when D >= N the fit can become exact, gamma tends to N and
    the difference would cancel to zero or below."""
    t = (alpha / beta)[:, None]
    shrink = sigma / (sigma + t)
    lift = t / (sigma + t)
    gamma = shrink.sum(axis=1)
    rest = (n - len(sigma)) + lift.sum(axis=1)
    m2 = (x2 * shrink**2 / sigma).sum(axis=1)
    res2 = (x2 * lift**2).sum(axis=1) + outside
    evidence = (
        -0.5 * np.log1p(sigma / t).sum(axis=1)
        + 0.5 * n * np.log(beta)
        - 0.5 * beta * res2
        - 0.5 * alpha * m2
        - 0.5 * n * np.log(2.0 * np.pi)
    ) / n
    return evidence, gamma, rest, m2, res2


def _max_log_evidence(sigma: np.ndarray, x2: np.ndarray, y2: np.ndarray, n: int) -> np.ndarray:
    """Maximised log evidence per sample for each target, given the squared singular values
    sigma [k], the squared projections x2 [C, k] of each target on the left singular vectors and
    each target's squared norm y2 [C] (the part of y outside the features' span only adds to
    the residual). MacKay's updates alpha = gamma / |m|^2, beta = (N - gamma) / |y - F m|^2,
    iterated for every class at once until the evidence stops moving.

    Convergence is judged on the evidence, not on alpha / beta: when D >= N the maximum can lie
    at the boundary beta -> infinity (the targets are interpolated exactly), where t = alpha /
    beta keeps shrinking geometrically while the evidence settles at its limit."""
    outside = np.maximum(y2 - x2.sum(axis=1), 0.0)
    alpha = np.ones(len(y2))
    beta = np.ones(len(y2))
    evidence, gamma, rest, m2, res2 = _evidence(alpha, beta, sigma, x2, outside, n)
    active = np.arange(len(y2))
    for _ in range(_LOGME_MAX_ITER):
        alpha[active] = gamma[active] / m2[active]
        beta[active] = rest[active] / res2[active]
        updated = _evidence(alpha[active], beta[active], sigma, x2[active], outside[active], n)
        moving = np.abs(updated[0] - evidence[active]) > _LOGME_TOL
        for whole, part in zip((evidence, gamma, rest, m2, res2), updated, strict=True):
            whole[active] = part
        active = active[moving]
        if not active.size:
            break
    return evidence


def leep(source_probs: ArrayLike, labels: ArrayLike) -> float:
    """LEEP (Nguyen et al., ICML 2020, "LEEP: A New Measure to Evaluate Transferability of
    Learned Representations"): the mean log-likelihood of the target labels under the
    "expected empirical predictor", which maps the source head's class probabilities theta(x) to
    target classes through the empirical conditional P(y | z) = sum_{i: y_i = y} theta_i(z) /
    sum_i theta_i(z). It is <= 0, and 0 when the source head's predictions determine the target
    label. Source classes that receive no probability at all contribute nothing.
    """
    p = as_matrix(source_probs, "source_probs")
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            "source_probs must be probabilities (non-negative rows summing to 1): "
            "pass the softmax of the source head's logits, not the logits"
        )
    y, classes = encode_labels(labels, len(p))
    joint = _class_sums(p, y, classes)  # [C_t, C_s], proportional to P(y, z)
    mass = joint.sum(axis=0)
    conditional = np.divide(joint, mass, out=np.zeros_like(joint), where=mass > 0)
    expected = (p @ conditional.T)[np.arange(len(y)), y]
    if np.any(expected <= 0):
        raise ValueError(
            "LEEP is minus infinity here: some image gives its own label no probability "
            "(the source head's probabilities underflowed to 0)"
        )
    return float(np.mean(np.log(expected)))


def nce(source_labels: ArrayLike, labels: ArrayLike) -> float:
    """NCE (Tran et al., ICCV 2019, "Transferability and Hardness of Supervised Classification
    Tasks"): minus the empirical conditional entropy H(Y | Z) of the target label Y given the
    source label Z (usually the source head's argmax), in nats. It is <= 0, and 0 when the source
    label determines the target label. The source side may have a single class (then NCE is
    -H(Y)).
    """
    z, sources = encode_labels(source_labels, None, "source_labels", min_classes=1)
    y, classes = encode_labels(labels, len(z))
    joint = np.bincount(z * classes + y, minlength=sources * classes).reshape(sources, classes)
    joint = joint.astype(np.float64)
    per_source = joint.sum(axis=1, keepdims=True)
    seen = joint > 0
    entropy = -np.sum(joint[seen] * np.log((joint / per_source)[seen])) / len(y)
    return float(-entropy) + 0.0  # + 0.0 turns -0.0 into 0.0


def _h_from_covariance(covariance: np.ndarray, f: np.ndarray, y: np.ndarray, classes: int) -> float:
    """tr(cov(f)^+ cov(E[f | y])) with the between-class covariance in the references' form:
    the covariance (divisor N - 1) of the samples replaced by their class means."""
    n, d = f.shape
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    between = _class_sums(f, y, classes) / counts[:, None] - f.mean(axis=0)
    eigenvalues, vectors = np.linalg.eigh(covariance)
    keep = _rank_cutoff(eigenvalues, d)
    whitened = (between @ vectors[:, keep]) ** 2 / eigenvalues[keep]
    return float(counts @ whitened.sum(axis=1) / (n - 1))


def h_score(features: ArrayLike, labels: ArrayLike) -> float:
    """H-score (Bao et al., ICIP 2019, "An Information-Theoretic Approach to Transferability in
    Task Transfer Learning"): tr(cov(f)^-1 cov(E[f | y])), how much of the features' variance,
    in whitened units, lies between the class means. Invariant to translating or linearly
    re-mixing the features; at most C - 1.

    The inverse is a pseudo-inverse over the directions above rounding noise, so collinear or
    dead (constant) features do not blow it up. tllib's pseudo-inverse keeps directions down to
    1e-15 of the largest eigenvalue, so the two differ only for covariances with a condition
    number above ~1e12. With D close to N the sample covariance is too noisy to invert
    usefully; use ``h_score_shrinkage`` there.
    """
    f, y, classes = check_features_labels(features, labels)
    centred = f - f.mean(axis=0)
    covariance = centred.T @ centred / (len(f) - 1)
    return _h_from_covariance(covariance, f, y, classes)


def h_score_shrinkage(features: ArrayLike, labels: ArrayLike) -> float:
    """Regularised H-score (Ibrahim, Ponomareva and Mazumder, ECML-PKDD 2022, "Newer is not
    always better: Rethinking transferability metrics, their peculiarities, stability and
    performance"): the H-score with the feature covariance replaced by its Ledoit-Wolf shrinkage
    estimate (1 - a) S + a tr(S)/D I, and the between-class term scaled by (1 - a) to match.
    Shrinkage keeps the inverse stable when D is close to N (a few thousand images through a
    1,280-dimensional backbone), where the plain H-score is dominated by noise; when N >> D the
    shrinkage a tends to 0 and the two scores agree.
    """
    f, y, classes = check_features_labels(features, labels)
    centred = f - f.mean(axis=0)
    # scikit-learn's estimate, built here from its shrinkage alone: LedoitWolf().fit would also
    # invert the matrix, a second eigendecomposition this score never uses
    shrinkage = float(ledoit_wolf_shrinkage(centred, assume_centered=True))
    empirical = centred.T @ centred / len(f)
    covariance = (1.0 - shrinkage) * empirical
    covariance.flat[:: len(covariance) + 1] += shrinkage * np.trace(empirical) / f.shape[1]
    return (1.0 - shrinkage) * _h_from_covariance(covariance, f, y, classes)
