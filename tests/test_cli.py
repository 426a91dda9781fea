"""The command line through typer's CliRunner (stdout and stderr are captured separately)."""

from __future__ import annotations

import json
import shutil
import time
from importlib.metadata import version
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from conftest import listing, make_class_folders, png_bytes
from PIL import Image
from typer.testing import CliRunner

import advisor
import advisor.cli
from advisor.cli import app

runner = CliRunner()


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("advisor: error: ")
    assert len(lines[0]) > len("advisor: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    result = {}
    for name in ("analyze", "demo"):
        res = invoke("schema", name)
        assert res.exit_code == 0, res.stderr
        schema = json.loads(res.stdout)
        jsonschema.Draft202012Validator.check_schema(schema)
        result[name] = schema
    return result


def validate(document: dict, schema: dict) -> None:
    jsonschema.Draft202012Validator(schema).validate(document)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """cat 4, dog 2, one unreadable file and one byte-identical copy."""
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 4, "dog": 2})
    (data / "cat" / "broken.png").write_bytes(png_bytes(50)[:40])
    shutil.copyfile(data / "dog" / "img_0.png", data / "dog" / "copy.png")
    return data


# --- basics ---------------------------------------------------------------------------------


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


# --- analyze ----------------------------------------------------------------------------------


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

    monkeypatch.setattr(advisor.cli, "run_analysis", explode)
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

    monkeypatch.setattr(advisor.cli, "run_analysis", interrupt)
    res = invoke("analyze", "--no-probes", dataset)
    assert res.exit_code == 130
    assert "Traceback" not in res.output
    assert res.stdout == ""
    assert res.stderr.strip() == "advisor: interrupted"


# --- demo -------------------------------------------------------------------------------------


def demo_json(out: Path, *extra: str | Path) -> dict:
    res = invoke("demo", "--out", out, "--json", "--quiet", *extra)
    assert res.exit_code == 0, res.stderr
    return json.loads(res.stdout)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("digits") / "demo"
    return out, demo_json(out)


def test_digits_demo_document(digits, schemas) -> None:
    out, document = digits
    validate(document, schemas["demo"])
    assert document["dataset"] == "digits"
    assert document["seed"] == 0
    assert sorted(document["labeled"]) == ["test", "train"]
    # 30 test images per digit; every scan is written once, plus 3 planted image copies
    assert document["labeled"]["test"] == {str(d): 30 for d in range(10)}
    assert document["images"] == 1797 + 3
    train = document["labeled"]["train"]
    assert max(train.values()) / min(train.values()) >= 5  # imbalanced on purpose
    assert document["images"] == (
        sum(sum(c.values()) for c in document["labeled"].values()) + document["unlabeled"]
    )
    assert {p.split(":")[0] for p in document["planted"]} == {
        "split_leak",
        "conflicting_labels",
        "near_duplicate",
        "unreadable",
    }
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) == 1797 + 4  # the truncated scan is a file too


def test_digits_demo_then_analyze_finds_every_planted_problem(digits, schemas) -> None:
    out, demo = digits
    res = invoke("analyze", "--no-probes", out, "--json", "--quiet")
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)
    validate(document, schemas["analyze"])
    profile = document["profile"]
    for planted in demo["planted"]:
        kind, rest = planted.split(": ", 1)
        path = str(out / rest.split(" ")[0])
        matching = [p for p in profile["problems"] if p["kind"] == kind and path in p["paths"]]
        assert matching, f"planted {planted!r} not reported"
    # the demo document and the profile agree on what is there
    assert profile["files"]["images"] == demo["images"]
    assert profile["unlabeled"] == demo["unlabeled"]
    for split, counts in demo["labeled"].items():
        assert profile["splits"][split]["class_counts"] == dict(sorted(counts.items()))
    assert profile["files"]["unreadable"] == 1


