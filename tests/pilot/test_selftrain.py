"""The ``tl+st`` arm: the teacher labels only the seed's unlabeled images, its confident labels
are balanced per class, the student's batches mix them with the labels, a finished teacher is
never trained again on resuming, and a student without a teacher worth the name is a failed
run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import STORED_PILOT, invoke, make_class_folders
from torch import nn

from advisor.data.shapes import ShapesWorld
from advisor.errors import InputError
from advisor.pilot import data as pdata
from advisor.pilot import plan as plan_module
from advisor.pilot import runner as runner_module
from advisor.pilot import selftrain, train
from advisor.pilot.budget import parse_budget
from advisor.pilot.interrupt import StopFlag
from advisor.pilot.runner import Pilot
from advisor.pilot.settings import PilotSettings
from advisor.pilot.store import Store
from advisor.pilot.units import Bench
from advisor.schema.pilot import PilotResult, UnitResult
from advisor.schema.vocabulary import DemoName
from advisor.services.demo import make_demo


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("selftrain") / "shapes"
    world = ShapesWorld(images=150, classes=3, size=32)
    make_demo(root, DemoName.shapes, 0, False, False, world, None)
    return root


def _taught(labels: list[int], confidence: list[float]) -> selftrain.Teaching:
    return selftrain.Teaching(
        seed=0,
        images=np.arange(100, 100 + len(labels)),
        labels=np.array(labels),
        confidence=np.array(confidence, dtype=np.float32),
    )


def test_the_teachers_labels_are_its_argmax_and_confidence_its_softmax() -> None:
    logits = np.array([[0.0, 2.0, 0.0], [5.0, 0.0, 0.0]])
    taught = selftrain.teaching(3, np.array([7, 9]), logits)
    assert taught.labels.tolist() == [1, 0]
    assert taught.confidence == pytest.approx(torch.softmax(torch.tensor(logits), 1).amax(1))
    assert selftrain.confident(taught, 0.9).tolist() == [1]


def test_class_balance_repeats_small_classes_and_keeps_the_most_confident_of_large_ones() -> None:
    # class 0: five confident labels, class 1: one, class 2: two below the threshold
    taught = _taught(
        [0, 0, 0, 0, 0, 1, 2, 2, 1], [0.91, 0.99, 0.95, 0.93, 0.97, 0.96, 0.5, 0.6, 0.2]
    )
    picks = selftrain.balanced(taught, 0.9)
    chosen = taught.labels[picks]
    # six confident labels of two named classes: three each, the set keeps its size
    assert sorted(chosen.tolist()) == [0, 0, 0, 1, 1, 1]
    assert picks[chosen == 0].tolist() == [1, 4, 2]  # the most confident, in that order
    assert picks[chosen == 1].tolist() == [5, 5, 5]
    assert 6 not in picks and 7 not in picks and 8 not in picks  # below the threshold
    assert selftrain.balanced(taught, 0.999).size == 0


class _Logits(nn.Module):
    """Three classes read off the mean pixel: enough to stand in for a teacher."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([m, -m, 0 * m], dim=1) * 10


def _images(n_labeled: int = 30, n_unlabeled: int = 40) -> pdata.Images:
    """Pixels that carry their own index (so a batch says which images it holds)."""
    n = n_labeled + n_unlabeled
    pixels = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 4, 4).clone()
    labels = np.array([i % 3 for i in range(n_labeled)] + [-1] * n_unlabeled)
    return pdata.Images(pixels, labels, ["a", "b", "c"], np.zeros(n, bool), 0)


def _bench(images: pdata.Images, tmp_path: Path) -> Bench:
    identity = train.eval_transform([0.0] * 3, [1.0] * 3)
    return Bench(
        images=images,
        backbone=None,
        fabric=train.make_fabric(torch.device("cpu"), 1),
        method="simclr",
        batch=8,
        workers=0,
        train_tf=lambda x: x,
        eval_tf=identity,
        views_tf=None,
        strong_tf=lambda x: x,
        stop=StopFlag(),
        store=Store(tmp_path),
    )


