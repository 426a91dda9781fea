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

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.covariance import ledoit_wolf_shrinkage

from .validation import as_matrix, check_features_labels, encode_labels

__all__ = ["LogMEScore", "h_score", "h_score_shrinkage", "leep", "logme", "logme_score", "nce"]

# LogME's fixed-point iteration usually settles in a handful of steps when N >> D, but only
# slowly (linearly) when D is close to or above N, where the reference code's cap of 11 steps
# stops it early. Here it runs until the evidence per sample moves by less than _LOGME_TOL; the
# iterations cost O(C k) each against the O(N D^2) decomposition, so the cap is only a backstop.
_LOGME_TOL = 1e-10
_LOGME_MAX_ITER = 2000
_EPS = np.finfo(np.float64).eps
# When the features have full rank N, t = alpha / beta is searched on this many points spread
# evenly in log t over its whole useful range (at most ~110 e-folds, so at most 0.11 apart),
# and the best one is refined. The evidence's second derivative in log t is at most 1/4 in
# size, so a maximum elsewhere can beat the best point of the grid by at most 0.11^2 / 32, 4e-4
# per sample, and only where two maxima are that close in height.
_LOGME_GRID = 1025


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
    return eigenvalues > top * size * _EPS


@dataclass(frozen=True)
class LogMEScore:
    """LogME with a word on how its value was reached.

    ``noise_free_limit`` is True when, for at least one class, the evidence has no maximum but a
    finite supremum approached as the noise precision beta grows without bound, and ``value``
    averages that supremum in. This can happen only when there are no more images than features
    and the images' feature vectors are linearly independent (F F^T has full rank N): a linear
    model then interpolates every one-hot target exactly, and for a target that the features'
    large directions explain well the evidence keeps rising as the noise variance 1 / beta falls
    to zero. The reference code (thuml/LogME) gives a finite number there only because it stops
    after at most 11 steps and adds 1e-5 to the squared residual; the value here is the limit
    itself."""

    value: float
    noise_free_limit: bool


def logme(features: ArrayLike, labels: ArrayLike) -> float:
    """LogME's value alone: ``logme_score(features, labels).value``."""
    return logme_score(features, labels).value


