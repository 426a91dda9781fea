"""One arm trained and scored for one seed: a unit of the pilot, saved as soon as it finishes.

Every arm starts from the same architecture (pretrained or untrained, the untrained copy the
same for ``ssl`` and ``scratch``), an SSL arm first pretrains on the seed's pool, and every arm
then fine-tunes the same steps on the same images and is scored on the same held-out ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from lightning_fabric import Fabric
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from advisor.pilot import models, stats, train
from advisor.pilot.data import Images, Split
from advisor.pilot.interrupt import StopFlag
from advisor.pilot.store import Store
from advisor.probing.backbone import Backbone
from advisor.schema.pilot import CurvePoint, SeedSteps, UnitResult
from advisor.schema.vocabulary import LINEAR_READING, SSL_ARMS, SslMethod

PRETRAINED = {"tl": True, "tl+ssl": True, "ssl": False, "scratch": False}
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
    stop: StopFlag
    store: Store

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
        )

    def views_loader(self, split: Split, seed: int) -> torch.utils.data.DataLoader:
        return train.views_loader(
            self.images.pixels, split.pool, self.views_tf, self.batch, seed, self.workers
        )


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
    """Pretrain (SSL arms, unless a resumed pilot finished that phase), fine-tune, score."""
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

            train.pretrain(
                bench.fabric,
                module,
                bench.views_loader(split, seed),
                steps.ssl_steps,
                bench.stop,
                measure,
                tuple(steps.curve_steps),
            )
            bench.store.save_pretrained(arm, seed, net, curve)
        else:
            curve = saved
    model = models.classifier(net, dim, len(bench.images.classes), seed)
    batches = bench.finetune_loader(split, seed)
    loss = train.finetune(bench.fabric, model, batches, steps.finetune_steps, bench.stop)
    logits = bench.outputs(model, split.evaluate, bench.batch * 2)
    seconds = time.perf_counter() - started
    return _scored(bench, arm, split, logits.argmax(axis=1), seconds, loss, curve)


def linear_unit(bench: Bench, split: Split) -> UnitResult:
    """The free reading: frozen pretrained features and a logistic regression."""
    started = time.perf_counter()
    net, _ = models.trunk(bench.backbone, True, split.seed)
    x_fit = bench.outputs(net, split.finetune, READING_BATCH)
    x_eval = bench.outputs(net, split.evaluate, READING_BATCH)
    clf = LogisticRegression(max_iter=1000, tol=1e-3)
    clf.fit(x_fit, bench.images.labels[split.finetune])
    seconds = time.perf_counter() - started
    return _scored(bench, LINEAR_READING, split, clf.predict(x_eval), seconds, None, [])


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