def test_pseudo_labels_are_of_the_unlabeled_images_only_and_mix_into_every_batch(
    tmp_path: Path,
) -> None:
    images = _images()
    split = pdata.split(images, seed=0)
    bench = _bench(images, tmp_path)
    taught = bench.teach(_Logits(), split)
    labeled = set(np.flatnonzero(images.labels >= 0).tolist())
    assert set(taught.images.tolist()) == set(range(30, 70))
    assert not set(taught.images.tolist()) & (set(split.evaluate) | set(split.finetune))
    assert set(split.evaluate) | set(split.finetune) == labeled

    confident = selftrain.confident(taught, 0.0)
    picks = taught.images[selftrain.balanced(taught, 0.0)]
    batches = bench.student_loader(split, taught)
    drawn = [x for _epoch in range(3) for x, _labels in batches]
    assert {len(x) for x in drawn} == {bench.batch}
    seen = torch.cat([x[:, 0, 0, 0] for x in drawn])
    seen_set = set(seen.tolist())
    assert seen_set <= set(split.finetune) | set(picks.tolist())
    assert not seen_set & set(split.evaluate)
    pseudo_share = np.isin(seen.numpy(), taught.images).mean()
    assert len(confident) and abs(pseudo_share - selftrain.PSEUDO_SHARE) < 0.1
    # a teacher without a confident label: the student's batches are the labeled ones
    none = selftrain.Teaching(0, taught.images, taught.labels, np.zeros(len(taught.images)))
    only = torch.cat([x[:, 0, 0, 0] for x, _ in bench.student_loader(split, none)])
    assert set(only.tolist()) <= set(split.finetune)


def _settings(data: Path, out: Path, paradigms: list[str], **changes) -> PilotSettings:
    fields = {
        "data": data,
        "unlabeled": [],
        "manifest": None,
        "budget": parse_budget("20steps"),
        "paradigms": paradigms,
        "method": "simclr",
        "seeds": 1,
        "backbone": "auto",
        "resolution": 32,
        "out": out,
        "resume": False,
        "device": "cpu",
        "devices": 1,
    }
    return PilotSettings(**{**fields, **changes})


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The arms a pilot trains, in order, with fine-tuning skipped (its steps only counted),
    so that a pilot takes seconds."""
    arms: list[str] = []
    train_unit = runner_module.train_unit

    def recording(bench, arm, split, steps):
        arms.append(arm)
        return train_unit(bench, arm, split, steps)

    def no_finetune(fabric, model, batches, steps, stop, on_step=None, halfway=None) -> float:
        next(iter(batches))  # the loader works
        for done in range(1, steps + 1):
            on_step(done)
        return 0.0

    monkeypatch.setattr(runner_module, "train_unit", recording)
    monkeypatch.setattr(train, "finetune", no_finetune)
    return arms


def test_tl_st_trains_after_its_teacher_only_when_asked_and_resumes_without_it(
    shapes: Path, tmp_path: Path, trained: list[str]
) -> None:
    out = tmp_path / "without"
    Pilot(_settings(shapes, out, ["tl", "scratch"])).run()
    assert "tl+st" not in trained and not list((out / "checkpoints").glob("*pseudo*"))

    trained.clear()
    out = tmp_path / "with"
    result = Pilot(_settings(shapes, out, ["tl+st"])).run()
    assert trained == ["tl", "tl+st"] and result.plan.arms == ["tl", "tl+st", "tl-linear"]
    assert any(
        c.startswith("tl+st: each seed's fine-tuned tl network") for c in result.plan.choices
    )
    student = next(u for u in result.units if u.arm == "tl+st")
    assert student.unlabeled_images == result.plan.pool_images - result.plan.finetune_images
    assert student.pseudo_threshold == selftrain.THRESHOLD
    assert 0 <= student.pseudo_labels <= student.unlabeled_images
    assert [d.arm for d in result.differences] == ["tl+st", "tl-linear"]

    teaching = out / "checkpoints" / "tl-seed0.pseudo-labels.npz"
    stored, teacher = teaching.read_bytes(), (out / "units" / "tl-seed0.json").stat().st_mtime_ns
    (out / "units" / "tl-plus-st-seed0.json").unlink()
    trained.clear()
    again = Pilot(_settings(shapes, out, ["tl+st"], resume=True)).run()
    assert trained == ["tl+st"]  # the teacher is not trained again
    assert teaching.read_bytes() == stored
    assert (out / "units" / "tl-seed0.json").stat().st_mtime_ns == teacher
    redone = next(u for u in again.units if u.arm == "tl+st")
    assert redone.pseudo_labels == student.pseudo_labels

    # pseudo-labels of other images than the seed's unlabeled ones are refused
    (out / "units" / "tl-plus-st-seed0.json").unlink()
    with np.load(teaching) as saved:
        arrays = dict(saved)
    arrays["images"] = arrays["images"] * 0  # image 0 is labeled
    np.savez(teaching, **arrays)
    with pytest.raises(InputError, match="not this seed's unlabeled"):
        Pilot(_settings(shapes, out, ["tl+st"], resume=True)).run()
    teaching.unlink()
    with pytest.raises(InputError, match="train the teacher again"):
        Pilot(_settings(shapes, out, ["tl+st"], resume=True)).run()


def test_without_unlabeled_images_tl_st_is_refused_when_named_and_left_out_by_default(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    make_class_folders(data, {"a": 30, "b": 30})
    res = invoke("pilot", data, "--paradigms", "tl,tl+st", "--out", tmp_path / "out")
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--paradigms tl+st needs unlabeled images" in lines[0]

    pilot = Pilot(_settings(data, tmp_path / "default", ["tl", "tl+st", "ssl"], chosen=False))
    pilot._load()
    plan = pilot._plan(time.perf_counter())
    assert plan.arms == ["tl", "ssl", "tl-linear"] and not pilot.bench.teaches
    assert plan.choices[-1].startswith("tl+st left out: transfer then self-training needs")


def test_the_teachers_pass_is_part_of_a_seeds_cost() -> None:
    cost = {**dict.fromkeys(plan_module.COSTS, 0.0), "ft": 0.5, "label": 7.0}
    assert plan_module.seed_cost(cost, ["tl", "tl+st"]) == (7.0, 1.0)
    assert plan_module.seed_cost(cost, ["tl", "tl+ssl"]) == (0.0, 1.0)


def _with_students(result: PilotResult, pseudo_labels: int = 50) -> list[UnitResult]:
    """The stored pilot's units with a ``tl+st`` unit per seed (its scores those of tl+ssl)."""
    students = [
        u.model_copy(
            update={
                "arm": "tl+st",
                "unlabeled_images": 400,
                "pseudo_labels": pseudo_labels,
                "pseudo_threshold": 0.8,
            }
        )
        for u in result.units
        if u.arm == "tl+ssl"
    ]
    return [*result.units, *students]


