"""The pilot: budgets, a tiny real pilot, resume, Ctrl-C, bad input, and its evidence."""

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
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from advisor import cli as cli_module
from advisor.cli import app
from advisor.decide import combine_with_pilot, features_from_card, recommend
from advisor.demo import DemoName, ShapesWorld, make_demo
from advisor.errors import InputError
from advisor.pilot import runner as runner_module
from advisor.pilot import stats, train
from advisor.pilot.budget import parse_budget
from advisor.pilot.runner import (
    COSTS,
    MIN_FINETUNE_STEPS,
    RESERVE_SECONDS,
    Pilot,
    replan,
    steps_within,
    summarise,
)
from advisor.schema import DatasetCard, PairedDifference, PilotResult

runner = CliRunner()
STORED = Path(__file__).parent / "data" / "pilot-result.json"
TINY = ["--budget", "15steps", "--seeds", "1", "--paradigms", "tl,ssl", "--resolution", "32"]


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pilot") / "shapes"
    world = ShapesWorld(images=150, classes=3, size=32)
    make_demo(root, DemoName.shapes, 0, False, False, world, None)
    return root


@pytest.fixture(autouse=True)
def experience_store(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "store"))
    return tmp_path / "store" / "experience.jsonl"


@pytest.mark.parametrize(
    ("text", "seconds", "steps"),
    [
        ("90s", 90, None),
        ("10m", 600, None),
        ("1h", 3600, None),
        ("2000steps", None, 2000),
        ("1.5h", 5400, None),
        (" 5 min ", 300, None),
        ("1step", None, 1),
    ],
)
def test_budgets(text: str, seconds, steps) -> None:
    budget = parse_budget(text)
    assert budget.seconds == seconds and budget.steps == steps


@pytest.mark.parametrize("text", ["", "ten minutes", "10", "0m", "-5m", "2.5steps", "10d"])
def test_unparseable_budgets(text: str) -> None:
    with pytest.raises(InputError, match="budget"):
        parse_budget(text)


def test_tiny_pilot_runs_saves_and_resumes(shapes: Path, tmp_path: Path, experience_store) -> None:
    out = tmp_path / "run"
    res = invoke("pilot", shapes, *TINY, "--out", out, "--json", "-q")
    assert res.exit_code == 0, res.stderr
    document = json.loads(res.stdout)
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
    assert [p.step for p in ssl.curve] == result.plan.steps[0].curve_steps == [0, 2, 5]
    assert [d.arm for d in result.differences] == ["ssl", "tl-linear"]
    assert result.recommendation is not None
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
        ({"a": 10, "b": 10}, ["--budget", "2steps", "--paradigms", "tl"], "too small"),
        ({"a": 4, "b": 4}, ["--budget", "100steps"], "pool"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, counts, args, fragment: str) -> None:
    from conftest import make_class_folders

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
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    res = invoke("pilot", shapes, *TINY, "--out", busy)
    assert res.exit_code == 2 and "not empty" in res.stderr
    res = invoke("pilot", shapes, *TINY, "--out", tmp_path / "fresh", "--resume")
    assert (res.exit_code == 2 and "nothing to resume" in res.stderr) or "no pilot" in res.stderr


def _stored_result() -> PilotResult:
    return PilotResult.model_validate_json(STORED.read_text())


def _pilot(points: float, low: float, high: float, improving: bool | None) -> PilotResult:
    result = _stored_result()
    difference = PairedDifference(
        arm="tl+ssl", accuracy_points=points, low=low, high=high, level=0.95
    )
    return result.model_copy(update={"differences": [difference], "ssl_still_improving": improving})


def _card(**changes):
    fields = dict(
        name="t",
        task="classification",
        domain="natural",
        labeled_images=5000,
        unlabeled_images=20000,
        classes=10,
        image_size=256,
    )
    return features_from_card(DatasetCard.model_validate({**fields, **changes}))


def test_a_clear_pilot_moves_the_verdict_and_a_truncated_one_does_not() -> None:
    prior = recommend(_card())
    assert prior.verdict == "tl"
    moved = combine_with_pilot(prior, _pilot(6.0, 3.0, 9.0, False))
    assert moved.verdict == "tl+ssl" and moved.pilot is not None
    assert moved.pilot.weight > 0.5
    assert moved.expected_gain.low > 0
    vague = combine_with_pilot(prior, _pilot(1.0, -8.0, 10.0, False))
    assert vague.pilot.weight < moved.pilot.weight
    truncated = combine_with_pilot(prior, _pilot(-5.0, -8.0, -2.0, True))
    assert truncated.verdict == prior.verdict and truncated.pilot is None
    assert any("still improving" in c for c in truncated.caveats)


def test_analyze_and_fit_use_a_pilot(shapes: Path, tmp_path: Path) -> None:
    res = invoke("analyze", shapes, "--no-probes", "--pilot", STORED, "--json", "-q")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["recommendation"]["pilot"] is not None
    res = invoke("analyze", shapes, "--no-probes", "--pilot", shapes / "nope.json")
    assert res.exit_code == 2
    res = invoke("knowledge", "fit", "--with-experience")
    assert res.exit_code == 2 and "no pilots" in res.stderr


