"""k-NN and linear-probe accuracy: what they measure, how folds adapt to small classes, and the
refusal of input that cannot be cross-validated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from advisor.probes import CVScore, knn_accuracy, linear_probe_accuracy

PROBES = [knn_accuracy, linear_probe_accuracy]


def _clusters(seed: int, n: int = 120, d: int = 5, classes: int = 3, spread: float = 0.3):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    centres = rng.normal(size=(classes, d)) * 3.0
    return centres[labels] + spread * rng.normal(size=(n, d)), labels


@pytest.mark.parametrize("probe", PROBES)
def test_well_separated_classes_are_classified_perfectly(probe):
    features, labels = _clusters(0)
    result = probe(features, labels)
    assert result == CVScore(mean=1.0, std=0.0, folds=5, scores=(1.0,) * 5)


@pytest.mark.parametrize("probe", PROBES)
def test_features_unrelated_to_the_labels_score_near_chance(probe):
    rng = np.random.default_rng(1)
    labels = np.arange(400) % 4
    result = probe(rng.normal(size=(400, 8)), labels)
    assert 0.1 < result.mean < 0.4  # chance is 0.25


@pytest.mark.parametrize("probe", PROBES)
def test_summary_matches_the_per_fold_scores(probe):
    features, labels = _clusters(2, spread=3.0)
    result = probe(features, labels, folds=4)
    assert result.folds == len(result.scores) == 4
    assert result.mean == pytest.approx(np.mean(result.scores))
    assert result.std == pytest.approx(np.std(result.scores, ddof=1))
    assert result.std > 0  # overlapping classes: the folds do not all agree
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mean = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("probe", PROBES)
def test_seed_fixes_the_split(probe):
    features, labels = _clusters(3, spread=3.0)
    assert probe(features, labels, seed=7) == probe(features, labels, seed=7)
    assert probe(features, labels, seed=7).scores != probe(features, labels, seed=8).scores


@pytest.mark.parametrize("probe", PROBES)
def test_features_are_standardised_inside_the_folds(probe):
    # unstandardised, the tiny-scaled informative dimensions would need huge weights (which the
    # L2 penalty forbids) and the huge-scaled noise dimension would decide every distance
    features, labels = _clusters(4)
    noise = np.random.default_rng(5).normal(size=(len(labels), 1)) * 1e6
    assert probe(np.hstack([features * 1e-4, noise]), labels).mean > 0.95


@pytest.mark.parametrize("probe", PROBES)
def test_folds_shrink_to_the_smallest_class(probe):
    features, labels = _clusters(6, n=60)
    labels = np.where(np.arange(60) < 57, labels % 2, 2)  # class 2 has 3 members
    result = probe(features, labels, k=5) if probe is knn_accuracy else probe(features, labels)
    assert result.folds == 3
    assert len(result.scores) == 3


@pytest.mark.parametrize("probe", PROBES)
def test_labels_may_be_strings(probe):
    features, labels = _clusters(7)
    names = np.array(["cat", "dog", "owl"])[labels]
    assert probe(features, names) == probe(features, labels)


@pytest.mark.parametrize("probe", PROBES)
def test_a_class_with_one_member_is_refused(probe):
    features, labels = _clusters(8, n=31)
    labels[-1] = 9
    with pytest.raises(ValueError, match="at least 2 labelled samples"):
        probe(features, labels)


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize(
    ("features", "labels", "message"),
    [
        (np.ones((10, 3)), np.zeros(10), "at least 2 distinct classes"),
        (np.ones((10, 3)), np.arange(8) % 2, "8 entries but there are 10 samples"),
        (np.ones(10), np.arange(10) % 2, "2-D"),
    ],
)
def test_malformed_input_is_refused(probe, features, labels, message):
    with pytest.raises(ValueError, match=message):
        probe(features, labels)


@pytest.mark.parametrize("probe", PROBES)
def test_fewer_than_two_folds_is_refused(probe):
    features, labels = _clusters(9)
    with pytest.raises(ValueError, match="folds must be at least 2"):
        probe(features, labels, folds=1)


def test_k_may_not_exceed_a_training_fold():
    # 3 classes of 6 in 4 folds: a fold may hold out 2 of each class, leaving 12 to train on
    features, labels = _clusters(10, n=18)
    assert knn_accuracy(features, labels, k=12, folds=4).folds == 4
    with pytest.raises(ValueError, match=r"training fold \(12\), got 13"):
        knn_accuracy(features, labels, k=13, folds=4)
    with pytest.raises(ValueError, match="got 0"):
        knn_accuracy(features, labels, k=0)


def test_k_is_checked_against_the_reduced_folds():
    # 3 classes of 4 with folds=5: only 4 folds fit, each holding out one per class
    features, labels = _clusters(11, n=12)
    assert knn_accuracy(features, labels, k=9, folds=5).folds == 4
    with pytest.raises(ValueError, match=r"training fold \(9\), got 10"):
        knn_accuracy(features, labels, k=10, folds=5)


def test_default_k_is_ten_capped_at_the_training_fold():
    features, labels = _clusters(11, n=12)  # training folds of 9
    capped = knn_accuracy(features, labels, folds=5)
    assert capped == knn_accuracy(features, labels, k=9, folds=5)
    features, labels = _clusters(12, n=60)  # training folds of 48
    assert knn_accuracy(features, labels) == knn_accuracy(features, labels, k=10)


def test_logistic_regressions_fit_with_blas_on_one_thread(monkeypatch):
    """Two BLAS threads made the five fits 3-5x slower on two cores; the limit must hold while
    they fit and be lifted afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    import advisor.probes.classifiers as classifiers
    import advisor.probes.domain as domain
    from advisor.probes import proxy_a_distance

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen: list[set[int]] = []

    class Recording(classifiers.LogisticRegression):
        def fit(self, *args, **kwargs):
            seen.append(blas_threads())
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(classifiers, "LogisticRegression", Recording)
    monkeypatch.setattr(domain, "LogisticRegression", Recording)
    features, labels = _clusters(0)
    with threadpool_limits(limits=2, user_api="blas"):  # as on a two-core machine
        assert blas_threads() == {2}
        linear_probe_accuracy(features, labels)
        proxy_a_distance(features[:60], features[60:])
        assert blas_threads() == {2}
    assert len(seen) == 10 and all(threads == {1} for threads in seen)
