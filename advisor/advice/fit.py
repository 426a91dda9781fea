"""Fitting the gain model on the published direct comparisons (``advisor knowledge fit``).

Why a meta-regression with a random effect per study, written as a small conjugate Gaussian
model in numpy rather than taken from statsmodels' MixedLM: the data are a few dozen studies of
one to twenty rows each, several of which set a moderator that no other study varies; MixedLM's
maximum likelihood leaves such coefficients free (or fails to converge), where a weak Gaussian
prior on every coefficient keeps them near zero until the data say otherwise. With the two
variances fixed, the posterior of the coefficients is Gaussian in closed form; the variances are
chosen by the marginal likelihood on a fixed grid (empirical Bayes), so the fit is deterministic
and takes milliseconds. The random effect lets one study's rows share a quirk without that quirk
becoming a rule, and it enters every prediction for a new dataset, which is a new study.

The priors are centred on zero for every moderator that the direct comparisons vary: there the
direct evidence speaks for itself. A moderator that no direct comparison varies (before the
evidence of issue 27: fine-grained labels, methods of the pretext era, a pool of another
modality, whose evidence came from other kinds of comparison) takes its prior from the rule that
speaks for it, half a prior standard deviation in the rule's direction; otherwise the advice
would ignore what those studies found. Since that round every moderator is varied. The rules are
checked against the fitted coefficients, and one that the evidence contradicts is reported
(``rule_checks``), never silently kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from advisor.advice.moderators import moderators
from advisor.advice.self_training import st_moderators
from advisor.knowledge.base import KnowledgeBase
from advisor.knowledge.model import FitMetrics, GainModel, RuleCheck
from advisor.schema.knowledge import ResultRow
from advisor.schema.vocabulary import (
    CLASSIFICATION_TASKS,
    DENSE_TASKS,
    DIRECT_KINDS,
    MEDICAL_DOMAINS,
    MODEL_TERMS,
    SELF_TRAINING_KINDS,
    SELF_TRAINING_TERMS,
    Kind,
    Paradigm,
)

FIT_COMMAND = "advisor knowledge fit -o knowledge/model.json"
SELF_TRAINING_FIT_COMMAND = "advisor knowledge fit --self-training -o knowledge/self_training.json"

PRIOR_SD: dict[str, float] = {
    "intercept": 1.0,
    "continued": 0.75,
    "frozen": 0.75,
    "log_labeled": 0.5,
    "labeled_unknown": 0.75,
    "log_pool": 0.5,
    "pool_unknown": 0.75,
    "pool_related": 0.75,
    "pool_other": 0.75,
    "domain_gap": 1.5,
    "fine_grained": 0.75,
    "early_ssl": 0.75,
    "frozen_x_gap": 0.75,
    "labeled_x_gap": 0.75,
}
"""Prior standard deviations on the asinh scale, per unit of each moderator: an indicator or a
decade of images moving the gap by up to about sinh(1.5) = 2 points is unremarkable, the whole
domain-gap scale by about 4. Set before any fit on the new rows; the two products with the
domain gap were added after the development benchmark, with the prior of every added term."""

RULE_PRIOR_SHIFT = 0.5
"""Prior mean of a moderator no direct comparison varies, in prior standard deviations, in the
direction of the rule that speaks for it."""

VARIANCE_GRID = np.geomspace(1e-3, 10.0, 29)
"""Candidate values of both variances (asinh scale squared); tau^2 = 0 is tried as well."""

CHECK_LEVEL_Z = 1.6448536269514722
"""The 90% interval of a coefficient, for the rule checks (norm.ppf(0.95))."""


def direct_rows(kb: KnowledgeBase, exclude_studies: Iterable[str] = ()) -> list[ResultRow]:
    """Image classification comparisons of a self-supervised arm (from scratch or continued, on
    any pool) with supervised ImageNet transfer on the same target: the gap the advice is
    about. Detection and segmentation rows stay in the knowledge base for the rules, out of the
    fit: the tool advises on classifiers."""
    excluded = set(exclude_studies)
    return [
        row
        for row in kb.results
        if row.kind in DIRECT_KINDS
        and row.modality == "image"
        and row.task in CLASSIFICATION_TASKS
        and row.ssl_family is not None
        and row.study not in excluded
    ]


def self_training_rows(kb: KnowledgeBase, exclude_studies: Iterable[str] = ()) -> list[ResultRow]:
    """Image classification comparisons of self-training from supervised ImageNet weights with
    the same network fine-tuned on the labels alone: what the ``tl+st`` estimate is about."""
    excluded = set(exclude_studies)
    return [
        row
        for row in kb.results
        if row.kind is Kind.st_vs_tl
        and row.modality == "image"
        and row.task in CLASSIFICATION_TASKS
        and row.study not in excluded
    ]


def row_arm(row: ResultRow) -> Paradigm:
    return "tl+ssl" if row.kind == Kind.continued_vs_tl else "ssl"


def row_features(kb: KnowledgeBase, row: ResultRow) -> dict[str, Any]:
    """A published setting described with the engine's features (None where unreported)."""
    return {
        "labeled_images": row.labeled_images,
        "pool_images": row.pretraining_images,
        "pool_relation": row.pool_relation,
        # "svm" and "other" (frozen features under a trained head: an MLP, attention pooling
        # over a slide) are frozen readings, like a linear probe
        "protocol": row.protocol if row.protocol in ("fine-tune", "knn") else "linear",
        "classes": row.classes,
        "image_size": row.image_size,
        "domain_gap": kb.domains[row.domain].domain_gap,
        "fine_grained": row.fine_grained,
        "medical": row.domain in MEDICAL_DOMAINS,
        "dense": row.task in DENSE_TASKS,
        "early_ssl": row.early_ssl,
        # a self-training row's pool is unlabeled images for its teacher; a self-supervised
        # row's pool may hold the labeled images too, so it says nothing of unlabeled ones
        "unlabeled_images": row.pretraining_images if row.kind in SELF_TRAINING_KINDS else None,
    }


