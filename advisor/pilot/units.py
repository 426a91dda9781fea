"""One arm trained and scored for one seed: a unit of the pilot, saved as soon as it finishes.

Every arm starts from the same architecture (pretrained or untrained, the untrained copy the
same for ``ssl`` and ``scratch``), an SSL arm first pretrains on the seed's pool, and every arm
then goes through the same fine-tuning protocol on the same images and is scored on the same
held-out ones: a linear head fitted on the network's frozen features (as ``tl-linear``), then the
whole network fine-tuned, its trunk at a third of the head's rate and its batch-norm
statistics kept (``train.finetune``). The ``tl+st`` student goes through the same protocol from
the same start as ``tl``; only its batches differ: about half of each is the seed's unlabeled
images with its teacher's labels (``selftrain``), which the ``tl`` unit of the seed wrote.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from lightning_fabric import Fabric
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from advisor.errors import InputError
from advisor.pilot import models, selftrain, stats, train
from advisor.pilot.data import Images, Split
from advisor.pilot.interrupt import StopFlag
from advisor.pilot.store import Store
from advisor.probing.backbone import Backbone
from advisor.progress import SILENT, Progress
from advisor.schema.pilot import CurvePoint, SeedSteps, UnitResult
from advisor.schema.vocabulary import (
    LINEAR_READING,
    SELF_TRAINING,
    SSL_ARMS,
    TRANSFER,
    SslMethod,
)

PRETRAINED = {"tl": True, "tl+st": True, "tl+ssl": True, "ssl": False, "scratch": False}
"""Which arms start from the pretrained weights."""
CURVE_IMAGES = 400
"""Images per side of the k-NN learning-curve reading (fine-tuning vs evaluation)."""
READING_BATCH = 128
"""Images per forward pass when features are read (no gradients, so larger than training's)."""


@dataclass
class Bench:
    """What every unit of a pilot shares: the decoded images, the network they all start from,
    the transforms, where they train, and the folder their results go to."""

    images: Images
    backbone: Backbone
    fabric: Fabric
    method: SslMethod
    batch: int
    workers: int
    train_tf: object
    eval_tf: object
    views_tf: object
    strong_tf: object
    """Fine-tuning's augmentation with RandAugment: the ``tl+st`` student's pseudo-labeled
    images."""
    stop: StopFlag
    store: Store
    progress: Progress = SILENT
    teaches: bool = False
    """Whether each seed's ``tl`` network labels the seed's unlabeled images for ``tl+st``."""
    frozen: dict[int, np.ndarray] = field(default_factory=dict)
    """Seed -> the pretrained network's features of that seed's fine-tuning images: the ``tl``
    arm's linear head and the ``tl-linear`` reading are fitted on the same ones."""
    agree: Callable[[Any], Any] = field(default=lambda value: value)
    """With more than one process, the first process's value of anything that depends on its
    clock (a calibration, a plan), so that every process trains the same steps."""
    taught: dict[int, selftrain.Teaching] = field(default_factory=dict)
    """Seed -> its ``tl`` teacher's labels, as every process computed them (only the first
    process writes them to the store, which a resumed pilot reads)."""

    @property
    def shard(self) -> tuple[int, int]:
        """This process's rank and the number of processes training together."""
        return self.fabric.global_rank, self.fabric.world_size

    def outputs(self, net: torch.nn.Module, index: np.ndarray, batch: int) -> np.ndarray:
        return train.outputs(self.fabric, net, self.images.pixels, index, self.eval_tf, batch)

    def finetune_loader(self, split: Split, seed: int) -> torch.utils.data.DataLoader:
        return train.labeled_loader(
            self.images.pixels,
            self.images.labels,
            split.finetune,
            self.train_tf,
            self.batch,
            seed,
            self.workers,
            self.shard,
        )

    def student_loader(
        self, split: Split, taught: selftrain.Teaching
    ) -> torch.utils.data.DataLoader:
        """The fine-tuning images as ``tl`` sees them, mixed with the teacher's balanced,
        confident pseudo-labels under strong augmentation."""
        pseudo = np.full(len(self.images.labels), -1)
        pseudo[taught.images] = taught.labels
        return train.mixed_loader(
            self.images.pixels,
            (self.images.labels, split.finetune, self.train_tf),
            (
                pseudo,
                taught.images[selftrain.balanced(taught, selftrain.THRESHOLD)],
                self.strong_tf,
            ),
            selftrain.PSEUDO_SHARE,
            self.batch,
            split.seed,
            self.workers,
            self.shard,
        )

    def teach(self, teacher: torch.nn.Module, split: Split) -> selftrain.Teaching:
        """The fine-tuned ``tl`` network's labels of the seed's unlabeled images."""
        unlabeled = split.unlabeled
        logits = self.outputs(teacher, unlabeled, READING_BATCH)
        return selftrain.teaching(split.seed, unlabeled, logits)

    def views_loader(self, split: Split, seed: int) -> torch.utils.data.DataLoader:
        return train.views_loader(
            self.images.pixels,
            split.pool,
            self.views_tf,
            self.batch,
            seed,
            self.workers,
            self.shard,
        )

    def pretrained_features(self, split: Split) -> np.ndarray:
        if split.seed not in self.frozen:
            net, _ = models.trunk(self.backbone, True, split.seed)
            self.frozen[split.seed] = self.outputs(net, split.finetune, READING_BATCH)
        return self.frozen[split.seed]


class StepClock:
    """Times every step of a phase and reports it as progress (images, images/s, time left)."""

    def __init__(self, progress: Progress, description: str, steps: int, batch: int) -> None:
        self.progress, self.batch = progress, batch
        self.marks = [time.perf_counter()]
        progress.stage(description, steps * batch, "images")

    def __call__(self, _done: int) -> None:
        self.marks.append(time.perf_counter())
        self.progress.advance(self.batch)

    def durations(self) -> list[float]:
        """Seconds of each step so far, the first included."""
        return [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]

    def seconds_per_step(self) -> float | None:
        """The median step, the first left out (it pays for starting the loader)."""
        later = self.durations()[1:]
        return statistics.median(later) if later else None


def fit_head(head: torch.nn.Linear, features: np.ndarray, labels: np.ndarray) -> None:
    """Set the head to a logistic regression fitted on frozen features (the linear probe that
    starts fine-tuning), with the settings of the ``tl-linear`` reading."""
    clf = LogisticRegression(max_iter=1000, tol=1e-3).fit(features, labels)
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape[0] == 1:  # two classes: one logit difference, split evenly between them
        coef = np.concatenate([-coef / 2, coef / 2])
        intercept = np.concatenate([-intercept / 2, intercept / 2])
    weight = torch.zeros_like(head.weight)
    bias = torch.zeros_like(head.bias)
    rows = torch.as_tensor(clf.classes_, dtype=torch.long)
    weight[rows] = torch.as_tensor(coef, dtype=weight.dtype)
    bias[rows] = torch.as_tensor(intercept, dtype=bias.dtype)
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)


