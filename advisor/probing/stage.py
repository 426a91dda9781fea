"""The probes stage of ``analyze``: a pretrained backbone's view of the scanned dataset.

Samples the images, runs them once through the backbone (features, source logits, batch-norm
statistics; cached on disk), a small stratified subset through the same architecture untrained,
and turns the arrays into the ``Probes`` document (``readings``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import ValidationError

from advisor import __version__
from advisor.data.images import ImageFacts
from advisor.data.sampling import random_sample, stratified_sample
from advisor.data.scan import Discovery, discover, inspect_all
from advisor.errors import InputError
from advisor.knowledge.calibration import domain_gap_calibration
from advisor.probing.anchors import gap_scale
from advisor.probing.backbone import Backbone
from advisor.probing.cache import CACHE_FORMAT, FeatureCache, ResultCache, cache_key, extract_cached
from advisor.probing.device import resolve_device
from advisor.probing.extraction import BN_STAT_IMAGES, Extracted
from advisor.probing.readings import (
    domain_gap_readings,
    granularity_readings,
    quiet_numerics,
    transferability_readings,
)
from advisor.probing.settings import ProbeSettings
from advisor.probing.sources import architecture_name, load_backbone, random_counterpart
from advisor.probing.throughput import measure_throughput, throughput_sizes
from advisor.progress import SILENT, Progress
from advisor.schema.cost import Throughput
from advisor.schema.probes import Probes

CPU_RESOLUTION = 160
"""Probe resolution on a CPU: the whole cold probes stage on 2,000 images takes ~17 s at 160 px
on two cores and ~32 s at 224 (benchmarks/probes.py). 224 would fit the minute as well, at twice
the wait, but the readings move with the resolution (benchmarks/README.md compares them) and the
advice with them: on the demo's digits the verdict is tl+ssl (0.64) at 160 px and a tie at 224.
The domain-gap score puts the held-out image sets in the order of their kinds at every
calibrated resolution from 64 to 224 px (benchmarks/domain_gap.py)."""


POOL_SAMPLE = 500
REFERENCE_SAMPLE = 500
BASELINE_SAMPLE = 128
"""Images through the untrained network: enough for a k-NN and LogME reading (16 per class
for 8 classes), few enough that the baseline costs under a tenth of the main pass."""


def _stored_probes(text: str | None) -> Probes | None:
    """A cached probes document, or None when there is none or it was written in another
    document format (an earlier version of the tool): then the probes run again and replace
    it, rather than the analysis failing on a cache the user never asked about."""
    if text is None:
        return None
    try:
        return Probes.model_validate_json(text)
    except ValidationError:
        return None


def run_probes(
    found: Discovery,
    facts: Sequence[ImageFacts],
    usable: Sequence[int],
    settings: ProbeSettings,
    progress: Progress = SILENT,
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
    stored = _stored_probes(results.load(key)) if results is not None else None
    if stored is not None:
        if stored.throughput is None:  # stored by a version that did not time the network
            stored = stored.model_copy(update={"throughput": _timed(backbone, device, progress)})
            if results is not None:
                results.save(key, stored.model_dump_json())
        seconds = round(time.perf_counter() - started, 2)
        return stored.model_copy(update={"cache": "hit", "seconds": seconds})

    def run(name: str, paths: Sequence[str], digests: Sequence[bytes], net: Backbone) -> Extracted:
        progress.stage(name, len(paths), "images")
        return extract_cached(paths, digests, net, device, cache, progress.advance)

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
    scale = gap_scale(backbone, run)

    with quiet_numerics():
        domain = domain_gap_readings(
            backbone,
            main,
            scale,
            x,
            y,
            baseline,
            baseline_rows,
            len(labeled),
            reference_features,
            settings.seed,
        )
        transferability = transferability_readings(x, y, main.logits, settings.seed)
        granularity = granularity_readings(x, y)
    throughput = _timed(backbone, device, progress)
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
        throughput=throughput,
    )
    if results is not None:
        results.save(key, probes.model_dump_json())
    return probes


def _timed(backbone: Backbone, device: torch.device, progress: Progress) -> Throughput | None:
    sizes = len(throughput_sizes(device))
    progress.stage("timing the backbone for the cost forecast", sizes, "sizes")
    return measure_throughput(backbone, device, architecture_name(backbone.spec), progress.advance)


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
        raise InputError(exc.message, "reference") from None
    facts = inspect_all([e.path for e in found.entries], decode=False)
    usable = [i for i, f in enumerate(facts) if f.is_image and f.error is None]
    if not usable:
        raise InputError(f"{folder} holds no readable images", "reference")
    chosen = random_sample(usable, REFERENCE_SAMPLE, 0)
    return [found.entries[i].path for i in chosen], [facts[i].digest for i in chosen]