def logme_score(features: ArrayLike, labels: ArrayLike) -> LogMEScore:
    """LogME (You et al., ICML 2021, "LogME: Practical Assessment of Pre-trained Models for
    Transfer Learning"; fixed-point algorithm of You et al., JMLR 2022, "Ranking and Tuning
    Pre-trained Models"): the log marginal likelihood per sample of a Bayesian linear regression
    from the features to each class's one-hot indicator, maximised over the prior precision alpha
    and the noise precision beta, averaged over classes. Higher means the features already
    separate the classes linearly without overfitting; no bias term and no centring, as in the
    paper's code.

    All classes share the features, so one eigendecomposition of the smaller Gram matrix
    (F^T F when N >= D, else F F^T) serves every class. The per-class targets enter only through
    their projections x = U^T y on the left singular vectors; when N >= D these come from the
    class sums F^T y = V S x, without forming the N x D matrix U. Directions with zero singular
    value (D > N, dead or collinear features) add log(alpha) to both the prior and the
    determinant term of the evidence and cancel; dropping them keeps the value equal to the
    all-D-dimensions formula of the ICML paper.

    How the maximum is found depends on the rank k of the features against N:

    - k < N (always when N > D): the per-class fixed-point updates, as one vectorised iteration
      over classes. A target with a part outside the features' span pays beta times its squared
      norm in the residual, so the evidence falls without bound as beta grows, and its maximum
      is inside the plane or, for a target the features say nothing about, the noise-only limit
      alpha -> infinity. If instead a class's indicator lies exactly in the span, the evidence
      has no maximum and this raises ``ValueError``: the model's covariance is singular along
      the N - k directions of R^N that no feature reaches, the target has no component there,
      and its density grows without bound as the noise variance shrinks. That happens when some
      images' features are linear combinations of others' (the same image twice, every image of
      a class with the same features) and the features fit the labels exactly.
    - k = N (N <= D, independent images): the evidence stays finite as beta grows, and it is
      flat in t = alpha / beta near t = 0, so updates that stall there cannot be told from ones
      that have arrived; from the reference's start alpha = beta = 1 they stall whenever the
      features' scale puts t = 1 on that plateau. The search is made on the evidence maximised
      over alpha in closed form, a function of t alone, over every scale of t, and the
      supremum may be its limit at t = 0 (see ``LogMEScore`` and ``_full_rank_supremum``).
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
    if len(sigma) == n:
        # every target lies in the features' span: |y|^2 - sum x^2 is only rounding here
        evidence, limit = _full_rank_supremum(sigma, x2, n)
        return LogMEScore(float(np.mean(evidence)), bool(np.any(limit)))
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    outside = np.maximum(counts - x2.sum(axis=1), 0.0)
    # a part outside the span no larger than the rounding of that subtraction is none
    if np.any(outside <= counts * n * _EPS):
        raise ValueError(
            "LogME has no maximum here: the features fit the labels exactly although some "
            "images' features are linear combinations of other images' (for instance, the same "
            "image twice, or every image of a class with the same features), so the evidence "
            "grows without bound"
        )
    evidence = _max_log_evidence(sigma, x2, outside, n)
    return LogMEScore(float(np.mean(np.maximum(evidence, _noise_only(counts, n)))), False)


def _noise_only(y2: np.ndarray, n: int) -> np.ndarray:
    """Log evidence per sample in the limit alpha -> infinity, where the prior pins the weights
    to zero and the model is noise alone, y ~ N(0, I / beta), at its best beta = N / |y|^2. It
    is finite for every target and is the supremum for one the features carry nothing about."""
    return -0.5 * (np.log(2.0 * np.pi * y2 / n) + 1.0)


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
    rather than subtracted, because gamma can come close to N and the difference would lose
    its digits."""
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


def _max_log_evidence(sigma: np.ndarray, x2: np.ndarray, outside: np.ndarray, n: int) -> np.ndarray:
    """Maximised log evidence per sample for each target when the features have rank k < N,
    given the squared singular values sigma [k], the squared projections x2 [C, k] of each
    target on the left singular vectors and the squared norm outside [C] > 0 of each target's
    part outside the features' span (it only adds to the residual). MacKay's updates
    alpha = gamma / |m|^2, beta = (N - gamma) / |y - F m|^2, iterated for every class at once
    until the evidence stops moving.

    Convergence is judged on the evidence, not on alpha / beta: when the features tell nothing
    about a target the updates drift towards alpha -> infinity, where t = alpha / beta keeps
    growing geometrically while the evidence settles at its noise-only limit, which the caller
    compares against. A target with no projection at all (x = 0: the feature vectors of its
    class sum to zero, as when they are all zero) is not iterated, since its first
    alpha = gamma / |m|^2 would be gamma / 0; the noise-only limit is its supremum."""
    alpha = np.ones(len(outside))
    beta = np.ones(len(outside))
    evidence, gamma, rest, m2, res2 = _evidence(alpha, beta, sigma, x2, outside, n)
    active = np.flatnonzero(m2 > 0)
    for _ in range(_LOGME_MAX_ITER):
        if not active.size:
            break
        alpha[active] = gamma[active] / m2[active]
        beta[active] = rest[active] / res2[active]
        updated = _evidence(alpha[active], beta[active], sigma, x2[active], outside[active], n)
        moving = np.abs(updated[0] - evidence[active]) > _LOGME_TOL
        for whole, part in zip((evidence, gamma, rest, m2, res2), updated, strict=True):
            whole[active] = part
        active = active[moving]
    return evidence


