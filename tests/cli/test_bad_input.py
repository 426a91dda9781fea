"""Bad usage and bad input: exit 2, one line on stderr starting "advisor: error:", no traceback,
and nothing written anywhere (no -o file, no temporary file, nothing inside the data folder)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import invoke, listing, make_class_folders, png_bytes, write_png


def _data(tmp: Path) -> Path:
    make_class_folders(tmp / "data", {"cat": 2, "dog": 2})
    (tmp / "data" / ".hidden").write_text("x")
    return tmp / "data"


def _missing_path(tmp: Path) -> list:
    return ["analyze", "--no-probes", tmp / "does-not-exist"]


def _empty_folder(tmp: Path) -> list:
    (tmp / "empty").mkdir()
    return ["analyze", "--no-probes", tmp / "empty"]


def _file_for_folder(tmp: Path) -> list:
    write_png(tmp / "picture.png", 1)
    return ["analyze", "--no-probes", tmp / "picture.png"]


def _no_readable_image(tmp: Path) -> list:
    junk = tmp / "junk"
    (junk / "cat").mkdir(parents=True)
    (junk / "cat" / "fake.png").write_text("not a png")
    (junk / "cat" / "empty.jpg").write_bytes(b"")
    (junk / "notes.txt").write_text("hello")
    (junk / ".thumb.png").write_bytes(png_bytes(2))  # hidden: skipped, so still no image
    return ["analyze", "--no-probes", junk]


def _manifest_missing(tmp: Path) -> list:
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _manifest_not_csv(tmp: Path) -> list:
    (tmp / "labels.csv").write_bytes(png_bytes(3))
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _manifest_without_path_column(tmp: Path) -> list:
    write_png(tmp / "a.png", 4)
    (tmp / "labels.csv").write_text("file,label\na.png,cat\n")
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _manifest_names_missing_files(tmp: Path) -> list:
    write_png(tmp / "a.png", 5)
    (tmp / "labels.csv").write_text(
        "path,label\na.png,cat\nmissing_first.png,cat\nmissing_2.png,dog\nsub/missing_3.png,dog\n"
    )
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _manifest_unknown_split(tmp: Path) -> list:
    write_png(tmp / "a.png", 6)
    (tmp / "labels.csv").write_text("path,label,split\na.png,cat,holdout\n")
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _manifest_empty(tmp: Path) -> list:
    (tmp / "labels.csv").write_text("")
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _output_folder_missing(tmp: Path) -> list:
    return ["analyze", "--no-probes", _data(tmp), "-o", tmp / "no-such-folder" / "out.json"]


def _output_inside_data(tmp: Path) -> list:
    return ["analyze", "--no-probes", _data(tmp), "-o", tmp / "data" / "out.json"]


def _output_deep_inside_data(tmp: Path) -> list:
    return ["analyze", "--no-probes", _data(tmp), "--json", "-o", tmp / "data" / "cat" / "out.json"]


def _output_inside_unlabeled_folder(tmp: Path) -> list:
    write_png(tmp / "pool" / "u.png", 7)
    return [
        "analyze",
        "--no-probes",
        _data(tmp),
        "--unlabeled",
        tmp / "pool",
        "-o",
        tmp / "pool" / "o.json",
    ]


def _output_is_a_folder(tmp: Path) -> list:
    (tmp / "results").mkdir()
    return ["analyze", "--no-probes", _data(tmp), "-o", tmp / "results"]


def _seed_not_integer(tmp: Path) -> list:
    return ["analyze", "--no-probes", _data(tmp), "--seed", "seven"]


def _unlabeled_missing(tmp: Path) -> list:
    return ["analyze", "--no-probes", _data(tmp), "--unlabeled", tmp / "nowhere"]


def _no_data_no_manifest(tmp: Path) -> list:
    return ["analyze"]


def _unknown_option(tmp: Path) -> list:
    return ["analyze", "--no-probes", _data(tmp), "--colour"]


def _unknown_command(tmp: Path) -> list:
    return ["analyse", _data(tmp)]


def _failed_analysis_with_output(tmp: Path) -> list:
    (tmp / "empty").mkdir()
    return ["analyze", "--no-probes", tmp / "empty", "--json", "-o", tmp / "out.json"]


def _demo_unknown_dataset(tmp: Path) -> list:
    return ["demo", "--out", tmp / "demo", "--dataset", "cifar"]


def _demo_too_few_images(tmp: Path) -> list:
    return ["demo", "--out", tmp / "demo", "--dataset", "shapes", "--images", "2"]


def _demo_bad_class_count(tmp: Path) -> list:
    return ["demo", "--out", tmp / "demo", "--dataset", "shapes", "--classes", "1"]


def _demo_bad_style_in_new_folders(tmp: Path) -> list:
    # the options are checked before any folder is created: tmp/new/ must not appear
    return ["demo", "--out", tmp / "new" / "deeper" / "demo", "--dataset", "shapes", "--style", "x"]


def _demo_out_is_a_file(tmp: Path) -> list:
    (tmp / "file").write_text("x")
    return ["demo", "--out", tmp / "file"]


def _demo_missing_out(tmp: Path) -> list:
    return ["demo"]


def _seed_negative(tmp: Path) -> list:
    return ["demo", "--out", tmp / "demo", "--seed", "-1"]


def _output_inside_manifest_folder(tmp: Path) -> list:
    images = tmp / "images"
    write_png(images / "a.png", 1)
    write_png(images / "b.png", 2)
    (tmp / "labels.csv").write_text("path,label\nimages/a.png,x\nimages/b.png,y\n")
    return [
        "analyze",
        "--no-probes",
        "--manifest",
        tmp / "labels.csv",
        "-o",
        images / "profile.json",
    ]


def _output_overwrites_manifest(tmp: Path) -> list:
    write_png(tmp / "images" / "a.png", 1)
    (tmp / "labels.csv").write_text("path,label\nimages/a.png,x\n")
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv", "-o", tmp / "labels.csv"]


def _manifest_names_a_folder(tmp: Path) -> list:
    write_png(tmp / "images" / "a.png", 1)
    (tmp / "labels.csv").write_text("path,label\nimages/a.png,x\nimages,y\n")
    return ["analyze", "--no-probes", "--manifest", tmp / "labels.csv"]


def _demo_out_under_a_file(tmp: Path) -> list:
    (tmp / "file").write_text("x")
    return ["demo", "--out", tmp / "file" / "demo"]


CASES: dict[str, tuple[Callable[[Path], list], tuple[str, ...]]] = {
    "seed-negative": (_seed_negative, ("--seed",)),
    "output-inside-manifest-folder": (_output_inside_manifest_folder, ("inside the data folder",)),
    "output-overwrites-manifest": (_output_overwrites_manifest, ("one of the inputs",)),
    "manifest-names-a-folder": (_manifest_names_a_folder, ("not files", "images")),
    "demo-out-under-a-file": (_demo_out_under_a_file, ("cannot write the demo",)),
    "missing-path": (_missing_path, ("not found", "does-not-exist")),
    "empty-folder": (_empty_folder, ("empty",)),
    "file-not-folder": (_file_for_folder, ("picture.png", "folder")),
    "no-readable-image": (_no_readable_image, ("no readable images",)),
    "manifest-missing": (_manifest_missing, ("manifest", "not found")),
    "manifest-not-csv": (_manifest_not_csv, ("not a CSV",)),
    "manifest-no-path-column": (_manifest_without_path_column, ("'path'",)),
    "manifest-missing-files": (_manifest_names_missing_files, ("3 file(s)", "missing_first.png")),
    "manifest-unknown-split": (_manifest_unknown_split, ("holdout",)),
    "manifest-empty": (_manifest_empty, ("empty",)),
    "output-folder-missing": (_output_folder_missing, ("does not exist",)),
    "output-inside-data": (_output_inside_data, ("inside the data folder",)),
    "output-deep-inside-data": (_output_deep_inside_data, ("inside the data folder",)),
    "output-inside-unlabeled": (_output_inside_unlabeled_folder, ("inside the data folder",)),
    "output-is-folder": (_output_is_a_folder, ("results",)),
    "seed-not-integer": (_seed_not_integer, ("--seed",)),
    "unlabeled-missing": (_unlabeled_missing, ("--unlabeled", "not found")),
    "nothing-to-analyze": (_no_data_no_manifest, ("--manifest",)),
    "unknown-option": (_unknown_option, ("--colour",)),
    "unknown-command": (_unknown_command, ("analyse",)),
    "failed-analysis-with-output": (_failed_analysis_with_output, ("empty",)),
    "demo-unknown-dataset": (_demo_unknown_dataset, ("cifar",)),
    "demo-too-few-images": (_demo_too_few_images, ("--images",)),
    "demo-bad-class-count": (_demo_bad_class_count, ("--classes",)),
    "demo-bad-style-new-folders": (_demo_bad_style_in_new_folders, ("--style",)),
    "demo-out-is-file": (_demo_out_is_a_file, ("file",)),
    "demo-missing-out": (_demo_missing_out, ("--out",)),
}


def check_one_error_line(stderr: str, fragments: tuple[str, ...]) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    line = lines[0]
    assert line.startswith("advisor: error: ") and line[len("advisor: error: ") :].strip()
    for fragment in fragments:
        assert fragment in line, line


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, case: str) -> None:
    setup, fragments = CASES[case]
    args = [str(a) for a in setup(tmp_path)]
    before = listing(tmp_path)
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    check_one_error_line(res.stderr, fragments)
    assert "Traceback" not in res.output
    assert res.stdout == ""
    assert listing(tmp_path) == before


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize(
    "case", ["missing-path", "manifest-not-csv", "output-inside-data", "seed-not-integer"]
)
def test_real_process_prints_one_line(tmp_path: Path, case: str) -> None:
    setup, fragments = CASES[case]
    args = [str(a) for a in setup(tmp_path)]
    before = listing(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    check_one_error_line(proc.stderr, fragments)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert listing(tmp_path) == before


@pytest.mark.slow
@pytest.mark.subprocess
def test_real_process_success_keeps_stdout_pure_json(tmp_path: Path) -> None:
    import json

    data = _data(tmp_path)
    before = listing(data)
    proc = subprocess.run(
        [sys.executable, "-m", "advisor", "analyze", "--no-probes", str(data), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,  # the installed package, not a source folder in the working directory
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["profile"]["files"]["images"] == 4
    assert listing(data) == before
