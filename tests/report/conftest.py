"""Documents for the report's tests: a small real dataset whose class folder and file names are
hostile HTML, its analysis, a stored analysis with probes, a stored pilot, and two decisions."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import EXAMPLES, STORED_ANALYSIS, STORED_PILOT, hostile_dataset

from advisor.render.report import Document
from advisor.schema.analysis import Analysis
from advisor.schema.pilot import PilotResult
from advisor.services.analyze import AnalyzeSettings, analyze
from advisor.services.decide import decide


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
    rec = decide(EXAMPLES / "bird-species.yaml")
    assert rec.toss_up
    return Document("bird-species", rec)
