"""The scikit-learn digits as a demo dataset: real handwritten scans in an ImageFolder with a
small, imbalanced labeled train split, a balanced test split and a large unlabeled pool (the
situation where the choice between transfer and self-supervised pretraining is a real question),
and, unless asked for a clean copy, one of several data problems planted so that every part of
the report has something to show."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from advisor.data.writing import DemoSummary, save_png

DIGITS_SIDE = 32


def digit_scan(pixels: np.ndarray) -> Image.Image:
    """One scikit-learn digit (8x8, levels 0-16) as the demo writes it: 8-bit, 32 px."""
    img = Image.fromarray((pixels * (255.0 / 16.0)).round().astype(np.uint8))
    return img.resize((DIGITS_SIDE, DIGITS_SIDE), Image.Resampling.BICUBIC)


def write_digits(
    out: Path,
    seed: int = 0,
    test_per_class: int = 30,
    largest_class: int = 50,
    imbalance: float = 10.0,
    clean: bool = False,
) -> DemoSummary:
    """The scikit-learn digits as ``train/<digit>/``, ``test/<digit>/`` and ``unlabeled/``.

    Train class sizes fall geometrically from ``largest_class`` to ``largest_class / imbalance``
    over a seeded order of the digits; every image not used for train or test goes to the pool.
    """
    from sklearn.datasets import load_digits  # imported here: the rest of the CLI never needs it

    rng = np.random.default_rng(seed)
    digits = load_digits()
    targets = digits.target
    order = rng.permutation(10)
    sizes = np.round(largest_class * imbalance ** (-np.arange(10) / 9)).astype(int)
    summary = DemoSummary()
    paths: dict[str, list[Path]] = {"train": [], "test": [], "unlabeled": []}
    splits: dict[int, str] = {}
    for rank, digit in enumerate(order):
        members = rng.permutation(np.nonzero(targets == digit)[0])
        n_test, n_train = test_per_class, int(sizes[rank])
        for i in members[:n_test]:
            splits[int(i)] = "test"
        for i in members[n_test : n_test + n_train]:
            splits[int(i)] = "train"
    for i in range(len(targets)):
        split = splits.get(i, "unlabeled")
        label = None if split == "unlabeled" else str(targets[i])
        path = out / split / (label or "") / f"digit_{i:04d}.png"
        save_png(digit_scan(digits.images[i]), path)
        paths[split].append(path)
        summary.count(split, label)
    if not clean:
        _plant_problems(out, paths, rng, summary)
    return summary


def _plant_problems(
    out: Path, paths: dict[str, list[Path]], rng: np.random.Generator, summary: DemoSummary
) -> None:
    test_image = paths["test"][int(rng.integers(len(paths["test"])))]
    leaked = out / "train" / test_image.parent.name / f"copy_of_{test_image.name}"
    shutil.copyfile(test_image, leaked)
    summary.count("train", test_image.parent.name)

    train_image = paths["train"][int(rng.integers(len(paths["train"])))]
    other = next(d for d in sorted(os.listdir(out / "train")) if d != train_image.parent.name)
    mislabeled = out / "train" / other / f"copy_of_{train_image.name}"
    shutil.copyfile(train_image, mislabeled)
    summary.count("train", other)

    pool_image = paths["unlabeled"][int(rng.integers(len(paths["unlabeled"])))]
    with Image.open(pool_image) as img:
        bigger = img.resize((DIGITS_SIDE + 8, DIGITS_SIDE + 8), Image.Resampling.BILINEAR)
    bigger.convert("L").save(out / "unlabeled" / f"resized_{pool_image.stem}.jpg", quality=90)
    summary.count("unlabeled", None)

    broken = out / "unlabeled" / "truncated_scan.png"
    data = pool_image.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    summary.planted = [
        f"split_leak: {test_image.relative_to(out)} copied into train",
        f"conflicting_labels: {train_image.relative_to(out)} copied into class {other}",
        f"near_duplicate: {pool_image.relative_to(out)} resized and saved as JPEG",
        f"unreadable: {broken.relative_to(out)} is cut off halfway",
    ]
