"""The command line through typer's CliRunner (stdout and stderr are captured separately)."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest
from helpers import invoke, listing, make_class_folders, one_error_line, png_bytes, validate

import advisor
import advisor.services.analyze


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """cat 4, dog 2, one unreadable file and one byte-identical copy."""
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 4, "dog": 2})
    (data / "cat" / "broken.png").write_bytes(png_bytes(50)[:40])
    shutil.copyfile(data / "dog" / "img_0.png", data / "dog" / "copy.png")
    return data


def test_version() -> None:
    res = invoke("--version")
    assert res.exit_code == 0
    assert res.stdout == f"advisor {version('pretrain-advisor')}\n"
    assert advisor.__version__ == version("pretrain-advisor")
    assert res.stderr == ""


def test_help_lists_the_commands() -> None:
    res = invoke("--help")
    assert res.exit_code == 0
    for command in ("analyze", "decide", "knowledge", "demo", "schema"):
        assert command in res.stdout


def test_schema_lists_documents_and_rejects_unknown_names() -> None:
    res = invoke("schema")
    assert res.exit_code == 0
    names = [line.split("\t")[0] for line in res.stdout.splitlines()]
    assert names == [
        "analyze",
        "demo",
        "backbones",
        "decision",
        "card",
        "knowledge-list",
        "knowledge-show",
        "pilot",
    ]
    res = invoke("schema", "nonsense")
    assert res.exit_code == 2
    assert "nonsense" in one_error_line(res.stderr)
    assert res.stdout == ""


def test_analyze_json_is_pure_json_that_validates(dataset: Path, schemas) -> None:
    res = invoke("analyze", "--no-probes", dataset, "--json", "--seed", "7")
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)  # nothing but the document on stdout
    validate(document, schemas["analyze"])
    assert document["schema_version"] == "1.0"
    assert document["tool_version"] == advisor.__version__
    assert document["seed"] == 7
    profile = document["profile"]
    assert profile["class_counts"] == {"cat": 4, "dog": 3}
    assert profile["files"]["unreadable"] == 1
    assert {p["kind"] for p in profile["problems"]} == {"unreadable", "duplicate"}
    assert "profiled 8 files" in res.stderr  # progress and notes go to stderr


def test_schema_rejects_a_document_that_breaks_it(dataset: Path, schemas) -> None:
    document = json.loads(invoke("analyze", "--no-probes", dataset, "--json").stdout)
    document["profile"]["files"]["seen"] = -1
    with pytest.raises(jsonschema.ValidationError):
        validate(document, schemas["analyze"])
    document["profile"]["files"]["seen"] = 8
    document["profile"]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(document, schemas["analyze"])


def test_quick_profile_says_so(dataset: Path) -> None:
    res = invoke("analyze", "--no-probes", dataset, "--quick", "--json", "-q")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["profile"]["decoded"] is False
    res = invoke("analyze", "--no-probes", dataset, "--quick")
    assert "quick profile" in res.stdout
    assert "quick profile" not in invoke("analyze", "--no-probes", dataset).stdout


def test_quiet_keeps_stderr_empty(dataset: Path) -> None:
    res = invoke("analyze", "--no-probes", dataset, "--json", "--quiet")
    assert res.exit_code == 0
    assert res.stderr == ""
    json.loads(res.stdout)


def test_output_file_is_the_same_json_written_atomically(dataset: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    target = out_dir / "analysis.json"
    target.write_text("old contents")
    res = invoke("analyze", "--no-probes", dataset, "--json", "-o", target)
    assert res.exit_code == 0, res.stderr
    assert target.read_text() == res.stdout
    assert sorted(p.name for p in out_dir.iterdir()) == ["analysis.json"]  # no temp file left


def test_output_file_without_json_shows_the_report(dataset: Path, tmp_path: Path) -> None:
    target = tmp_path / "analysis.json"
    res = invoke("analyze", "--no-probes", dataset, "--output", target)
    assert res.exit_code == 0, res.stderr
    document = json.loads(target.read_text())
    assert document["profile"]["files"]["images"] == 7
    assert "readable images" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.json", "data"]


def test_terminal_report(dataset: Path) -> None:
    res = invoke("analyze", "--no-probes", dataset)
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)
    assert "readable images" in out
    assert "7 in 2 classes" in out  # 4 cats, 2 dogs and the dog copy
    assert "1 unreadable" in out
    assert "cat" in out and "dog" in out
    assert "Imbalance" in out
    assert "normalised entropy" in out and "Gini" in out and "effective samples" in out
    assert "largest / smallest class  1.3" in out  # 4 / 3
    assert "unreadable (1)" in out
    assert "duplicate (1)" in out


def test_analysis_never_writes_into_the_data_folder(dataset: Path, tmp_path: Path) -> None:
    (dataset / ".hidden").write_text("x")
    before = listing(dataset)
    res = invoke("analyze", "--no-probes", dataset, "--json", "-o", tmp_path / "a.json")
    assert res.exit_code == 0
    res = invoke("analyze", "--no-probes", dataset)
    assert res.exit_code == 0
    assert listing(dataset) == before


def test_internal_error_is_one_line_and_exit_1(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(advisor.services.analyze, "analyze", explode)
    res = invoke("analyze", "--no-probes", dataset)
    assert res.exit_code == 1
    line = one_error_line(res.stderr)
    assert "internal error" in line and "RuntimeError: boom" in line and "--debug" in line
    assert "Traceback" not in res.output

    res = invoke("analyze", "--no-probes", dataset, "--debug")
    assert res.exit_code == 1
    assert "Traceback" in res.stderr
    assert res.stderr.rstrip().splitlines()[-1].startswith("advisor: error: internal error")


def test_interrupt_exits_130(dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(advisor.services.analyze, "analyze", interrupt)
    res = invoke("analyze", "--no-probes", dataset)
    assert res.exit_code == 130
    assert "Traceback" not in res.output
    assert res.stdout == ""
    assert res.stderr.strip() == "advisor: interrupted"