def knn_reading(bench: Bench, net: torch.nn.Module, split: Split) -> float:
    """k-NN accuracy of the network's features: the self-supervised phase's learning curve."""
    rng = np.random.default_rng(split.seed)
    fit = rng.permutation(split.finetune)[:CURVE_IMAGES]
    test = rng.permutation(split.evaluate)[:CURVE_IMAGES]
    x_fit = bench.outputs(net, fit, READING_BATCH)
    x_test = bench.outputs(net, test, READING_BATCH)
    knn = KNeighborsClassifier(n_neighbors=min(10, len(fit)))
    knn.fit(x_fit, bench.images.labels[fit])
    return float(knn.score(x_test, bench.images.labels[test]))


def train_unit(bench: Bench, arm: str, split: Split, steps: SeedSteps) -> UnitResult:
    """Pretrain (SSL arms, unless a resumed pilot finished that phase), fit the head on the
    frozen features, fine-tune (``tl+st``: with its teacher's pseudo-labels), score; a ``tl``
    network that teaches then labels the unlabeled images."""
    started = time.perf_counter()
    seed = split.seed
    net, dim = models.trunk(bench.backbone, PRETRAINED[arm], seed)
    curve: list[CurvePoint] = []
    if arm in SSL_ARMS:
        saved = bench.store.load_pretrained(arm, seed, net)
        if saved is None:
            module = models.ssl_module(bench.method, net, dim, seed)

            def measure(step: int) -> None:
                reading = round(knn_reading(bench, net, split), 4)
                curve.append(CurvePoint(step=step, knn_accuracy=reading))

            clock = StepClock(
                bench.progress, f"seed {seed}: {arm} pretraining", steps.ssl_steps, bench.batch
            )
            train.pretrain(
                bench.fabric,
                module,
                bench.views_loader(split, seed),
                steps.ssl_steps,
                bench.stop,
                measure,
                tuple(steps.curve_steps),
                clock,
            )
            bench.store.save_pretrained(arm, seed, net, curve)
        else:
            curve = saved
    model = models.classifier(net, dim, len(bench.images.classes), seed)
    frozen = (
        bench.pretrained_features(split)
        if PRETRAINED[arm] and arm not in SSL_ARMS
        else bench.outputs(net, split.finetune, READING_BATCH)
    )
    fit_head(model[1], frozen, bench.images.labels[split.finetune])
    batches, extra = bench.finetune_loader(split, seed), {}
    if arm == SELF_TRAINING:
        taught = _teaching(bench, split)
        batches = bench.student_loader(split, taught)
        extra = {
            "unlabeled_images": len(taught.images),
            "pseudo_labels": len(selftrain.confident(taught, selftrain.THRESHOLD)),
            "pseudo_threshold": selftrain.THRESHOLD,
        }
    clock = StepClock(
        bench.progress, f"seed {seed}: {arm} fine-tuning", steps.finetune_steps, bench.batch
    )
    read = split.evaluate[stats.midway_positions(seed, len(split.evaluate))]
    halfway: list[bool] = []

    def reading() -> None:
        predicted = bench.outputs(model, read, bench.batch * 2).argmax(axis=1)
        halfway.extend((predicted == bench.images.labels[read]).tolist())

    loss = train.finetune(
        bench.fabric, model, batches, steps.finetune_steps, bench.stop, clock, reading
    )
    logits = bench.outputs(model, split.evaluate, bench.batch * 2)
    if arm == TRANSFER and bench.teaches:
        bench.taught[seed] = bench.teach(model, split)
        bench.store.save_teaching(bench.taught[seed])
    seconds = time.perf_counter() - started
    unit = _scored(bench, arm, split, logits.argmax(axis=1), seconds, loss, curve)
    extra |= (
        {"midway_step": steps.finetune_steps // 2, "midway_correct": halfway} if halfway else {}
    )
    return unit.model_copy(update={"seconds_per_step": _rounded(clock.seconds_per_step()), **extra})


def _teaching(bench: Bench, split: Split) -> selftrain.Teaching:
    """The seed's stored pseudo-labels, refused unless every one is a class of this pilot given
    to an unlabeled image of this seed's split."""
    taught = bench.taught.get(split.seed) or bench.store.load_teaching(split.seed)
    classes = len(bench.images.classes)
    if (
        not np.isin(taught.images, split.unlabeled).all()
        or not ((taught.labels >= 0) & (taught.labels < classes)).all()
    ):
        raise InputError(
            f"{bench.store.teaching_path(split.seed)} labels images that are not this seed's "
            "unlabeled ones, or with classes this pilot does not have; delete it and the "
            "seed's tl unit to train the teacher again"
        )
    return taught


def linear_unit(bench: Bench, split: Split) -> UnitResult:
    """The free reading: frozen pretrained features and a logistic regression."""
    started = time.perf_counter()
    net, _ = models.trunk(bench.backbone, True, split.seed)
    x_fit = bench.pretrained_features(split)
    x_eval = bench.outputs(net, split.evaluate, READING_BATCH)
    clf = LogisticRegression(max_iter=1000, tol=1e-3)
    clf.fit(x_fit, bench.images.labels[split.finetune])
    # the frozen features' k-NN accuracy: where the self-supervised curves are measured against
    knn = [CurvePoint(step=0, knn_accuracy=round(knn_reading(bench, net, split), 4))]
    seconds = time.perf_counter() - started
    return _scored(bench, LINEAR_READING, split, clf.predict(x_eval), seconds, None, knn)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _scored(
    bench: Bench,
    arm: str,
    split: Split,
    predicted: np.ndarray,
    seconds: float,
    loss: float | None,
    curve: list[CurvePoint],
) -> UnitResult:
    truth = bench.images.labels[split.evaluate]
    accuracy, f1 = stats.scores(truth, predicted)
    return UnitResult(
        arm=arm,
        seed=split.seed,
        accuracy=round(accuracy, 5),
        macro_f1=round(f1, 5),
        seconds=round(seconds, 2),
        final_loss=None if loss is None or not np.isfinite(loss) else round(loss, 5),
        curve=curve,
        correct=(truth == predicted).tolist(),
    )
