"""From the arrays of one pass through a backbone (and its untrained twin) to the readings of the
``Probes`` document, with the pure functions of ``advisor.probes``: every reading with its value,
the number of images it used and what it means, or why it could not be taken."""

from __future__ import annotations

import numpy as np
import torch

from advisor.probes import (
    batchnorm_divergence,
    calibrated_gap,
    class_separation,
    h_score,
    h_score_shrinkage,
    knn_accuracy,
    leep,
    linear_probe_accuracy,
    logme,
    nce,
    prediction_entropy,
    proxy_a_distance,
)
from advisor.probing.backbone import Backbone
from advisor.probing.extraction import BN_STAT_IMAGES, Extracted
from advisor.schema.probes import DomainGap, Granularity, Measurement, Transferability

FINE_GRAINED_SEPARATION = 1.0
"""Class separation (within-class spread over between-centre distance) from which classes
overlap as much as they differ: a convention, not a fitted value."""


MIN_PER_CLASS = 2


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


def skipped(meaning: str, reason: str, sample: int = 0) -> Measurement:
    return Measurement(value=None, sample=sample, meaning=meaning, skipped=reason)


def domain_gap_readings(
    backbone: Backbone,
    main: Extracted,
    anchors: dict[str, float],
    x: np.ndarray,
    y: np.ndarray,
    baseline: Extracted | None,
    baseline_rows: list[int],
    n_labeled: int,
    reference_features: np.ndarray | None,
    seed: int,
) -> DomainGap:
    n = len(main.features)
    if main.bn_mean and backbone.batchnorm_layers():
        divergence, per_layer = divergence_from_source(backbone, main)
        bn = Measurement(
            value=round(divergence, 4),
            sample=min(n, BN_STAT_IMAGES),
            meaning="KL from the source's batch-norm statistics, mean over layers; 0 = same",
        )
        if anchors:
            gap = Measurement(
                value=round(calibrated_gap(divergence, anchors), 3),
                sample=bn.sample,
                meaning="0 = like natural photos, 1 = like noise, for this backbone",
            )
        else:
            gap = skipped("0 = like natural photos, 1 = like noise", "no calibration")
    else:
        per_layer = {}
        reason = "the backbone has no batch-norm statistics from a source"
        bn = skipped("KL from the source's batch-norm statistics", reason)
        gap = skipped("0 = like natural photos, 1 = like noise", reason)
    if main.logits is not None:
        entropy = Measurement(
            value=round(prediction_entropy(main.logits), 4),
            sample=n,
            meaning="entropy of the source head's predictions; 1 = recognises nothing",
        )
    else:
        entropy = skipped(
            "entropy of the source head's predictions", "the backbone has no source head"
        )
    knn_gain, logme_gain = _gains(x, y, baseline, baseline_rows, seed)
    if reference_features is not None:
        reference = Measurement(
            value=round(proxy_a_distance(main.features, reference_features, seed=seed), 3),
            sample=min(n, len(reference_features)) * 2,
            meaning="how separable your images are from the reference; 0 = same, 2 = disjoint",
        )
    else:
        reference = skipped("proxy A-distance to --reference images", "no --reference given")
    pool = main.features[n_labeled:]
    if n_labeled >= 10 and len(pool) >= 10:
        shift = Measurement(
            value=round(proxy_a_distance(x, pool, seed=seed), 3),
            sample=min(n_labeled, len(pool)) * 2,
            meaning="labeled vs unlabeled images; above ~1 the unlabeled pool is another domain",
        )
    else:
        shift = skipped("labeled vs unlabeled images", "needs 10 labeled and 10 unlabeled images")
    return DomainGap(
        score=gap,
        batchnorm_divergence=bn,
        batchnorm_divergence_per_layer={k: round(v, 4) for k, v in per_layer.items()},
        calibration={k: round(v, 4) for k, v in anchors.items()},
        source_entropy=entropy,
        knn_gain=knn_gain,
        logme_gain=logme_gain,
        reference_pad=reference,
        pool_shift_pad=shift,
    )


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
    knn = (
        knn_accuracy(pretrained, subset_y, seed=seed).mean
        - knn_accuracy(untrained, subset_y, seed=seed).mean
    )
    gain = logme(pretrained, subset_y) - logme(untrained, subset_y)
    return (
        Measurement(value=round(knn, 4), sample=len(rows), meaning=knn_meaning),
        Measurement(value=round(gain, 4), sample=len(rows), meaning=logme_meaning),
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

    def value(key: str, v: float) -> Measurement:
        return Measurement(value=round(float(v), 4), sample=n, meaning=meanings[key])

    head = "the backbone has no source head"
    if logits is not None:
        probs = torch.softmax(torch.from_numpy(logits[:n]), dim=1).numpy()
        leep_m = value("leep", leep(probs, y))
        nce_m = value("nce", nce(logits[:n].argmax(axis=1), y))
    else:
        leep_m, nce_m = skipped(meanings["leep"], head, n), skipped(meanings["nce"], head, n)
    knn = knn_accuracy(x, y, seed=seed)
    linear = linear_probe_accuracy(x, y, seed=seed)
    return Transferability(
        logme=value("logme", logme(x, y)),
        leep=leep_m,
        nce=nce_m,
        h_score=value("h_score", h_score(x, y)),
        h_score_shrinkage=value("h_score_shrinkage", h_score_shrinkage(x, y)),
        knn_accuracy=Measurement(
            value=round(knn.mean, 4),
            spread=round(knn.std, 4),
            sample=n,
            meaning=meanings["knn_accuracy"],
        ),
        linear_probe_accuracy=Measurement(
            value=round(linear.mean, 4),
            spread=round(linear.std, 4),
            sample=n,
            meaning=meanings["linear_probe_accuracy"],
        ),
    )


def granularity_readings(x: np.ndarray, y: np.ndarray) -> Granularity:
    meaning = "within-class spread over between-class distance; >= 1: classes overlap"
    if len(set(y.tolist())) < 2:
        return Granularity(
            class_separation=skipped(meaning, "needs labeled images of two classes", len(y)),
            fine_grained=None,
            threshold=FINE_GRAINED_SEPARATION,
        )
    separation = class_separation(x, y)
    return Granularity(
        class_separation=Measurement(value=round(separation, 4), sample=len(y), meaning=meaning),
        fine_grained=separation >= FINE_GRAINED_SEPARATION,
        threshold=FINE_GRAINED_SEPARATION,
    )
