"""From the arrays of one pass through a backbone (and its untrained twin) to the readings of the
``Probes`` document, with the pure functions of ``advisor.probes``: every reading with its value,
the number of images it used and what it means, or why it could not be taken."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from advisor.probes import (
    CVScore,
    batchnorm_divergence,
    class_separation,
    h_score,
    h_score_shrinkage,
    knn_accuracy,
    leep,
    linear_probe_accuracy,
    logme,
    logme_score,
    nce,
    prediction_entropy,
    proxy_a_distance,
)
from advisor.probing.backbone import Backbone
from advisor.probing.extraction import BN_STAT_IMAGES, Extracted
from advisor.probing.scale import GapScale
from advisor.schema.probes import DomainGap, Granularity, Measurement, Transferability

MIN_PER_CLASS = 2

LOGME_LIMIT = (
    "; here its supremum as the noise vanishes: with no more images than features, each "
    "image's features independent of the others', a linear model fits the labels exactly"
)
"""Added to LogME's meaning when its value is that limit, not a maximum."""


def divergence_from_source(
    backbone: Backbone, extracted: Extracted
) -> tuple[float, dict[str, float]]:
    """Batch-norm divergence of extracted statistics from the backbone's own: mean, per layer."""
    per_layer = {}
    for name, module in backbone.batchnorm_layers():
        if name in extracted.bn_mean:
            per_layer[name] = batchnorm_divergence(
                extracted.bn_mean[name],
                extracted.bn_var[name],
                module.running_mean.detach().cpu().numpy(),
                module.running_var.detach().cpu().numpy(),
                module.eps,
            )
    return float(np.mean(list(per_layer.values()))), per_layer


@contextmanager
def quiet_numerics() -> Iterator[None]:
    """Numerical warnings (numpy's divide-by-zero, scikit-learn's convergence) stay off the
    terminal: a probe that cannot give a number says why in its reading instead."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def skipped(meaning: str, reason: str, sample: int = 0) -> Measurement:
    return Measurement(value=None, sample=sample, meaning=meaning, skipped=reason)


def reading(
    meaning: str, sample: int, compute: Callable[[], float | CVScore], digits: int = 4
) -> Measurement:
    """The probe's value, or, when the probe says it has none on these images, its reason."""
    try:
        result = compute()
    except ValueError as refused:
        return skipped(meaning, str(refused), sample)
    if isinstance(result, CVScore):
        value, spread = round(result.mean, digits), round(result.std, digits)
        return Measurement(value=value, spread=spread, sample=sample, meaning=meaning)
    return Measurement(value=round(float(result), digits), sample=sample, meaning=meaning)


GAP_MEANING = "0 = like natural photos, 1 = like noise"


def domain_gap_readings(
    backbone: Backbone,
    main: Extracted,
    scale: GapScale | None,
    x: np.ndarray,
    y: np.ndarray,
    baseline: Extracted | None,
    baseline_rows: list[int],
    n_labeled: int,
    reference_features: np.ndarray | None,
    seed: int,
) -> DomainGap:
    n = len(main.features)
    per_layer: dict[str, float] = {}
    if main.bn_mean and backbone.batchnorm_layers():
        divergence, per_layer = divergence_from_source(backbone, main)
        bn = reading(
            "KL from the source's batch-norm statistics, mean over layers; 0 = same",
            min(n, BN_STAT_IMAGES),
            lambda: divergence,
        )
    else:
        reason = "the backbone has no batch-norm statistics from a source"
        bn = skipped("KL from the source's batch-norm statistics", reason)
    if main.logits is not None:
        logits = main.logits
        entropy = reading(
            "entropy of the source head's predictions; 1 = recognises nothing",
            n,
            lambda: prediction_entropy(logits),
        )
    else:
        entropy = skipped(
            "entropy of the source head's predictions", "the backbone has no source head"
        )
    gap, contributions = _score(scale, {"batchnorm_divergence": bn, "source_entropy": entropy}, n)
    knn_gain, logme_gain = _gains(x, y, baseline, baseline_rows, seed)
    if reference_features is not None:
        reference = reading(
            "how separable your images are from the reference; 0 = same, 2 = disjoint",
            min(n, len(reference_features)) * 2,
            lambda: proxy_a_distance(main.features, reference_features, seed=seed),
            digits=3,
        )
    else:
        reference = skipped("proxy A-distance to --reference images", "no --reference given")
    pool = main.features[n_labeled:]
    if n_labeled >= 10 and len(pool) >= 10:
        shift = reading(
            "labeled vs unlabeled images; above ~1 the unlabeled pool is another domain",
            min(n_labeled, len(pool)) * 2,
            lambda: proxy_a_distance(x, pool, seed=seed),
            digits=3,
        )
    else:
        shift = skipped("labeled vs unlabeled images", "needs 10 labeled and 10 unlabeled images")
    driven = max(contributions, key=contributions.get, default=None)
    return DomainGap(
        score=gap,
        contributions={k: round(v, 3) for k, v in contributions.items()},
        driven_by=driven if driven is not None and contributions[driven] > 0 else None,
        batchnorm_divergence=bn,
        batchnorm_divergence_per_layer={k: round(v, 4) for k, v in per_layer.items()},
        calibration={k: round(v, 3) for k, v in (scale.landmarks if scale else {}).items()},
        source_entropy=entropy,
        knn_gain=knn_gain,
        logme_gain=logme_gain,
        reference_pad=reference,
        pool_shift_pad=shift,
    )


