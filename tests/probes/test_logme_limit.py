"""LogME with no more images than features: a finite value, said to be the limit it is, and an
error only where the evidence truly has no bound."""

from __future__ import annotations

import numpy as np
import pytest

from advisor.probes import logme, logme_score
from advisor.probing.readings import LOGME_LIMIT, transferability_readings


def _scans(n: int = 120, d: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fewer images than features, each class a cloud around its own mean (non-negative, as
    after a ReLU): no two images alike, and the classes apart."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    means = rng.normal(size=(4, d)) * 2
    return np.abs(means[y] + rng.normal(size=(n, d))), y


def test_fewer_images_than_features_give_a_finite_limit():
    f, y = _scans()
    score = logme_score(f, y)
    assert np.isfinite(score.value) and score.noise_free_limit
    # the limit depends on the features' directions, not their scale
    assert logme_score(f * 1e-3, y).value == pytest.approx(score.value, abs=1e-6)
    assert logme_score(f * 1e3, y).value == pytest.approx(score.value, abs=1e-6)
    assert logme(f, y) == score.value


def test_more_images_than_features_reach_a_maximum():
    f, y = _scans(n=400, d=50)
    score = logme_score(f, y)
    assert np.isfinite(score.value) and not score.noise_free_limit


def test_labels_the_features_say_nothing_about_are_no_limit():
    rng = np.random.default_rng(1)
    f, y = rng.normal(size=(120, 600)), rng.integers(0, 4, 120)
    assert not logme_score(f, y).noise_free_limit


def test_copies_that_fit_the_labels_exactly_still_have_no_maximum():
    f, y = _scans(n=40, d=600)
    twice = np.vstack([f, f])
    with pytest.raises(ValueError, match="linear combinations of other images"):
        logme(twice, np.concatenate([y, y]))


def test_the_reading_says_when_its_value_is_the_limit():
    f, y = _scans()
    reading = transferability_readings(f.astype(np.float32), y, None, seed=0).logme
    assert reading.value is not None and reading.skipped is None
    assert reading.meaning.endswith(LOGME_LIMIT)
    many, labels = _scans(n=400, d=50)
    plain = transferability_readings(many.astype(np.float32), labels, None, seed=0).logme
    assert not plain.meaning.endswith(LOGME_LIMIT)
