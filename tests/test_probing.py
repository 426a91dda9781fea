"""The probes stage of analyze, end to end on small datasets at a low resolution."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import jsonschema
import pytest
from conftest import listing, make_class_folders, write_png
from typer.testing import CliRunner

from advisor.analyze import analyze
from advisor.anchors import write_anchor
from advisor.cli import app
from advisor.schema import Analysis
from advisor.settings import ProbeSettings

runner = CliRunner()
FAST = ProbeSettings(resolution=48, sample=200)


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    make_class_folders(data / "train", {"cat": 12, "dog": 12, "fox": 6})
    for i in range(14):
        write_png(data / "unlabeled" / f"u{i}.png", 500 + i)
    return data


def no_nan(document: str) -> dict:
    def refuse(constant: str) -> float:
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(document, parse_constant=refuse)


def test_probes_fill_every_section(dataset: Path) -> None:
    before = listing(dataset)
    analysis = analyze(dataset, probes=FAST)
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
    assert probes.granularity.fine_grained is not None
    no_nan(analysis.model_dump_json())
    assert listing(dataset) == before  # the cache lives elsewhere


def test_second_run_hits_the_cache(dataset: Path, private_cache: Path) -> None:
    started = time.perf_counter()
    first = analyze(dataset, probes=FAST).probes
    cold = time.perf_counter() - started
    started = time.perf_counter()
    second = analyze(dataset, probes=FAST).probes
    warm = time.perf_counter() - started
    assert first.cache == "miss" and second.cache == "hit"
    assert second.domain_gap == first.domain_gap
    assert second.transferability == first.transferability
    assert any(private_cache.rglob("*.npz"))
    assert warm < cold, (warm, cold)
    off = analyze(dataset, probes=ProbeSettings(resolution=48, sample=200, cache=False)).probes
    assert off.cache == "off"
    assert len(list(private_cache.rglob("*.json"))) == 1  # the finished probes, stored once
    reseeded = analyze(dataset, probes=ProbeSettings(resolution=48, sample=200, seed=1)).probes
    assert len(list(private_cache.rglob("*.json"))) == 2  # another seed is another result
    assert reseeded.domain_gap.batchnorm_divergence == first.domain_gap.batchnorm_divergence


def test_single_class_and_unlabeled_only(tmp_path: Path) -> None:
    one = tmp_path / "one"
    make_class_folders(one, {"cat": 8})
    probes = analyze(one, probes=FAST).probes
    assert probes.transferability.logme.value is None
    assert "single class" in probes.transferability.logme.skipped
    assert probes.domain_gap.score.value is not None
    assert probes.granularity.fine_grained is None
    pool = tmp_path / "pool"
    for i in range(8):
        write_png(pool / f"{i}.png", i)
    probes = analyze(pool, probes=FAST).probes
    assert probes.labeled_sample == 0 and probes.unlabeled_sample == 8
    assert probes.transferability.knn_accuracy.skipped == "no labels"
    assert probes.domain_gap.knn_gain.skipped
    assert probes.domain_gap.score.value is not None
    no_nan(
        Analysis(
            tool_version="t",
            seed=0,
            profile=analyze(pool).profile,
            probes=probes,
            recommendation=None,
        ).model_dump_json()
    )


def test_reference_folder_gives_a_proxy_a_distance(dataset: Path, tmp_path: Path) -> None:
    noise = write_anchor("noise", tmp_path / "noise", 24)
    assert len(noise) == 24
    settings = ProbeSettings(resolution=48, sample=200, reference=tmp_path / "noise")
    pad = analyze(dataset, probes=settings).probes.domain_gap.reference_pad
    assert pad.value is not None and 1.0 <= pad.value <= 2.0  # noise is easy to tell apart


def test_domain_gap_orders_natural_digits_noise(tmp_path: Path) -> None:
    scores = {}
    for name in ("natural", "digits", "noise"):
        folder = tmp_path / name
        write_anchor(name, folder, 48, seed=1)  # other images than the calibration's (seed 0)
        scores[name] = analyze(
            folder, probes=ProbeSettings(resolution=64)
        ).probes.domain_gap.score.value
    assert scores["natural"] < scores["digits"] < scores["noise"]
    assert scores["natural"] < 0.25 and scores["noise"] > 0.75


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_probes_json_and_terminal(dataset: Path) -> None:
    result = invoke("analyze", dataset, "--json", "-q", "--resolution", "48", "--sample", "50")
    assert result.exit_code == 0, result.stderr
    document = no_nan(result.stdout)
    assert document["probes"]["domain_gap"]["score"]["value"] is not None
    shown = invoke("analyze", dataset, "--resolution", "48")
    assert shown.exit_code == 0
    for words in ("Probes", "domain gap", "LogME", "linear-probe accuracy", "imagenet at 48 px"):
        assert words in shown.stdout
    assert invoke("analyze", dataset, "--no-probes", "--json").stdout.count('"probes": null') == 1


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--backbone", "alexnet-please"], "backbone"),
        (["--sample", "0"], "--sample"),
        (["--device", "tpu"], "--device"),
        (["--resolution", "8"], "--resolution"),
    ],
)
def test_cli_bad_probe_options(dataset: Path, args: list[str], fragment: str) -> None:
    result = invoke("analyze", dataset, *args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error:") and fragment in lines[0]


def test_cli_empty_reference_and_bad_checkpoint(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke("analyze", dataset, "--reference", tmp_path / "empty", "--resolution", "48")
    assert result.exit_code == 2 and "reference" in result.stderr
    (tmp_path / "junk.pt").write_bytes(b"definitely not a checkpoint")
    result = invoke("analyze", dataset, "--backbone", f"file:{tmp_path / 'junk.pt'}")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1


def test_backbones_command_lists_the_shipped_one() -> None:
    result = invoke("backbones", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    schema = json.loads(invoke("schema", "backbones").stdout)
    jsonschema.Draft202012Validator(schema).validate(document)
    listed = {row["spec"]: row for row in document["backbones"]}
    assert listed["imagenet"]["available"] is True
    assert "imagenet" in invoke("backbones").stdout
