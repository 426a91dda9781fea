"""Documents for the report's tests: a small real dataset whose class folder and file names are
hostile HTML, its analysis, a stored analysis with probes, a stored pilot, and two decisions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import EXAMPLES, REPO, STORED_PILOT, write_png

from advisor.render.report import Document
from advisor.schema.analysis import Analysis
from advisor.schema.pilot import PilotResult
from advisor.services.analyze import AnalyzeSettings, analyze
from advisor.services.decide import decide

HOSTILE = "<img src=x onerror=alert(1)>"
"""A class folder named like this must show as these characters, never become markup."""
STORED_ANALYSIS = REPO / "tests" / "fixtures" / "analysis-demo.json"
"""``advisor analyze`` of the digits demo with probes (its images are not kept: paths only)."""


def hostile_dataset(root: Path) -> Path:
    """Two classes (one named ``HOSTILE``) in train and test, with a cross-class copy (a
    conflicting label), a train/test copy (a split leak) and a truncated file."""
    data = root / "data"
    for split, offset in (("train", 0), ("test", 100)):
        for c, name in enumerate((HOSTILE, "cat")):
            for i in range(6):
                write_png(data / split / name / f"{name}_{i}.png", offset + 10 * c + i)
    shutil.copy(data / "train" / HOSTILE / f"{HOSTILE}_0.png", data / "train" / "cat" / "copy.png")
    shutil.copy(data / "train" / "cat" / "cat_1.png", data / "test" / "cat" / "leak.png")
    cut = (data / "train" / "cat" / "cat_2.png").read_bytes()
    (data / "train" / "cat" / "broken.png").write_bytes(cut[: len(cut) // 2])
    return data


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Analysis]:
    """The hostile dataset and its analysis, with paths relative to the current folder (as a
    user who runs ``advisor analyze data`` gets them)."""
    monkeypatch.chdir(tmp_path)
    hostile_dataset(tmp_path)
    return tmp_path / "data", analyze(AnalyzeSettings(data=Path("data")))


@pytest.fixture
def stored_analysis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Document:
    monkeypatch.chdir(tmp_path)  # where its images are not
    return Document("analysis-demo.json", Analysis.model_validate_json(STORED_ANALYSIS.read_text()))


@pytest.fixture
def stored_pilot() -> Document:
    return Document("pilot-result.json", PilotResult.model_validate_json(STORED_PILOT.read_text()))


@pytest.fixture
def decision() -> Document:
    return Document("chest-xray", decide(EXAMPLES / "chest-xray-effusion.yaml"))


@pytest.fixture
def toss_up() -> Document:
    rec = decide(EXAMPLES / "product-catalog.yaml")
    assert rec.toss_up
    return Document("product-catalog", rec)