def _rise_above_noise_free(
    t: np.ndarray, sigma: np.ndarray, x2: np.ndarray, q: np.ndarray, n: int
) -> np.ndarray:
    """For features of full rank k = N: the log evidence per sample at t = alpha / beta [G],
    maximised over alpha, minus its limit at t = 0, for each target [C, G].

    With no part of any target outside the span, the evidence of ``_evidence`` is
    -0.5 (sum log(sigma + t) - N log(alpha) + alpha S(t) + N log(2 pi)) / N with
    S(t) = sum x^2 / (sigma + t); at its best alpha = N / S(t) it is
    -0.5 (sum log(sigma + t) / N + log(S(t) / N) + 1 + log(2 pi)). Its limit at t = 0 has
    sigma for sigma + t and Q = S(0) = sum x^2 / sigma for S(t). The difference,
    -0.5 (sum log1p(t / sigma) / N + log(S(t) / Q)), is formed directly, with
    S(t) / Q = 1 - t sum x^2 / (sigma (sigma + t)) / Q through log1p while that is near 1, so
    that its sign stays right where it is far smaller than the evidence itself."""
    inverse = 1.0 / (sigma + t[:, None])  # [G, k]
    drop = t * (x2 @ (inverse / sigma).T) / q[:, None]  # 1 - S(t) / Q
    log_ratio = np.where(
        drop < 0.5,
        np.log1p(-np.minimum(drop, 0.5)),
        np.log((x2 @ inverse.T) / q[:, None]),
    )
    return -0.5 * (np.log1p(t[:, None] / sigma).sum(axis=1) / n + log_ratio)


def _full_rank_supremum(sigma: np.ndarray, x2: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Supremum of the log evidence per sample for each target when the features have full rank
    k = N (arguments as for ``_max_log_evidence``), and whether it is the limit beta -> infinity.

    Every target is then interpolated exactly by the minimum-norm weights, of squared norm
    Q = sum x^2 / sigma, and as t = alpha / beta -> 0 the evidence tends to
    -0.5 (sum log(sigma) / N + log(Q / N) + 1 + log(2 pi)), at alpha = N / Q: in
    ``_evidence``, 0.5 N log(beta) - 0.5 sum log(1 + sigma / t) tends to
    0.5 N log(alpha) - 0.5 sum log(sigma), beta |y - F m|^2 to 0 and alpha |m|^2 to alpha Q.
    Its rise above that limit (``_rise_above_noise_free``) is searched over t on a grid from
    min sigma * eps to max sigma / eps, beyond which every sigma + t rounds to sigma or to t,
    then refined by Brent's method around the grid's best point; its value as t -> infinity is
    the noise-only limit. The supremum is the limit at t = 0 when nothing rises above it."""
    q = (x2 / sigma).sum(axis=1)
    noise_free = -0.5 * (np.log(sigma).sum() / n + np.log(q / n) + 1.0 + np.log(2.0 * np.pi))
    log_t = np.linspace(np.log(sigma.min() * _EPS), np.log(sigma.max() / _EPS), _LOGME_GRID)
    grid = _rise_above_noise_free(np.exp(log_t), sigma, x2, q, n)
    best = grid.max(axis=1)
    for c, i in enumerate(grid.argmax(axis=1)):
        refined = minimize_scalar(
            lambda s, c=c: (
                -_rise_above_noise_free(np.exp([s]), sigma, x2[c : c + 1], q[c : c + 1], n)[0, 0]
            ),
            bounds=(log_t[max(i - 1, 0)], log_t[min(i + 1, len(log_t) - 1)]),
            method="bounded",
            options={"xatol": 1e-10},
        )
        best[c] = max(best[c], -refined.fun)
    rise = np.maximum(best, _noise_only(x2.sum(axis=1), n) - noise_free)
    limit = rise <= 0.0
    return noise_free + np.maximum(rise, 0.0), limit


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