def _at(units: list[UnitResult], arm: str, accuracy: float) -> list[UnitResult]:
    changed = []
    for u in units:
        if u.arm == arm:
            right = round(accuracy * len(u.correct))
            correct = [True] * right + [False] * (len(u.correct) - right)
            u = u.model_copy(update={"accuracy": right / len(u.correct), "correct": correct})
        changed.append(u)
    return changed


def _summary(units: list[UnitResult]) -> PilotResult:
    from advisor.pilot.stats import summarise

    kept = PilotResult.model_validate_json(STORED_PILOT.read_text())
    arms = ["tl", "tl+st", "tl+ssl", "ssl", "scratch", "tl-linear"]
    plan = kept.plan.model_copy(update={"arms": arms, "majority_share": 0.25})
    return summarise(plan, units, 100.0, kept.sources)


def test_a_student_of_a_teacher_at_chance_is_a_failed_run() -> None:
    kept = PilotResult.model_validate_json(STORED_PILOT.read_text())
    units = _at(_at(_with_students(kept), "tl-linear", 0.3), "tl+st", 0.9)
    healthy = _summary(_at(units, "tl", 0.8))
    assert not any(f.arm == "tl+st" for f in healthy.failed_runs)
    difference = next(d for d in healthy.differences if d.arm == "tl+st")
    assert difference.accuracy_points == pytest.approx(10.0, abs=0.5)
    assert difference.low <= difference.accuracy_points <= difference.high
    assert healthy.ssl_still_improving is not None  # the SSL arms' curves are still read
    assert [p.arm for p in healthy.projections] == ["ssl", "tl+ssl"]

    result = _summary(_at(units, "tl", 0.26))
    failed = {(f.arm, f.seed): f.reason for f in result.failed_runs}
    assert {("tl+st", s) for s in (0, 1, 2)} <= set(failed)
    assert failed[("tl+st", 0)].startswith("its teacher, the tl run of the same seed, failed")
    assert result.measured_best != "tl+st"


def test_a_student_without_a_confident_pseudo_label_is_a_failed_run() -> None:
    kept = PilotResult.model_validate_json(STORED_PILOT.read_text())
    units = _at(_at(_with_students(kept, pseudo_labels=0), "tl", 0.8), "tl-linear", 0.3)
    result = _summary(units)
    reasons = [f.reason for f in result.failed_runs if f.arm == "tl+st"]
    assert len(reasons) == 3
    assert "labeled none of the 400 unlabeled images with 80% confidence" in reasons[0]


def test_the_pilot_shows_the_students_pseudo_labels() -> None:
    from rich.console import Console

    from advisor.render.pilot import pseudo_label_lines, render_pilot

    kept = PilotResult.model_validate_json(STORED_PILOT.read_text())
    result = _summary(_at(_with_students(kept), "tl", 0.8))
    assert pseudo_label_lines(result) == [
        "tl+st pseudo-labels (teacher confidence ≥ 80%): seed 0 50 of 400; seed 1 50 of 400; "
        "seed 2 50 of 400"
    ]
    console = Console(record=True, width=200)
    render_pilot(console, result)
    text = console.export_text()
    assert "tl+st" in text and "pseudo-labels" in text
    assert pseudo_label_lines(kept) == []  # a document of an earlier version


def test_the_help_names_tl_st_and_the_default_list_has_it() -> None:
    res = invoke("pilot", "--help")
    assert res.exit_code == 0
    assert "tl+st" in res.stdout and "tl,ssl,tl+ssl,tl+st,scratch" in res.stdout.replace(" ", "")
