"""The terminal report of an analysis fits an 80-column terminal: every panel closes, and no
title or footer is cut short."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from advisor.probing.settings import ProbeSettings
from advisor.render.analysis import render_analysis
from advisor.render.decision import render_recommendation
from advisor.services.analyze import AnalyzeSettings, analyze


def test_every_panel_closes_at_80_columns(probe_dataset: Path) -> None:
    settings = AnalyzeSettings(probe_dataset, probes=ProbeSettings(resolution=48, sample=200))
    analysis = analyze(settings)
    console = Console(width=80, record=True, color_system=None)
    render_analysis(console, analysis)
    render_recommendation(console, analysis.recommendation)
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    opened = [line for line in lines if line.startswith("╭")]
    closed = [line for line in lines if line.startswith("╰")]
    assert len(opened) == len(closed) >= 5
    assert not [line for line in opened + closed if "…" in line], "a title or footer was cut"
    assert any("Probes" in line for line in opened)


def test_the_quality_block_shows_each_reading(class_dataset: Path) -> None:
    analysis = analyze(AnalyzeSettings(class_dataset))
    console = Console(width=80, record=True, color_system=None)
    render_analysis(console, analysis)
    text = console.export_text()
    assert "Quality (grayscale, measured at 32 px)" in text
    for row in ("resolution", "sharpness", "noise σ", "brightness", "contrast"):
        assert row in text
    assert "JPEG quality" not in text  # the dataset has no JPEG files
    assert all(len(line) <= 80 for line in text.splitlines())


def test_a_notice_without_paths_ends_with_its_detail(class_dataset: Path) -> None:
    from advisor.schema.profile import Notice, NoticeKind

    analysis = analyze(AnalyzeSettings(class_dataset))
    notices = [
        Notice(kind=NoticeKind.unjudged_pairs, count=1234, paths=[], detail="pairs left"),
        Notice(kind=NoticeKind.cmyk, count=2, paths=["a.jpg", "b.jpg"], detail="CMYK images"),
        Notice(kind=NoticeKind.animated, count=4, paths=list("wxyz"), detail="animations"),
    ]
    profile = analysis.profile.model_copy(update={"notices": notices})
    console = Console(width=80, record=True, color_system=None)
    render_analysis(console, analysis.model_copy(update={"profile": profile}))
    lines = console.export_text().splitlines()
    assert "note 1,234 pairs left" in lines
    assert "note 2 CMYK images: a.jpg, b.jpg" in lines
    assert "note 4 animations: w, x, y …" in lines
