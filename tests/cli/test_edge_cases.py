"""Edge cases a demanding user meets: links, pipes, permissions, colour, stdout as -o."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    encode,
    invoke,
    make_class_folders,
    problems,
    profile_of,
    smooth_noise,
    write_png,
)


def test_link_to_a_pipe_is_never_opened(tmp_path: Path, time_limit) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 2})
    os.mkfifo(tmp_path / "pipe")
    (data / "cat" / "looks_like.png").symlink_to(tmp_path / "pipe")
    with time_limit(20):
        profile = profile_of(data)
    assert profile.files.images == 2
    assert profile.files.non_image == 1  # the link to the pipe, counted and skipped


def test_a_folder_link_never_takes_the_name_of_the_real_class(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 2, "dog": 1})
    (data / "all_cats").symlink_to(data / "cat")  # sorts before "cat"
    profile = profile_of(data)
    assert profile.classes == ["cat", "dog"]
    assert profile.class_counts == {"cat": 2, "dog": 1}
    linked = [n for n in profile.notices if n.kind == "linked_folders"]
    assert linked and linked[0].paths == [str(data / "all_cats")]


def test_classes_seen_only_in_test_are_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data / "train", {"cat": 3, "dog": 2})
    make_class_folders(data / "test", {"cat": 1, "bird": 1}, seed=100)
    imbalance = profile_of(data).imbalance
    assert imbalance is not None
    assert imbalance.missing_classes == ["bird"]
    assert "no training images at all for bird" in imbalance.reading
    assert imbalance.class_counts == {"cat": 3, "dog": 2}


def test_near_identical_images_with_different_labels_conflict(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 2, "dog": 2})
    (data / "dog" / "cat_again.jpg").write_bytes(encode(smooth_noise(0), "JPEG", quality=90))
    profile = profile_of(data)
    cat = str(data / "cat" / "img_0.png")
    copy = str(data / "dog" / "cat_again.jpg")
    assert [cat, copy] in problems(profile, "near_duplicate")
    assert [cat, copy] in problems(profile, "conflicting_labels")


def test_output_file_gets_ordinary_permissions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 2})
    previous = os.umask(0o022)
    try:
        result = invoke("analyze", "--no-probes", data, "-q", "-o", tmp_path / "profile.json")
        demo = invoke("demo", "--out", tmp_path / "demo", "--dataset", "shapes", "--images", "8")
    finally:
        os.umask(previous)
    assert result.exit_code == 0 and demo.exit_code == 0
    assert (tmp_path / "profile.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "demo").stat().st_mode & 0o777 == 0o755


def test_dash_output_means_stdout(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 2})
    result = invoke("analyze", "--no-probes", data, "-q", "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["profile"]["files"]["images"] == 2
    assert not (Path.cwd() / "-").exists()


def test_photo_shapes_at_a_large_size(tmp_path: Path) -> None:
    out = tmp_path / "photo"
    args = ["--dataset", "shapes", "--style", "photo", "--size", "256", "--images", "8"]
    result = invoke("demo", "--out", out, *args)
    assert result.exit_code == 0, result.stderr
    assert len(list(out.rglob("*.png"))) == 8


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run the installed package (cwd away from the source folders, which ``-m`` would find
    first) in a real process."""
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(env)
    command = [sys.executable, "-m", "advisor", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, timeout=120, cwd=cwd
    )


@pytest.mark.slow
@pytest.mark.subprocess
def test_no_color_turns_colour_off(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 3, "dog": 1})
    forced = _run(["analyze", "--no-probes", str(data)], tmp_path, FORCE_COLOR="1")
    plain = _run(["analyze", "--no-probes", str(data)], tmp_path, FORCE_COLOR="1", NO_COLOR="1")
    piped = _run(["analyze", "--no-probes", str(data)], tmp_path)
    assert forced.returncode == plain.returncode == piped.returncode == 0
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]")  # foreground colours
    assert colour.search(forced.stdout)  # they appear when forced, so the check can fail
    assert not colour.search(plain.stdout)
    assert "\x1b[" not in piped.stdout  # not a terminal: no escape codes at all


def test_overlapping_unlabeled_folder_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"cat": 2})
    write_png(data / "unlabeled" / "u.png", 99)
    (data / "unlabeled" / ".DS_Store").write_text("x")
    alone = profile_of(data)
    twice = profile_of(data, [data / "unlabeled", data])
    assert twice.files == alone.files
    assert twice.notices == alone.notices
    shutil.rmtree(data)
