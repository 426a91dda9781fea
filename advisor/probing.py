"""The probes stage of ``analyze``: a pretrained backbone's view of the scanned dataset.

Samples the images, runs them once through the backbone (features, source logits, batch-norm
statistics; cached on disk), a small stratified subset through the same architecture untrained,
and turns the arrays into the ``Probes`` document with the pure functions of advisor.probes.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from advisor import __version__
from advisor.anchors import write_anchor
from advisor.backbones import Backbone, load_backbone, random_counterpart
from advisor.errors import InputError
from advisor.features import (
    BN_STAT_IMAGES,
    CACHE_FORMAT,
    Extracted,
    FeatureCache,
    ResultCache,
    cache_key,
    extract_cached,
    random_sample,
    resolve_device,
    stratified_sample,
)
from advisor.images import ImageFacts, content_digest
from advisor.knowledge.calibration import domain_gap_calibration
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
from advisor.scan import Discovery, discover, inspect_all
from advisor.schema import DomainGap, Granularity, Measurement, Probes, Transferability
from advisor.settings import ProbeSettings

CPU_RESOLUTION = 160
"""Probe resolution on a CPU: the whole cold probes stage on 2,000 images takes ~17 s at 160 px
on two cores and ~32 s at 224 (benchmarks/probes.py). 224 would fit the minute as well, at twice
the wait, but the readings move with the resolution (benchmarks/README.md compares them) and the
advice with them: on the demo's digits the verdict is tl+ssl (0.64) at 160 px and a tie at 224.
The batch-norm divergence orders the anchor sets the same way from 64 to 224 px
(knowledge/domain_gap.json)."""

POOL_SAMPLE = 500
REFERENCE_SAMPLE = 500
BASELINE_SAMPLE = 128
"""Images through the untrained network: enough for a k-NN and LogME reading (16 per class
for 8 classes), few enough that the baseline costs under a tenth of the main pass."""
ANCHOR_IMAGES = 64
FINE_GRAINED_SEPARATION = 1.0
"""Class separation (within-class spread over between-centre distance) from which classes
overlap as much as they differ: a convention, not a fitted value."""
MIN_PER_CLASS = 2


Progress = Callable[[str, int], None]
"""Called with a stage description and its number of images when a stage starts."""


def run_probes(
    found: Discovery,
    facts: Sequence[ImageFacts],
    usable: Sequence[int],
    settings: ProbeSettings,
    on_stage: Progress | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Probes:
    """Probe the usable images of a scan (indices into ``found.entries``)."""
    started = time.perf_counter()
    device = resolve_device(settings.device)
    resolution = settings.resolution or (CPU_RESOLUTION if device.type == "cpu" else None)
    backbone = load_backbone(settings.backbone, resolution)
    cache = FeatureCache() if settings.cache else None
    reference = _reference_images(settings.reference) if settings.reference else None

    labels = [found.entries[i].label for i in usable]
    labeled = [usable[i] for i in stratified_sample(labels, settings.sample, settings.seed)]
    pool_all = [i for i in usable if found.entries[i].label is None]
    pool = random_sample(pool_all, POOL_SAMPLE if labeled else settings.sample, settings.seed)
    chosen = labeled + pool

    y = np.array([found.entries[i].label for i in labeled], dtype=object)
    classes = len(set(y.tolist()))
    baseline_rows = (
        stratified_sample(list(y), BASELINE_SAMPLE, settings.seed) if classes > 1 else []
    )
    results = ResultCache(cache) if cache is not None else None
    key = _result_key(
        backbone,
        device,
        settings.seed,
        [facts[i].digest for i in chosen],
        y,
        reference[1] if reference else [],
    )
    stored = results.load(key) if results is not None else None
    if stored is not None:
        seconds = round(time.perf_counter() - started, 2)
        return Probes.model_validate_json(stored).model_copy(
            update={"cache": "hit", "seconds": seconds}
        )

    def run(name: str, paths: Sequence[str], digests: Sequence[bytes], net: Backbone) -> Extracted:
        if on_stage:
            on_stage(name, len(paths))
        return extract_cached(paths, digests, net, device, cache, on_progress)

    main = run(
        "probing with the pretrained backbone",
        [found.entries[i].path for i in chosen],
        [facts[i].digest for i in chosen],
        backbone,
    )
    x = main.features[: len(labeled)]
    baseline = None
    if baseline_rows:
        rows = [labeled[r] for r in baseline_rows]
        baseline = run(
            "probing the untrained baseline",
            [found.entries[i].path for i in rows],
            [facts[i].digest for i in rows],
            random_counterpart(backbone, settings.seed),
        )
    reference_features = None
    if reference is not None:
        paths, digests = reference
        reference_features = run("probing the reference images", paths, digests, backbone).features
    anchors = _anchors(backbone, device, cache, run)

    domain = _domain_gap(
        backbone,
        main,
        anchors,
        x,
        y,
        baseline,
        baseline_rows,
        len(labeled),
        reference_features,
        settings.seed,
    )
    transferability = _transferability(x, y, main.logits, settings.seed)
    granularity = _granularity(x, y)
    probes = Probes(
        backbone=backbone.spec,
        backbone_description=backbone.description,
        resolution=backbone.preprocessing.resolution,
        device=device.type,
        labeled_sample=len(labeled),
        unlabeled_sample=len(pool),
        cache="off" if cache is None else ("hit" if main.cached else "miss"),
        seconds=round(time.perf_counter() - started, 2),  # after every probe has run
        domain_gap=domain,
        transferability=transferability,
        granularity=granularity,
    )
    if results is not None:
        results.save(key, probes.model_dump_json())
    return probes


def _result_key(
    backbone: Backbone,
    device: torch.device,
    seed: int,
    digests: Sequence[bytes],
    labels: np.ndarray,
    reference: Sequence[bytes],
) -> str:
    """Everything a probes document depends on: the tool (its version), how features are
    extracted (the feature cache's format), the network and its input, the device (autocast
    changes the last digits), the seed, the sampled images with their labels, the reference
    images and the shipped calibration."""
    calibration = domain_gap_calibration()
    parts = (
        __version__,
        CACHE_FORMAT,
        str(BN_STAT_IMAGES),
        backbone.spec,
        backbone.weights_id,
        backbone.preprocessing.key(),
        device.type,
        str(seed),
        calibration.model_dump_json() if calibration is not None else "",
        "\0".join(str(label) for label in labels),
    )
    return cache_key(parts, digests, reference)


def _reference_images(folder: Path) -> tuple[list[str], list[bytes]]:
    try:
        found = discover(folder)
    except InputError as exc:
        raise InputError(f"--reference: {exc}") from None
    facts = inspect_all([e.path for e in found.entries], decode=False)
    usable = [i for i, f in enumerate(facts) if f.is_image and f.error is None]
    if not usable:
        raise InputError(f"--reference {folder} holds no readable images")
    chosen = random_sample(usable, REFERENCE_SAMPLE, 0)
    return [found.entries[i].path for i in chosen], [facts[i].digest for i in chosen]


def _anchors(backbone: Backbone, device: torch.device, cache, run) -> dict[str, float]:
    """Anchor divergences for this backbone and resolution: the shipped calibration for the
    default backbone, otherwise measured now on small natural and noise sets."""
    calibration = domain_gap_calibration()
    if calibration is not None and calibration.weights_id == backbone.weights_id:
        return calibration.anchors_at(backbone.preprocessing.resolution)
    if not backbone.batchnorm_layers():
        return {}
    anchors = {}
    with tempfile.TemporaryDirectory(prefix="advisor-anchors-") as tmp:
        for name in ("natural", "noise"):
            paths = write_anchor(name, Path(tmp) / name, ANCHOR_IMAGES)
            digests = [content_digest(Path(p).read_bytes()) for p in paths]
            extracted = run(f"calibrating on {name} images", paths, digests, backbone)
            anchors[name] = divergence_from_source(backbone, extracted)[0]
    return anchors


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


def _skip(meaning: str, reason: str, sample: int = 0) -> Measurement:
    return Measurement(value=None, sample=sample, meaning=meaning, skipped=reason)


def _domain_gap(
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
            gap = _skip("0 = like natural photos, 1 = like noise", "no calibration")
    else:
        per_layer = {}
        reason = "the backbone has no batch-norm statistics from a source"
        bn = _skip("KL from the source's batch-norm statistics", reason)
        gap = _skip("0 = like natural photos, 1 = like noise", reason)
    if main.logits is not None:
        entropy = Measurement(
            value=round(prediction_entropy(main.logits), 4),
            sample=n,
            meaning="entropy of the source head's predictions; 1 = recognises nothing",
        )
    else:
        entropy = _skip(
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
        reference = _skip("proxy A-distance to --reference images", "no --reference given")
    pool = main.features[n_labeled:]
    if n_labeled >= 10 and len(pool) >= 10:
        shift = Measurement(
            value=round(proxy_a_distance(x, pool, seed=seed), 3),
            sample=min(n_labeled, len(pool)) * 2,
            meaning="labeled vs unlabeled images; above ~1 the unlabeled pool is another domain",
        )
    else:
        shift = _skip("labeled vs unlabeled images", "needs 10 labeled and 10 unlabeled images")
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
        return _skip(knn_meaning, reason), _skip(logme_meaning, reason)
    subset_y = y[rows]
    if min(np.unique(subset_y, return_counts=True)[1]) < MIN_PER_CLASS:
        reason = f"needs {MIN_PER_CLASS} labeled images in every class"
        return _skip(knn_meaning, reason), _skip(logme_meaning, reason)
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


def _transferability(
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
        return Transferability(**{k: _skip(m, reason, n) for k, m in meanings.items()})
    if counts.min() < MIN_PER_CLASS:
        reason = f"every class needs {MIN_PER_CLASS} labeled images"
        return Transferability(**{k: _skip(m, reason, n) for k, m in meanings.items()})

    def value(key: str, v: float) -> Measurement:
        return Measurement(value=round(float(v), 4), sample=n, meaning=meanings[key])

    head = "the backbone has no source head"
    if logits is not None:
        probs = torch.softmax(torch.from_numpy(logits[:n]), dim=1).numpy()
        leep_m = value("leep", leep(probs, y))
        nce_m = value("nce", nce(logits[:n].argmax(axis=1), y))
    else:
        leep_m, nce_m = _skip(meanings["leep"], head, n), _skip(meanings["nce"], head, n)
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


def _granularity(x: np.ndarray, y: np.ndarray) -> Granularity:
    meaning = "within-class spread over between-class distance; >= 1: classes overlap"
    if len(set(y.tolist())) < 2:
        return Granularity(
            class_separation=_skip(meaning, "needs labeled images of two classes", len(y)),
            fine_grained=None,
            threshold=FINE_GRAINED_SEPARATION,
        )
    separation = class_separation(x, y)
    return Granularity(
        class_separation=Measurement(value=round(separation, 4), sample=len(y), meaning=meaning),
        fine_grained=separation >= FINE_GRAINED_SEPARATION,
        threshold=FINE_GRAINED_SEPARATION,
    )
