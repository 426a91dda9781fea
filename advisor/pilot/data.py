"""The pilot's data: decoded once into memory at the pilot resolution, split once per seed.

Decoding once and sharing the tensors between every arm and seed keeps the budget for training;
the splits keep the evaluation images out of everything the arms learn from, including the
self-supervised pool.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from sklearn.model_selection import train_test_split
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from advisor.data.images import open_rgb
from advisor.data.sampling import random_sample, stratified_sample
from advisor.errors import InputError

MIN_PER_CLASS = 4
"""Labeled images a class needs for a split: two to fine-tune on, two to evaluate."""
EVAL_FRACTION = 0.3
EVAL_SPLITS = ("test", "val")
"""The dataset's own evaluation split, when it has one (the first found), is used as is."""


@dataclass
class Images:
    """Decoded images (uint8, N x 3 x R x R) with their labels (-1: unlabeled)."""

    pixels: torch.Tensor
    labels: np.ndarray
    classes: list[str]
    is_eval: np.ndarray
    """Images of the dataset's own evaluation split."""
    skipped: int


@dataclass(frozen=True)
class Split:
    seed: int
    finetune: np.ndarray
    evaluate: np.ndarray
    pool: np.ndarray
    """Images for self-supervision: the unlabeled ones and the fine-tuning ones (no labels),
    never an evaluation image."""

    @property
    def unlabeled(self) -> np.ndarray:
        """The pool less the fine-tuning images: what the ``tl+st`` teacher pseudo-labels, so
        that neither an evaluation image nor a labeled one is ever given a teacher's label."""
        return np.setdiff1d(self.pool, self.finetune)


def choose(
    labels: Sequence[str | None],
    splits: Sequence[str | None],
    labeled_limit: int,
    pool_limit: int,
    seed: int,
) -> list[int]:
    """Indices to decode: every evaluation-split image up to a third of ``labeled_limit``, a
    stratified sample of the other labeled ones, a random sample of the unlabeled ones."""
    eval_split = next((s for s in EVAL_SPLITS if s in set(splits)), None)
    own_eval = [i for i, s in enumerate(splits) if s == eval_split and labels[i] is not None]
    own_set = set(own_eval)
    rest = [i for i, lab in enumerate(labels) if lab is not None and i not in own_set]
    unlabeled = [i for i, lab in enumerate(labels) if lab is None]
    chosen_eval = []
    if own_eval:
        eval_labels = [labels[i] for i in own_eval]
        chosen_eval = [
            own_eval[j] for j in stratified_sample(eval_labels, labeled_limit // 3, seed)
        ]
    rest_labels = [labels[i] for i in rest]
    chosen_rest = (
        [rest[j] for j in stratified_sample(rest_labels, labeled_limit, seed)] if rest else []
    )
    return chosen_eval + chosen_rest + random_sample(unlabeled, pool_limit, seed)


def decode(
    paths: Sequence[str],
    labels: Sequence[str | None],
    is_eval: Sequence[bool],
    resolution: int,
    on_progress: Callable[[int], None] | None = None,
) -> Images:
    """Resize the short side to ``resolution`` and centre-crop, keeping uint8 pixels (4x smaller
    than floats); files that fail to decode are skipped and counted."""
    prepare = v2.Compose([v2.Resize(resolution, antialias=True), v2.CenterCrop(resolution)])
    tensors, kept = [], []
    for i, path in enumerate(paths):
        try:
            image: Image.Image = open_rgb(path)
        except Exception:
            continue
        tensors.append(prepare(F.pil_to_tensor(image)))
        kept.append(i)
        if on_progress:
            on_progress(1)
    classes = sorted({labels[i] for i in kept if labels[i] is not None})
    index = {name: k for k, name in enumerate(classes)}
    return Images(
        pixels=torch.stack(tensors) if tensors else torch.empty(0, 3, resolution, resolution),
        labels=np.array([index[labels[i]] if labels[i] is not None else -1 for i in kept]),
        classes=classes,
        is_eval=np.array([bool(is_eval[i]) for i in kept]),
        skipped=len(paths) - len(kept),
    )


def check_splittable(images: Images) -> None:
    labeled = images.labels[images.labels >= 0]
    if len(images.classes) < 2:
        raise InputError(
            "the pilot needs labeled images of at least two classes to compare paradigms"
        )
    counts = Counter(labeled.tolist())
    own_eval = images.is_eval & (images.labels >= 0)
    if own_eval.any():
        train_counts = Counter(images.labels[~images.is_eval & (images.labels >= 0)].tolist())
        poorest = min(range(len(images.classes)), key=lambda c: train_counts.get(c, 0))
        if train_counts.get(poorest, 0) < 2:
            raise InputError(
                f"the pilot needs at least 2 training images in every class; class "
                f"{images.classes[poorest]!r} has {train_counts.get(poorest, 0)}"
            )
        return
    poorest = min(range(len(images.classes)), key=lambda c: counts.get(c, 0))
    if counts.get(poorest, 0) < MIN_PER_CLASS:
        raise InputError(
            f"the pilot needs at least {MIN_PER_CLASS} labeled images in every class to split "
            f"them into fine-tuning and evaluation images; class {images.classes[poorest]!r} "
            f"has {counts.get(poorest, 0)}"
        )


def split(images: Images, seed: int) -> Split:
    labeled = np.flatnonzero(images.labels >= 0)
    unlabeled = np.flatnonzero(images.labels < 0)
    own_eval = labeled[images.is_eval[labeled]]
    if len(own_eval):
        evaluate = own_eval
        finetune = labeled[~images.is_eval[labeled]]
        finetune = np.random.default_rng(seed).permutation(finetune)
    else:
        finetune, evaluate = train_test_split(
            labeled,
            test_size=max(EVAL_FRACTION, len(images.classes) / len(labeled)),
            stratify=images.labels[labeled],
            random_state=seed,
        )
    return Split(
        seed=seed,
        finetune=np.asarray(finetune),
        evaluate=np.sort(np.asarray(evaluate)),
        pool=np.concatenate([unlabeled, np.asarray(finetune)]),
    )
