"""The probes stage of analyze, end to end on small datasets at a low resolution."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import listing, make_class_folders, no_nan, write_png

from advisor.probing import cache as cache_module
from advisor.probing import readings as readings_module
from advisor.probing.anchors import write_anchor
from advisor.probing.settings import ProbeSettings
from advisor.schema.analysis import Analysis
from advisor.services.analyze import AnalyzeSettings, analyze

FAST = ProbeSettings(resolution=48, sample=200)


def test_probes_fill_every_section(probe_dataset: Path) -> None:
    before = listing(probe_dataset)
    analysis = analyze(AnalyzeSettings(probe_dataset, probes=FAST))
    probes = analysis.probes
    assert probes is not None
    assert probes.backbone == "imagenet" and probes.resolution == 48
    assert probes.labeled_sample == 30 and probes.unlabeled_sample == 14
    gap = probes.domain_gap
    assert 0 <= gap.score.value <= 1
    assert gap.batchnorm_divergence.value > 0
    assert len(gap.batchnorm_divergence_per_layer) == 49
    assert gap.calibration["natural"] < gap.calibration["noise"]
    assert 0 <= gap.source_entropy.value <= 1
    assert gap.knn_gain.value is not None and gap.logme_gain.value is not None
    assert gap.pool_shift_pad.value is not None and gap.reference_pad.skipped
    t = probes.transferability
    for m in (t.logme, t.leep, t.nce, t.h_score, t.h_score_shrinkage):
        assert m.value is not None and math.isfinite(m.value) and m.sample == 30
    assert 0 <= t.knn_accuracy.value <= 1 and t.knn_accuracy.spread is not None
    assert 0 <= t.linear_probe_accuracy.value <= 1
    assert probes.granularity.class_separation.value is not None
    timed = probes.throughput
    assert timed is not None and timed.architecture == "tf_efficientnet_lite0"
    assert timed.resolutions == [64, 224] and min(timed.train + timed.forward) > 0
    cost = analysis.recommendation.cost
    assert cost is not None and cost.device_origin == "measured"
    assert cost.images_per_second == pytest.approx(timed.train[1], rel=0.01)
    no_nan(analysis.model_dump_json())
    assert listing(probe_dataset) == before  # the cache lives elsewhere


def test_a_cached_result_without_a_timing_is_timed_and_stored(
    probe_dataset: Path, private_cache: Path
) -> None:
    analyze(AnalyzeSettings(probe_dataset, probes=FAST))
    (stored,) = private_cache.rglob("*.json")
    document = json.loads(stored.read_text())
    del document["throughput"]  # as a version before the cost forecast wrote it
    stored.write_text(json.dumps(document))
    again = analyze(AnalyzeSettings(probe_dataset, probes=FAST)).probes
    assert again.cache == "hit" and again.throughput is not None
    assert json.loads(stored.read_text())["throughput"] is not None


@pytest.mark.slow
def test_second_run_hits_the_cache(
    probe_dataset: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = analyze(AnalyzeSettings(probe_dataset, probes=FAST)).probes

    def no_network(*args, **kwargs):
        raise AssertionError("a cached analysis ran the network")

    with monkeypatch.context() as patched:
        patched.setattr(cache_module, "extract", no_network)
        second = analyze(AnalyzeSettings(probe_dataset, probes=FAST)).probes
    assert first.cache == "miss" and second.cache == "hit"
    assert second.domain_gap == first.domain_gap
    assert second.transferability == first.transferability
    assert any(private_cache.rglob("*.npz"))
    off = analyze(
        AnalyzeSettings(probe_dataset, probes=ProbeSettings(resolution=48, sample=200, cache=False))
    ).probes
    assert off.cache == "off"
    assert len(list(private_cache.rglob("*.json"))) == 1  # the finished probes, stored once
    reseeded = analyze(
        AnalyzeSettings(probe_dataset, probes=ProbeSettings(resolution=48, sample=200, seed=1))
    ).probes
    assert len(list(private_cache.rglob("*.json"))) == 2  # another seed is another result
    assert reseeded.domain_gap.batchnorm_divergence == first.domain_gap.batchnorm_divergence


def test_a_cached_result_of_another_format_is_run_again(
    probe_dataset: Path, private_cache: Path
) -> None:
    first = analyze(AnalyzeSettings(probe_dataset, probes=FAST)).probes
    (stored,) = private_cache.rglob("*.json")
    document = json.loads(stored.read_text())
    document["granularity"]["fine_grained"] = True  # as an earlier version wrote it
    stored.write_text(json.dumps(document))
    again = analyze(AnalyzeSettings(probe_dataset, probes=FAST)).probes  # from cached features
    assert again.domain_gap == first.domain_gap
    assert "fine_grained" not in json.loads(stored.read_text())["granularity"]  # replaced


def test_single_class_and_unlabeled_only(tmp_path: Path) -> None:
    one = tmp_path / "one"
    make_class_folders(one, {"cat": 8})
    probes = analyze(AnalyzeSettings(one, probes=FAST)).probes
    assert probes.transferability.logme.value is None
    assert "single class" in probes.transferability.logme.skipped
    assert probes.domain_gap.score.value is not None
    assert probes.granularity.class_separation.skipped
    pool = tmp_path / "pool"
    for i in range(8):
        write_png(pool / f"{i}.png", i)
    probes = analyze(AnalyzeSettings(pool, probes=FAST)).probes
    assert probes.labeled_sample == 0 and probes.unlabeled_sample == 8
    assert probes.transferability.knn_accuracy.skipped == "no labels"
    assert probes.domain_gap.knn_gain.skipped
    assert probes.domain_gap.score.value is not None
    no_nan(
        Analysis(
            tool_version="t",
            seed=0,
            profile=analyze(AnalyzeSettings(pool)).profile,
            probes=probes,
            recommendation=None,
        ).model_dump_json()
    )


def test_reference_folder_gives_a_proxy_a_distance(probe_dataset: Path, tmp_path: Path) -> None:
    noise = write_anchor("noise", tmp_path / "noise", 24)
    assert len(noise) == 24
    settings = ProbeSettings(resolution=48, sample=200, reference=tmp_path / "noise")
    pad = analyze(AnalyzeSettings(probe_dataset, probes=settings)).probes.domain_gap.reference_pad
    assert pad.value is not None and 1.0 <= pad.value <= 2.0  # noise is easy to tell apart


@pytest.mark.slow
def test_domain_gap_orders_natural_digits_noise(tmp_path: Path) -> None:
    scores = {}
    for name in ("natural", "digits", "noise"):
        folder = tmp_path / name
        write_anchor(name, folder, 48, seed=1)  # other images than the calibration's (seed 0)
        settings = AnalyzeSettings(folder, probes=ProbeSettings(resolution=64))
        scores[name] = analyze(settings).probes.domain_gap.score.value
    assert scores["natural"] < scores["digits"] < scores["noise"]
    assert scores["natural"] < 0.25 and scores["noise"] > 0.75


def test_a_probe_without_a_number_says_why_and_warns_nobody(
    probe_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe that refuses (``ValueError``) becomes a reading with its reason; a numerical
    warning on the way never reaches the terminal. (What each probe refuses is in
    tests/probes/test_degenerate.py.)"""

    def refuses(*args: object) -> float:
        raise ValueError("LogME has no maximum here")

    def warns(*args: object) -> float:
        np.log(np.zeros(1))  # divide by zero
        return 0.5

    monkeypatch.setattr(readings_module, "logme", refuses)
    monkeypatch.setattr(readings_module, "logme_score", refuses)
    monkeypatch.setattr(readings_module, "h_score", warns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probes = analyze(AnalyzeSettings(probe_dataset, probes=FAST)).probes
    assert probes.transferability.logme.value is None
    assert probes.transferability.logme.skipped == "LogME has no maximum here"
    assert probes.domain_gap.logme_gain.skipped == "LogME has no maximum here"
    assert probes.transferability.h_score.value == 0.5
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    no_nan(probes.model_dump_json())
