"""A tiny real pilot end to end: results, resume, Ctrl-C, tampered checkpoints, bad input, and a
time budget kept by re-planning."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
import torch
from helpers import STORED_PILOT, invoke

from advisor.data.shapes import ShapesWorld
from advisor.pilot import plan as plan_module
from advisor.pilot import runner as runner_module
from advisor.pilot import train
from advisor.pilot import units as units_module
from advisor.pilot.plan import COSTS, MIN_FINETUNE_STEPS, RESERVE_SECONDS, steps_within
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import DemoName
from advisor.services import pilot as service_module
from advisor.services.demo import make_demo

TINY = ["--budget", "15steps", "--seeds", "1", "--paradigms", "tl,ssl", "--resolution", "32"]


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pilot") / "shapes"
    world = ShapesWorld(images=150, classes=3, size=32)
    make_demo(root, DemoName.shapes, 0, False, False, world, None)
    return root


@pytest.mark.slow
def test_tiny_pilot_runs_saves_and_resumes(shapes: Path, tmp_path: Path, experience_store) -> None:
    out = tmp_path / "run"
    page = tmp_path / "pilot.html"
    res = invoke("pilot", shapes, *TINY, "--out", out, "--json", "-q", "--html", page)
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)
    html = page.read_text()
    assert 'id="d0-pilot"' in html and 'id="d0-curve-chart"' in html
    schema = json.loads(invoke("schema", "pilot").stdout)
    jsonschema.Draft202012Validator(schema).validate(document)
    result = PilotResult.model_validate(document)
    assert result.complete
    assert result.plan.arms == ["tl", "ssl", "tl-linear"]
    assert [(x.finetune_steps, x.ssl_steps) for x in result.plan.steps] == [(5, 5)]
    assert {u.arm for u in result.units} == {"tl", "ssl", "tl-linear"}
    for unit in result.units:
        assert len(unit.correct) == result.plan.eval_images
        assert unit.accuracy == pytest.approx(sum(unit.correct) / len(unit.correct), abs=1e-4)
    ssl = next(u for u in result.units if u.arm == "ssl")
    assert [p.step for p in ssl.curve] == result.plan.steps[0].curve_steps == [0, 1, 2, 3, 4, 5]
    assert [d.arm for d in result.differences] == ["ssl", "tl-linear"]
    assert result.recommendation is not None
    cost = result.recommendation.cost  # the pilot's own network, timed on its device
    assert cost is not None and cost.device_origin == "measured"
    assert cost.device.startswith("this machine's") and cost.images_per_second > 0
    assert json.loads((out / "result.json").read_text())["plan"] == document["plan"]
    assert experience_store.is_file()
    assert len(experience_store.read_text().splitlines()) == 1
    fitted = invoke("knowledge", "fit", "--with-experience")
    assert fitted.exit_code == 0, fitted.stderr
    assert json.loads(fitted.stdout)["fit_rows"][-1] == "pilot-0"
    # the SSL weights went through a safe (weights_only) checkpoint
    state = torch.load(next((out / "checkpoints").glob("*.pt")), weights_only=True)
    assert isinstance(state, dict) and state

    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "units").iterdir()}
    res = invoke("pilot", shapes, *TINY, "--out", out, "--resume", "--json", "-q")
    assert res.exit_code == 0, res.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (out / "units").iterdir()} == stamps
    again = PilotResult.model_validate_json(res.stdout)
    assert [u.accuracy for u in again.units] == [u.accuracy for u in result.units]


@pytest.mark.slow
def test_a_tampered_checkpoint_is_refused(shapes: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("pilot", shapes, *TINY, "--out", out, "-q", "--no-store").exit_code == 0
    for unit in (out / "units").glob("ssl-*.json"):
        unit.unlink()
    checkpoint = next((out / "checkpoints").glob("ssl-*.pt"))
    torch.save({"weights": object()}, checkpoint)  # a pickle weights_only will not load
    res = invoke("pilot", shapes, *TINY, "--out", out, "--resume", "-q")
    assert res.exit_code == 2
    assert "not a checkpoint" in res.stderr


def _run(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "ADVISOR_DATA_DIR": str(cwd / "store")}
    return subprocess.Popen(
        [sys.executable, "-m", "advisor", "pilot", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.subprocess
def test_ctrl_c_saves_and_resume_finishes(shapes: Path, tmp_path: Path, request) -> None:
    out = tmp_path / "run"
    args = [
        str(shapes),
        "--budget",
        "60steps",
        "--seeds",
        "2",
        "--paradigms",
        "tl",
        "--resolution",
        "32",
        "--out",
        str(out),
        "-q",
    ]
    proc = _run(args, tmp_path)
    request.addfinalizer(proc.kill)
    deadline = time.monotonic() + 300
    while not list((out / "units").glob("tl-seed0.json")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    # finished units only: the next unit's temporary file may be on its way to its name
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.json")}
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and "advisor: interrupted" in stderr
    assert "Traceback" not in stderr
    assert not (out / "result.json").exists()

    resumed = _run([*args, "--resume", "--json"], tmp_path)
    request.addfinalizer(resumed.kill)
    stdout, stderr = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, stderr
    result = PilotResult.model_validate_json(stdout)
    assert result.complete and len(result.units) == 4
    for name, stamp in finished.items():  # finished work was not redone
        assert (out / "units" / name).stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("counts", "args", "fragment"),
    [
        ({"a": 10}, [], "at least two classes"),
        ({"a": 10, "b": 3}, [], "at least 4 labeled images"),
        ({"a": 10, "b": 10}, ["--budget", "soon"], "--budget"),
        ({"a": 10, "b": 10}, ["--paradigms", "tl,magic"], "magic"),
        ({"a": 10, "b": 10}, ["--method", "moco"], "simclr or byol"),
        ({"a": 10, "b": 10}, ["--budget", "2steps", "--paradigms", "tl"], "give at least 5steps"),
        ({"a": 4, "b": 4}, ["--budget", "100steps"], "pool"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, counts, args, fragment: str) -> None:
    from helpers import make_class_folders

    data = tmp_path / "data"
    make_class_folders(data, counts)
    res = invoke("pilot", data, "--out", tmp_path / "out", "--resolution", "32", *args)
    assert res.exit_code == 2, res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("advisor: error: ")
    assert fragment in lines[0]


def test_out_inside_the_data_or_busy_is_refused(shapes: Path, tmp_path: Path) -> None:
    res = invoke("pilot", shapes, *TINY, "--out", shapes / "pilot")
    assert res.exit_code == 2 and "inside the data folder" in res.stderr
    assert not (shapes / "pilot").exists()
    res = invoke("pilot", shapes, *TINY, "--out", tmp_path / "run", "--html", shapes / "p.html")
    assert res.exit_code == 2 and "--html" in res.stderr and "inside the data folder" in res.stderr
    assert not (shapes / "p.html").exists() and not (tmp_path / "run").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    res = invoke("pilot", shapes, *TINY, "--out", busy)
    assert res.exit_code == 2 and "not empty" in res.stderr
    res = invoke("pilot", shapes, *TINY, "--out", tmp_path / "fresh", "--resume")
    assert (res.exit_code == 2 and "nothing to resume" in res.stderr) or "no pilot" in res.stderr


def test_analyze_and_fit_use_a_pilot(shapes: Path, tmp_path: Path) -> None:
    res = invoke("analyze", shapes, "--no-probes", "--pilot", STORED_PILOT, "--json", "-q")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["recommendation"]["pilot"] is not None
    res = invoke("analyze", shapes, "--no-probes", "--pilot", shapes / "nope.json")
    assert res.exit_code == 2
    res = invoke("knowledge", "fit", "--with-experience")
    assert res.exit_code == 2 and "no pilots" in res.stderr


def test_a_time_budget_shortens_a_seed_it_cannot_afford_and_resume_keeps_the_plan(
    shapes: Path, tmp_path: Path, monkeypatch
) -> None:
    """Steps that run 1.2x slower than calibrated, on a clock that only the fine-tuning moves
    (so the arithmetic is exact whatever else the machine does): the second seed cannot be
    afforded at full length, so it is shortened before it starts to what spends the budget;
    both seeds are compared; the plan on disk says so; and --resume re-plans nothing."""
    per_step, budget, slow = 0.02, 20.0, 1.2
    monkeypatch.setattr(
        plan_module, "calibrate", lambda *_: {**dict.fromkeys(COSTS, 0.0), "ft": per_step}
    )
    clock = [time.perf_counter()]
    for module in (service_module, runner_module, units_module):
        monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    given: list[int] = []

    def slow_finetune(fabric, model, batches, steps: int, stop, on_step=None, halfway=None):
        given.append(steps)
        for done in range(1, steps + 1):
            clock[0] += slow * per_step
            on_step(done)
        return 0.0

    monkeypatch.setattr(train, "finetune", slow_finetune)
    out = tmp_path / "run"
    args = ("pilot", shapes, "--budget", f"{budget:g}s", "--seeds", "2", "--paradigms", "tl")
    args += ("--resolution", "32", "--out", out, "--json", "-q", "--no-store")
    res = invoke(*args)
    assert res.exit_code == 0, res.stderr
    result = PilotResult.model_validate_json(res.stdout)
    plan = result.plan
    first = steps_within(budget - RESERVE_SECONDS, 2, 0.0, per_step)
    left = budget - slow * per_step * first - RESERVE_SECONDS
    second = steps_within(left, 1, 0.0, per_step, slow)
    assert [s.finetune_steps for s in plan.steps] == given == [first, second]
    assert MIN_FINETUNE_STEPS < second < first
    assert plan.steps[0].basis == "planned before training"
    assert plan.steps[1].basis.startswith("shortened before it started")
    # within the protocol's range of the first seed's steps: both seeds are compared
    assert not any(c.startswith("The summary compares the seeds") for c in result.caveats)
    assert [a.seeds for a in result.arms] == [2, 2]
    stored = json.loads((out / "plan.json").read_text())
    assert stored["plan"]["steps"] == [s.model_dump() for s in plan.steps]
    assert invoke(*args, "--resume").exit_code == 0
    assert len(given) == 2
    assert json.loads((out / "plan.json").read_text()) == stored
    # a plan.json of the format before per-seed steps is refused in one line
    old = {**stored["plan"], "finetune_steps": first, "ssl_steps": 0, "curve_steps": []}
    del old["steps"]
    (out / "plan.json").write_text(json.dumps({**stored, "plan": old}))
    res = invoke(*args, "--resume")
    assert res.exit_code == 2 and "another version" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_budget_too_small_for_what_was_asked_shrinks_the_plan_and_runs(
    shapes: Path, tmp_path: Path, monkeypatch
) -> None:
    """On a clock only the training moves: the calibration says 3 seeds of tl and tl+ssl
    cannot fit, so it is measured again (the faster reading kept); the plan then drops seeds
    rather than refusing, says so, and runs."""
    readings = iter([0.5, 0.2])  # a busy first calibration, a quieter second one
    calls: list[float] = []

    def calibrate(*_):
        calls.append(next(readings))
        return {**dict.fromkeys(COSTS, 0.0), "ft": calls[-1], "ssl": calls[-1]}

    clock = [time.perf_counter()]
    for module in (service_module, runner_module, units_module):
        monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: clock[0]))

    def steps_taken(steps: int) -> float:
        clock[0] += 0.2 * steps
        return 0.0

    monkeypatch.setattr(plan_module, "calibrate", calibrate)
    monkeypatch.setattr(train, "finetune", lambda f, m, b, steps, *a, **k: steps_taken(steps))
    monkeypatch.setattr(train, "pretrain", lambda f, m, b, steps, *a, **k: steps_taken(steps))
    out = tmp_path / "run"
    args = ("pilot", shapes, "--budget", "8s", "--seeds", "3", "--paradigms", "tl,tl+ssl")
    res = invoke(*args, "--resolution", "32", "--out", out, "--json", "-q", "--no-store")
    assert res.exit_code == 0, res.stderr
    plan = PilotResult.model_validate_json(res.stdout).plan
    assert calls == [0.5, 0.2]
    assert plan.seconds_per_finetune_step == 0.2
    assert any("measured twice" in c for c in plan.choices)
    assert any("could not hold 2 arms x 3 seeds" in c for c in plan.choices)
    # 5 s left at 0.6 s a step of the three phases: one seed of 8 steps
    assert [(s.seed, s.finetune_steps) for s in plan.steps] == [(0, 8)]
    assert plan.arms == ["tl", "tl+ssl", "tl-linear"]
