"""A pilot on two CPU processes (DDP over gloo): the same result as one process, written once,
and Ctrl-C stopping both at the same step, resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from advisor.data.shapes import ShapesWorld
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import DemoName
from advisor.services.demo import make_demo

ARGS = ["--device", "cpu", "--seeds", "2", "--paradigms", "tl,tl+ssl", "--resolution", "32"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed") / "shapes"
    world = ShapesWorld(images=200, classes=3, size=32)
    make_demo(root, DemoName.shapes, 0, False, False, world, None)
    return root


def _start(data: Path, out: Path, *args: str) -> subprocess.Popen:
    """The command in a session of its own, so that Ctrl-C can go to all its processes at
    once, as a terminal sends it."""
    env = {**os.environ, "ADVISOR_DATA_DIR": str(out.parent / "store")}
    return subprocess.Popen(
        [sys.executable, "-m", "advisor", "pilot", str(data), *ARGS, "--out", str(out), *args],
        cwd=out.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _finished(proc: subprocess.Popen) -> PilotResult:
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    return PilotResult.model_validate_json(stdout)  # one document: one process printed


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_processes_agree_with_one_and_write_once(shapes: Path, tmp_path: Path) -> None:
    one = _finished(_start(shapes, tmp_path / "one", "--budget", "60steps", "--json"))
    out = tmp_path / "two"
    two = _finished(_start(shapes, out, "--budget", "60steps", "--json", "--devices", "2"))
    assert two.plan.devices == 2 and one.plan.devices == 1
    assert [s.model_dump() for s in two.plan.steps] == [s.model_dump() for s in one.plan.steps]
    assert PilotResult.model_validate_json((out / "result.json").read_text()) == two
    assert sorted(p.name for p in (out / "units").iterdir()) == sorted(
        f"{arm}-seed{seed}.json" for arm in ("tl", "tl-plus-ssl", "tl-linear") for seed in (0, 1)
    )
    stored = (tmp_path / "store" / "experience.jsonl").read_text().splitlines()
    assert len(stored) == 2  # one line from each run, none from the second process
    assert two.winner == one.winner and (two.too_short is None) == (one.too_short is None)
    evaluated = len(one.units[0].correct)
    for arm in one.arms:
        other = next(a for a in two.arms if a.arm == arm.arm)
        spread = max(u.accuracy for u in one.units if u.arm == arm.arm) - min(
            u.accuracy for u in one.units if u.arm == arm.arm
        )
        noise = 2 * np.sqrt(max(arm.accuracy * (1 - arm.accuracy), 1 / evaluated) / evaluated)
        assert abs(other.accuracy - arm.accuracy) <= max(spread, noise), arm.arm


@pytest.mark.slow
@pytest.mark.subprocess
def test_ctrl_c_stops_both_processes_and_resume_finishes(shapes: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _start(shapes, out, "--budget", "120steps", "--devices", "2", "-q")
    try:
        deadline = time.monotonic() + 300
        while not (out / "units" / "tl-seed0.json").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert stderr.count("advisor: interrupted") == 1 and "Traceback" not in stderr
    assert not (out / "result.json").exists()
    plan = json.loads((out / "plan.json").read_text())
    result = _finished(
        _start(shapes, out, "--budget", "120steps", "--devices", "2", "--resume", "--json")
    )
    assert result.complete and len(result.units) == 6
    assert json.loads((out / "plan.json").read_text()) == plan


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_processes_plan_a_time_budget_as_one(shapes: Path, tmp_path: Path) -> None:
    """With a time budget the plan depends on each process's clock: the first process's
    calibration, shape and re-planning are every process's, so the run neither hangs nor
    trains different steps in its processes."""
    start = time.monotonic()
    result = _finished(
        _start(shapes, tmp_path / "run", "--budget", "100s", "--devices", "2", "--json")
    )
    assert result.complete and result.plan.devices == 2 and result.plan.budget_seconds == 100
    assert time.monotonic() - start < 300
    assert all(u.midway_correct for u in result.units if u.arm != "tl-linear")
