"""The three ways to a page: ``advisor report``, ``analyze --html`` and ``pilot --html``; bad
input is one line and exit code 2, and nothing is written where it must not be."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import STORED_ANALYSIS, STORED_PILOT, hostile_dataset, invoke, listing, one_error_line


def test_report_renders_several_documents_on_one_page(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    res = invoke("report", STORED_ANALYSIS, STORED_PILOT, "-o", out)
    assert res.exit_code == 0, res.stderr
    html = out.read_text()
    assert 'id="d0-probes"' in html and 'id="d1-pilot"' in html
    assert "wrote" in res.stderr and res.stdout == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("not json", "not JSON"),
        ('{"verdict": "tl"}', "not a valid Recommendation document"),
        ('{"name": "a card"}', "not a document of advisor"),
        ("[1, 2]", "not a document of advisor"),
    ],
)
def test_report_refuses_what_is_not_a_document(tmp_path: Path, content, expected) -> None:
    doc = tmp_path / "doc.json"
    if content is not None:
        doc.write_text(content)
    out = tmp_path / "page.html"
    res = invoke("report", STORED_ANALYSIS, doc, "-o", out)
    assert res.exit_code == 2
    assert expected in one_error_line(res.stderr)
    assert not out.exists()


def test_report_refuses_files_it_cannot_read_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "page.html"
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    res = invoke("report", fifo, "-o", out)
    assert res.exit_code == 2 and "not a regular file" in one_error_line(res.stderr)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    res = invoke("report", deep, "-o", out)
    assert res.exit_code == 2 and "not JSON" in one_error_line(res.stderr)
    monkeypatch.setattr("advisor.services.report.MAX_DOCUMENT_BYTES", 1000)
    res = invoke("report", STORED_ANALYSIS, "-o", out)
    assert res.exit_code == 2 and "too large" in one_error_line(res.stderr)
    monkeypatch.undo()

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    res = invoke("report", STORED_ANALYSIS, "-o", out)
    assert res.exit_code == 2
    assert "cannot read (Permission denied)" in one_error_line(res.stderr)
    assert not out.exists()


def test_report_never_writes_into_the_data_folder_or_over_an_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = hostile_dataset(tmp_path)
    assert invoke("analyze", "data", "--no-probes", "-q", "-o", "a.json").exit_code == 0
    before = listing(data)
    res = invoke("report", "a.json", "-o", "data/train/page.html")
    assert res.exit_code == 2 and "inside the data folder" in one_error_line(res.stderr)
    res = invoke("report", "a.json", "-o", "a.json")
    assert res.exit_code == 2 and "one of the inputs" in one_error_line(res.stderr)
    # from another folder the document's relative data folder is found beside the document
    monkeypatch.chdir(tmp_path / "data" / "test")
    res = invoke("report", tmp_path / "a.json", "-o", tmp_path / "data" / "page.html")
    assert res.exit_code == 2 and "inside the data folder" in one_error_line(res.stderr)
    assert listing(data) == before
    assert json.loads((tmp_path / "a.json").read_text())["profile"]


def test_analyze_html_writes_the_page_beside_the_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = hostile_dataset(tmp_path)
    before = listing(data)
    res = invoke("analyze", "data", "--no-probes", "-q", "-o", "a.json", "--html", "a.html")
    assert res.exit_code == 0, res.stderr
    html = Path("a.html").read_text()
    assert 'id="d0-problems"' in html and "data:image/jpeg;base64," in html
    assert "analysis of data" in html
    assert listing(data) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-o", "same.html", "--html", "same.html"], "--html is the same file as -o"),
        (["--html", "data/page.html"], "--html data/page.html is inside the data folder"),
        (["--html", "missing/page.html"], "--html missing/page.html: the folder"),
    ],
)
def test_analyze_checks_the_page_path_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    data = hostile_dataset(tmp_path)
    before = listing(data)

    def never(*_args, **_kwargs):
        raise AssertionError("files were read before the page's path was checked")

    monkeypatch.setattr("advisor.data.scan.inspect_all", never)
    res = invoke("analyze", "data", "--no-probes", "-q", *args)
    assert res.exit_code == 2
    assert expected in one_error_line(res.stderr)
    assert listing(data) == before and not Path("same.html").exists()