def _score(
    scale: GapScale | None, readings: dict[str, Measurement], n: int
) -> tuple[Measurement, dict[str, float]]:
    """The score on the scale, from the readings it combines; the reason when one is missing."""
    if scale is None:
        return skipped(GAP_MEANING, "no calibration for this backbone"), {}
    missing = [name for name in scale.signals if readings[name].value is None]
    if missing:
        why = "; ".join(f"{name}: {readings[name].skipped}" for name in missing)
        return skipped(GAP_MEANING, f"a signal it combines is missing ({why})"), {}
    value, parts = scale.score({name: readings[name].value for name in scale.signals})
    return Measurement(value=round(value, 3), sample=n, meaning=scale.meaning), parts


def _gains(
    x: np.ndarray, y: np.ndarray, baseline: Extracted | None, rows: list[int], seed: int
) -> tuple[Measurement, Measurement]:
    knn_meaning = (
        "k-NN accuracy of pretrained minus untrained features; <= 0: pretraining buys nothing"
    )
    logme_meaning = "LogME of pretrained minus untrained features"
    if baseline is None:
        reason = "needs labeled images of at least two classes"
        return skipped(knn_meaning, reason), skipped(logme_meaning, reason)
    subset_y = y[rows]
    if min(np.unique(subset_y, return_counts=True)[1]) < MIN_PER_CLASS:
        reason = f"needs {MIN_PER_CLASS} labeled images in every class"
        return skipped(knn_meaning, reason), skipped(logme_meaning, reason)
    pretrained, untrained = x[rows], baseline.features
    return (
        reading(
            knn_meaning,
            len(rows),
            lambda: (
                knn_accuracy(pretrained, subset_y, seed=seed).mean
                - knn_accuracy(untrained, subset_y, seed=seed).mean
            ),
        ),
        reading(
            logme_meaning,
            len(rows),
            lambda: logme(pretrained, subset_y) - logme(untrained, subset_y),
        ),
    )


def transferability_readings(
    x: np.ndarray, y: np.ndarray, logits: np.ndarray | None, seed: int
) -> Transferability:
    n = len(y)
    classes, counts = np.unique(y, return_counts=True) if n else (np.array([]), np.array([]))
    meanings = {
        "logme": "evidence of a linear model on the features (You et al. 2021); higher = better",
        "leep": "log expected empirical prediction of the source head (Nguyen et al. 2020)",
        "nce": "negative conditional entropy of labels given source classes (Tran et al. 2019)",
        "h_score": "feature discriminability for the labels (Bao et al. 2019); higher = better",
        "h_score_shrinkage": "H-score with a shrinkage covariance (Ibrahim et al. 2022)",
        "knn_accuracy": "cross-validated k-NN accuracy on the frozen features",
        "linear_probe_accuracy": "cross-validated logistic-regression accuracy on the features",
    }
    if len(classes) < 2:
        reason = "no labels" if n == 0 else "a single class: nothing to transfer to"
        return Transferability(**{k: skipped(m, reason, n) for k, m in meanings.items()})
    if counts.min() < MIN_PER_CLASS:
        reason = f"every class needs {MIN_PER_CLASS} labeled images"
        return Transferability(**{k: skipped(m, reason, n) for k, m in meanings.items()})

    def value(key: str, compute: Callable[[], float | CVScore]) -> Measurement:
        return reading(meanings[key], n, compute)

    head = "the backbone has no source head"
    if logits is not None:
        probs = torch.softmax(torch.from_numpy(logits[:n]), dim=1).numpy()
        leep_m = value("leep", lambda: leep(probs, y))
        nce_m = value("nce", lambda: nce(logits[:n].argmax(axis=1), y))
    else:
        leep_m, nce_m = skipped(meanings["leep"], head, n), skipped(meanings["nce"], head, n)
    limits: list[bool] = []

    def logme_value() -> float:
        score = logme_score(x, y)
        limits.append(score.noise_free_limit)
        return score.value

    logme_m = value("logme", logme_value)
    if any(limits):
        logme_m = logme_m.model_copy(update={"meaning": meanings["logme"] + LOGME_LIMIT})
    return Transferability(
        logme=logme_m,
        leep=leep_m,
        nce=nce_m,
        h_score=value("h_score", lambda: h_score(x, y)),
        h_score_shrinkage=value("h_score_shrinkage", lambda: h_score_shrinkage(x, y)),
        knn_accuracy=value("knn_accuracy", lambda: knn_accuracy(x, y, seed=seed)),
        linear_probe_accuracy=value(
            "linear_probe_accuracy", lambda: linear_probe_accuracy(x, y, seed=seed)
        ),
    )


def granularity_readings(x: np.ndarray, y: np.ndarray) -> Granularity:
    meaning = "within-class spread over between-class distance; >= 1: classes overlap"
    if len(set(y.tolist())) < 2:
        return Granularity(
            class_separation=skipped(meaning, "needs labeled images of two classes", len(y))
        )
    return Granularity(class_separation=reading(meaning, len(y), lambda: class_separation(x, y)))