def study_scale(groups: Sequence[str]) -> np.ndarray:
    """Per-row multipliers of the within-study variance that give every study the same total
    weight (a study of 100 rows counts as much as one of 4), keeping the total what unweighted
    rows would have."""
    counts = Counter(groups)
    return np.array([counts[g] * len(counts) / len(groups) for g in groups], dtype=float)


class _LowRank:
    """A covariance ``sigma2 * diag(d) + U diag(lam) U^T`` with few columns in U (one per study
    and per coefficient), handled through the Woodbury identity: with two thousand rows the
    dense matrix of every grid point would take minutes, its k-by-k core takes microseconds."""

    def __init__(self, d: np.ndarray, u: np.ndarray) -> None:
        self.d, self.u = d, u
        self.wu = u.T / d
        self.core = self.wu @ u

    def solve_parts(self, sigma2: float, lam: np.ndarray) -> tuple[np.ndarray, float]:
        """The Cholesky factor of ``sigma2 / lam + U^T D^-1 U`` and log det of the covariance."""
        chol = np.linalg.cholesky(np.diag(sigma2 / lam) + self.core)
        n, k = self.u.shape
        logdet = (
            (n - k) * np.log(sigma2)
            + np.log(self.d).sum()
            + np.log(lam).sum()
            + 2 * np.log(np.diag(chol)).sum()
        )
        return chol, float(logdet)

    def inverse_times(self, m: np.ndarray, sigma2: float, lam: np.ndarray) -> np.ndarray:
        """The covariance's inverse times the columns of ``m``."""
        chol, _ = self.solve_parts(sigma2, lam)
        inner = np.linalg.solve(chol.T, np.linalg.solve(chol, self.wu @ m))
        return (m - self.u @ inner) / self.d[:, None] / sigma2


def _log_marginal(parts: _LowRank, r: np.ndarray, sigma2: float, lam: np.ndarray) -> float:
    chol, logdet = parts.solve_parts(sigma2, lam)
    z = np.linalg.solve(chol, parts.wu @ r)
    quad = (r @ (r / parts.d) - z @ z) / sigma2
    return -0.5 * quad - 0.5 * logdet


