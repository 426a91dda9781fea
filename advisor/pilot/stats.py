"""From per-image predictions to the pilot's statistics: accuracy, macro-F1, and differences
against transfer, paired over seeds and bootstrapped over evaluation images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import f1_score

BOOTSTRAP = 2000
LEVEL = 0.95


def scores(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro-F1 (every class counts the same, whatever its size)."""
    accuracy = float(np.mean(truth == predicted))
    return accuracy, float(f1_score(truth, predicted, average="macro", zero_division=0))


def bootstrap_means(
    correct: Mapping[int, Mapping[str, np.ndarray]], arms: Sequence[str], seed: int = 0
) -> dict[str, np.ndarray]:
    """For each arm, BOOTSTRAP draws of its accuracy averaged over seeds. Within a seed every arm
    is scored on the same resampled images, so the draws are paired across arms."""
    rng = np.random.default_rng(seed)
    draws = {arm: np.zeros(BOOTSTRAP) for arm in arms}
    seeds = sorted(correct)
    for s in seeds:
        n = len(next(iter(correct[s].values())))
        picks = rng.integers(0, n, size=(BOOTSTRAP, n))
        for arm in arms:
            draws[arm] += correct[s][arm][picks].mean(axis=1) / len(seeds)
    return draws


def interval(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def best_share(draws: Mapping[str, np.ndarray]) -> dict[str, float]:
    """How often each arm is the best across the bootstrap draws; a draw where arms tie is
    shared among them, so two arms that both score every image right get half each rather
    than the first listed getting all of it."""
    arms = list(draws)
    stacked = np.stack([draws[arm] for arm in arms])
    top = stacked == stacked.max(axis=0)
    credit = top / top.sum(axis=0)
    return {arm: float(credit[k].mean()) for k, arm in enumerate(arms)}


def leaders(means: Mapping[str, float]) -> list[str]:
    """The arms with the highest mean accuracy: more than one only on an exact tie, which an
    easy evaluation set gives when several arms score every image right."""
    top = max(means.values())
    return [arm for arm, mean in means.items() if mean == top]