@pytest.mark.parametrize("ratio", [0.7, 1.0, 1.4])
def test_replanning_keeps_a_time_budget_when_the_cost_model_misses(ratio: float) -> None:
    """A run whose seeds cost ``ratio`` times what the plan predicted still ends within 10% of
    its budget: the seeds after the first are re-planned from the time the first ones took."""
    plan = _stored_result().plan
    budget, startup, fixed, per_step = 600.0, 30.0, 20.0, 4.0
    first = steps_within(budget - startup - RESERVE_SECONDS, 3, fixed, per_step)
    plan = plan.model_copy(
        update={"steps": [s.model_copy(update={"finetune_steps": first}) for s in plan.steps]}
    )
    elapsed, spent = startup, 0.0
    for k in range(len(plan.steps)):
        if k:
            plan = replan(plan, k, spent, budget - elapsed - RESERVE_SECONDS, fixed, per_step)
        took = ratio * (fixed + per_step * plan.steps[k].finetune_steps)
        spent, elapsed = spent + took, elapsed + took
    assert 0.9 * budget <= elapsed <= 1.1 * budget
    assert plan.steps[0].finetune_steps == first
    assert abs(plan.steps[1].finetune_steps - plan.steps[2].finetune_steps) <= 1
    assert plan.steps[1].ssl_steps == plan.steps[1].finetune_steps
    assert plan.steps[2].curve_steps[-1] == plan.steps[2].ssl_steps
    if ratio > 1:
        assert plan.steps[1].finetune_steps < first
        assert "re-planned after 1 seed took" in plan.steps[1].basis
    assert "re-planned after 2 seeds" in plan.steps[2].basis


def test_a_time_budget_replans_later_seeds_and_resume_keeps_the_plan(
    shapes: Path, tmp_path: Path, monkeypatch
) -> None:
    """Seeds that run 1.5x slower than calibrated, on a clock that only the fine-tuning moves
    (so the arithmetic is exact whatever else the machine does): the second seed gets fewer
    steps, every arm of a seed trains that seed's steps, the plan on disk says so, and --resume
    re-plans nothing."""
    per_step, budget = 0.02, 20.0
    monkeypatch.setattr(
        Pilot, "_calibrate", lambda self: {**dict.fromkeys(COSTS, 0.0), "ft": per_step}
    )
    clock = [time.perf_counter()]
    for module in (cli_module, runner_module):  # the budget's start and the pilot's checks
        monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    given: list[int] = []

    def slow_finetune(fabric, model, batches, steps: int, stop) -> float:
        given.append(steps)
        clock[0] += 1.5 * per_step * steps
        return 0.0

    monkeypatch.setattr(train, "finetune", slow_finetune)
    out = tmp_path / "run"
    args = ("pilot", shapes, "--budget", f"{budget:g}s", "--seeds", "2", "--paradigms", "tl")
    args += ("--resolution", "32", "--out", out, "--json", "-q", "--no-store")
    res = invoke(*args)
    assert res.exit_code == 0, res.stderr
    plan = PilotResult.model_validate_json(res.stdout).plan
    first = steps_within(budget - RESERVE_SECONDS, 2, 0.0, per_step)
    took = 1.5 * per_step * first
    second = steps_within(budget - took - RESERVE_SECONDS, 1, 0.0, per_step, 1.5)
    assert [s.finetune_steps for s in plan.steps] == given == [first, second]
    assert MIN_FINETUNE_STEPS < second < first
    assert plan.steps[0].basis == "planned before training"
    assert plan.steps[1].basis.startswith("re-planned after 1 seed took")
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


def test_a_run_far_over_its_time_budget_says_so() -> None:
    kept = _stored_result()
    within = summarise(kept.plan, kept.units, 195.0, kept.sources)
    assert not any("over its budget" in c for c in within.caveats)
    over = summarise(kept.plan, kept.units, 250.0, kept.sources)
    assert any("250 s, 39% over its budget of 3m" in c for c in over.caveats)


def test_arms_tied_at_the_top_have_no_measured_best() -> None:
    kept = _stored_result()
    # both pretrained arms score every evaluation image right, as on an easy far-domain world
    units = [
        u.model_copy(update={"correct": [True] * len(u.correct), "accuracy": 1.0})
        if u.arm in ("tl", "tl+ssl")
        else u
        for u in kept.units
    ]
    tied = summarise(kept.plan, units, 100.0, kept.sources)
    assert tied.measured_best is None and tied.winner is None and tied.confidence is None
    assert any(c.startswith("tl and tl+ssl tie at 100.0% accuracy") for c in tied.caveats)
    assert not any("No arm is clearly best" in c for c in tied.caveats)
    assert [d.accuracy_points for d in tied.differences if d.arm == "tl+ssl"] == [0.0]


def test_bootstrap_draws_that_tie_are_shared() -> None:
    draws = {"tl": np.ones(4), "tl+ssl": np.ones(4), "ssl": np.array([0.5, 1.0, 1.0, 1.0])}
    shares = stats.best_share(draws)
    assert shares == pytest.approx({"tl": 0.375, "tl+ssl": 0.375, "ssl": 0.25})


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_a_seed_builds_the_same_self_supervised_heads_whatever_ran_before(method: str) -> None:
    from advisor.pilot import models

    def parameters() -> list[torch.Tensor]:
        torch.rand(17)  # whatever ran before moves the global random state
        module = models.ssl_module(method, torch.nn.Identity(), 8, seed=3)
        return [p.detach().clone() for p in module.parameters()]

    first, second = parameters(), parameters()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    other = models.ssl_module(method, torch.nn.Identity(), 8, seed=4)
    assert not all(torch.equal(a, b) for a, b in zip(first, other.parameters(), strict=True))