def fit_arrays(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    prior_mean: np.ndarray,
    prior_sd: np.ndarray,
    random_effect: bool = True,
    row_scale: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Posterior mean and covariance of the coefficients, tau^2 and sigma^2, for rows ``x``,
    asinh gaps ``y`` and each row's study in ``groups``; ``row_scale`` multiplies each row's
    within-study variance (``study_scale``)."""
    labels = np.asarray(groups)
    z = np.equal.outer(labels, np.unique(labels)).astype(float)
    d = np.ones(len(y)) if row_scale is None else np.asarray(row_scale, dtype=float)
    r = y - x @ prior_mean
    with_studies = _LowRank(d, np.hstack([z, x]))
    without = _LowRank(d, x)
    prior_var = prior_sd**2
    candidates = []
    for tau2 in np.concatenate([[0.0], VARIANCE_GRID]) if random_effect else [0.0]:
        parts = with_studies if tau2 > 0 else without
        lam = np.concatenate([np.full(z.shape[1], tau2), prior_var]) if tau2 > 0 else prior_var
        for s, sigma2 in enumerate(VARIANCE_GRID):
            candidates.append((_log_marginal(parts, r, sigma2, lam), float(tau2), s))
    _, tau2, s = max(candidates)
    sigma2 = float(VARIANCE_GRID[s])
    # the coefficients' posterior under the chosen variances: the study effects stay in the
    # covariance of the rows, the coefficients get their Gaussian prior
    xy = np.column_stack([x, y])
    if tau2 > 0:
        v_inv = _LowRank(d, z).inverse_times(xy, sigma2, np.full(z.shape[1], tau2))
    else:
        v_inv = xy / d[:, None] / sigma2
    precision = np.diag(1.0 / prior_var) + x.T @ v_inv[:, :-1]
    cov = np.linalg.inv(precision)
    mean = cov @ (prior_mean / prior_var + x.T @ v_inv[:, -1])
    return mean, (cov + cov.T) / 2, tau2, sigma2


def _checks(
    kb: KnowledgeBase, mean: np.ndarray, cov: np.ndarray, silent: np.ndarray
) -> list[RuleCheck]:
    checks = []
    for rule in kb.rules:
        if rule.model is None:
            continue
        k = MODEL_TERMS.index(rule.model.term)
        half = CHECK_LEVEL_Z * float(np.sqrt(cov[k, k]))
        low, high = float(mean[k] - half), float(mean[k] + half)
        side_low, side_high = sorted((low * rule.model.sign, high * rule.model.sign))
        if silent[k]:
            status = "prior"
        elif side_low > 0:
            status = "supported"
        else:
            status = "contradicted" if side_high < 0 else "consistent"
        checks.append(
            RuleCheck(
                rule=rule.id,
                term=rule.model.term,
                sign=rule.model.sign,
                coefficient=float(mean[k]),
                low=low,
                high=high,
                status=status,
            )
        )
    return checks


def silent_terms(x: np.ndarray) -> np.ndarray:
    """The moderators that rows ``x`` never vary (their data cannot speak of them)."""
    return np.all(x == x[0], axis=0)


def rule_prior_means(kb: KnowledgeBase, silent: np.ndarray, prior_sd: np.ndarray) -> np.ndarray:
    """Zero for the moderators the direct comparisons vary; for the ``silent`` ones, the
    direction of the rule that speaks for them (see the module's docstring)."""
    means = np.zeros(len(MODEL_TERMS))
    for rule in kb.rules:
        if rule.model is None:
            continue
        k = MODEL_TERMS.index(rule.model.term)
        if silent[k] and MODEL_TERMS[k] != "intercept":
            means[k] = RULE_PRIOR_SHIFT * prior_sd[k] * rule.model.sign
    return means


def _posterior(
    prior_mean: np.ndarray,
    prior_sd: np.ndarray,
    fit: tuple[np.ndarray, np.ndarray, float, float],
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
) -> dict[str, Any]:
    """The fields both models share: priors, posterior, variances and in-sample metrics."""
    mean, cov, tau2, sigma2 = fit
    fitted = x @ mean
    return {
        "prior_mean": prior_mean.tolist(),
        "prior_sd": prior_sd.tolist(),
        "coefficients": mean.tolist(),
        "covariance": cov.tolist(),
        "between_study_variance": tau2,
        "within_study_variance": sigma2,
        "metrics": FitMetrics(
            rows=len(y),
            studies=len(set(groups)),
            rmse=float(np.sqrt(np.mean((fitted - y) ** 2))),
            sign_agreement=float(np.mean(np.sign(fitted) == np.sign(y))),
        ),
    }


def fit_gain_model(
    kb: KnowledgeBase,
    exclude_studies: Iterable[str] = (),
    experience: Sequence[tuple[dict[str, Any], Paradigm, float]] = (),
) -> GainModel:
    """Fit on the direct comparisons, minus the sealed and the excluded studies, plus local
    pilots given as (features, arm, measured gain in points), each counting as its own study;
    deterministic for the same data."""
    excluded = sorted(set(exclude_studies) | set(kb.sealed))
    rows = direct_rows(kb, excluded)
    if len(rows) < 3:
        raise ValueError("the gain model needs at least 3 direct comparisons")
    x = np.array(
        [moderators(row_features(kb, row), row_arm(row)) for row in rows]
        + [moderators(features, arm) for features, arm, _ in experience]
    )
    y = np.arcsinh([row.gap for row in rows] + [gain for _, _, gain in experience])
    groups = [row.study for row in rows] + [f"pilot-{k}" for k in range(len(experience))]
    prior_sd = np.array([PRIOR_SD[term] for term in MODEL_TERMS])
    # the studies decide which moderators are silent: one pilot on fine-grained labels must not
    # silence what the studies found about them
    silent = silent_terms(x[: len(rows)])
    prior_mean = rule_prior_means(kb, silent, prior_sd)
    mean, cov, tau2, sigma2 = fit_arrays(x, y, groups, prior_mean, prior_sd)
    return GainModel(
        method="meta-regression of asinh(SSL - TL gap) on the moderators, Gaussian priors "
        "(centred on 0, or on the rule's direction for a moderator no comparison varies), a "
        "random intercept per study, variances by marginal likelihood (numpy, closed form)",
        command=FIT_COMMAND,
        terms=list(MODEL_TERMS),
        rule_checks=_checks(kb, mean, cov, silent),
        fit_rows=[row.id for row in rows] + [f"pilot-{k}" for k in range(len(experience))],
        excluded_studies=excluded,
        **_posterior(prior_mean, prior_sd, (mean, cov, tau2, sigma2), x, y, groups),
    )


def fit_self_training_model(kb: KnowledgeBase, exclude_studies: Iterable[str] = ()) -> GainModel:
    """The same meta-regression on the self-training comparisons, with its own smaller set of
    terms (``SELF_TRAINING_TERMS``), every prior centred on zero: no rule speaks for a term
    here, and the studies decide. Sealed studies are left out as for the gain model."""
    excluded = sorted(set(exclude_studies) | set(kb.sealed))
    rows = self_training_rows(kb, excluded)
    if len(rows) < 3:
        raise ValueError("the self-training model needs at least 3 comparisons")
    x = np.array([st_moderators(row_features(kb, row)) for row in rows])
    y = np.arcsinh([row.gap for row in rows])
    groups = [row.study for row in rows]
    prior_sd = np.array([PRIOR_SD[term] for term in SELF_TRAINING_TERMS])
    prior_mean = np.zeros(len(SELF_TRAINING_TERMS))
    mean, cov, tau2, sigma2 = fit_arrays(
        x, y, groups, prior_mean, prior_sd, row_scale=study_scale(groups)
    )
    return GainModel(
        method="meta-regression of asinh(tl+st - tl gap) on the self-training terms, Gaussian "
        "priors centred on 0, a random intercept per study, studies weighted equally, variances "
        "by marginal likelihood (numpy, closed form)",
        command=SELF_TRAINING_FIT_COMMAND,
        terms=list(SELF_TRAINING_TERMS),
        rule_checks=[],
        fit_rows=[row.id for row in rows],
        excluded_studies=excluded,
        **_posterior(prior_mean, prior_sd, (mean, cov, tau2, sigma2), x, y, groups),
    )