def test_clean_digits_demo_reports_only_scans_that_look_identical(tmp_path: Path) -> None:
    # The clean demo plants nothing, so the only findings may be the few scikit-learn scans that
    # are different files but look the same at their 8x8 source resolution: check each reported
    # group independently (thumbnail correlation >= 0.99) and that there are few of them.
    out = tmp_path / "clean"
    document = demo_json(out, "--clean")
    assert document["planted"] == []
    assert document["images"] == 1797
    res = invoke("analyze", "--no-probes", out, "--json", "--quiet")
    assert res.exit_code == 0
    found = json.loads(res.stdout)["profile"]["problems"]
    assert {p["kind"] for p in found} <= {"near_duplicate", "split_leak"}
    groups = [p["paths"] for p in found if p["kind"] == "near_duplicate"]
    assert 0 < len(groups) <= 10
    for paths in groups:
        pixels = []
        for path in paths:
            with Image.open(path) as img:
                thumb = img.convert("L").resize((16, 16), Image.Resampling.BOX)
            pixels.append(np.asarray(thumb, dtype=np.float64).ravel())
        x = np.stack(pixels) - np.stack(pixels).mean(axis=1, keepdims=True)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        correlation = x @ x.T
        np.fill_diagonal(correlation, -1.0)
        assert correlation.max(axis=1).min() >= 0.99 - 1e-6  # each has a look-alike in its group


def test_demo_is_deterministic_for_a_seed(digits, tmp_path: Path) -> None:
    out, document = digits
    again = tmp_path / "again"
    assert demo_json(again, "--seed", "0")["planted"] == document["planted"]
    assert tree(again) == tree(out)
    other = tmp_path / "other"
    demo_json(other, "--seed", "1")
    assert tree(other) != tree(out)
    assert sorted(tree(other)) != sorted(tree(out))  # different files, not only different bytes


def test_shapes_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    args = ("--dataset", "shapes", "--images", "40")
    demo_json(tmp_path / "a", *args, "--seed", "3")
    demo_json(tmp_path / "b", *args, "--seed", "3")
    demo_json(tmp_path / "c", *args, "--seed", "4")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert tree(tmp_path / "a") != tree(tmp_path / "c")


def test_shapes_demo_2000_images_under_5_seconds(tmp_path: Path, schemas) -> None:
    out = tmp_path / "shapes"
    started = time.perf_counter()
    res = invoke("demo", "--out", out, "--dataset", "shapes", "--json", "--quiet")
    elapsed = time.perf_counter() - started
    assert res.exit_code == 0, res.stderr
    assert elapsed <= 5.0, f"{elapsed:.1f} s"
    document = json.loads(res.stdout)
    validate(document, schemas["demo"])
    assert document["images"] == 2000
    assert len(list(out.rglob("*.png"))) == 2000
    assert document["planted"] == []


@pytest.mark.parametrize("style", ["flat", "color", "photo"])
def test_shapes_demo_styles_and_classes(tmp_path: Path, style: str) -> None:
    out = tmp_path / style
    args = ("--dataset", "shapes", "--style", style, "--classes", "10", "--images", "60")
    document = demo_json(out, *args, "--size", "24")
    assert len(document["labeled"]["train"]) == 10
    assert document["images"] == 60 == len(list(out.rglob("*.png")))
    profile = json.loads(invoke("analyze", "--no-probes", out, "--json", "-q").stdout)["profile"]
    assert profile["files"]["images"] == 60
    assert profile["sizes"]["most_common"] == [{"width": 24, "height": 24, "count": 60}]


def test_demo_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    before = listing(tmp_path)
    res = invoke("demo", "--out", out, "--dataset", "shapes", "--images", "8")
    assert res.exit_code == 2
    assert "--force" in one_error_line(res.stderr)
    assert listing(tmp_path) == before

    res = invoke("demo", "--out", out, "--dataset", "shapes", "--images", "8", "--force")
    assert res.exit_code == 0, res.stderr
    assert (out / "keep.txt").read_text() == "mine"
    assert len(list(out.rglob("*.png"))) == 8


def test_demo_into_an_empty_existing_folder(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    document = demo_json(out, "--dataset", "shapes", "--images", "8")
    assert document["images"] == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # no staging left behind


def test_demo_output_file(tmp_path: Path, schemas) -> None:
    target = tmp_path / "demo.json"
    res = invoke(
        "demo", "--out", tmp_path / "d", "--dataset", "shapes", "--images", "8", "-o", target
    )
    assert res.exit_code == 0, res.stderr
    validate(json.loads(target.read_text()), schemas["demo"])
    assert "Wrote the" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "demo.json"]
