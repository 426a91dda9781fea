"""Check advisor.probes' transferability scores against the authors' reference implementations.

    python scripts/check_probes.py --logme-repo ~/src/LogME --tllib-repo ~/src/tllib
    python scripts/check_probes.py --logme-repo ~/src/LogME --tllib-repo ~/src/tllib --golden

The references are imported from your own checkouts of github.com/thuml/LogME (LogME.py, LEEP.py,
NCE.py) and github.com/thuml/Transfer-Learning-Library (only the files of tllib/ranking/, loaded by
path, so tllib's heavier dependencies are not needed); nothing of them is part of this project.
They decorate their inner loops with numba's @njit: when numba is not installed, the decorator is
replaced by the identity (the same arithmetic in plain Python, only slower).

Every score is computed by both sides on seeded random inputs with class structure and the
relative differences are printed as a table; the exit status is 1 when a checked row differs by
more than 1e-3. LogME has a third, independent reference here: the definition itself, the log
marginal likelihood log N(y | 0, F F^T / alpha + I / beta) maximised over (alpha, beta) by a
general-purpose optimiser. It arbitrates where the two published implementations part ways
(D > N, see LOGME_D_ABOVE_N), and those two rows are shown but not checked.

With ``--golden`` the script prints the references' values on the small cases that
tests/test_transferability.py pins (the checked rows only), in the form that file holds them.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from advisor.probes import h_score, h_score_shrinkage, leep, logme, nce

TOLERANCE = 1e-3
LOGME_D_ABOVE_N = """\
LogME with D > N: the published implementations disagree with each other there, and the direct
maximisation of the evidence sides with this project. LogME.py's default (fixed-point) variant
sums log(alpha + beta sigma) over the N non-zero singular values only but keeps the D/2 log(alpha)
of the prior, so each of the D - N null directions adds log(alpha) / 2 that the determinant
should cancel; tllib sums over all D eigenvalues, as it should, but stops after at most 11
fixed-point steps, and with D > N the iteration converges slowly (when the classes can be fit
exactly, only in the limit beta -> infinity), so it stops short of the maximum."""


@dataclass(frozen=True)
class Case:
    """A seeded synthetic task: Gaussian class clusters in anisotropic features (ReLU-clipped
    like a CNN's penultimate layer when ``relu``), and a source head that maps each target class
    to a random source class with some confidence, as a pretrained classifier would."""

    name: str
    seed: int
    samples: int
    dims: int
    classes: int
    sources: int
    relu: bool = False


CASES = (
    Case("small", 0, 200, 16, 4, 10),
    Case("relu", 1, 1000, 64, 10, 50, relu=True),
    Case("N2000-D1280-C10", 2, 2000, 1280, 10, 1000, relu=True),
    Case("D-near-N", 3, 300, 256, 5, 100),
    Case("D>N", 4, 200, 512, 5, 100, relu=True),
)
GOLDEN_CASES = (
    Case("golden-a", 10, 60, 8, 3, 5),
    Case("golden-b", 11, 90, 20, 6, 12, relu=True),
    Case("golden-wide", 12, 40, 64, 4, 8, relu=True),
)


def make_case(case: Case) -> dict[str, np.ndarray]:
    """Features, labels, source-head probabilities and hard source labels for ``case``."""
    rng = np.random.default_rng(case.seed)
    labels = rng.permutation(np.arange(case.samples) % case.classes)
    centres = rng.normal(size=(case.classes, case.dims))
    scale = rng.uniform(0.2, 3.0, size=case.dims)
    features = (0.6 * centres[labels] + rng.normal(size=(case.samples, case.dims))) * scale
    if case.relu:
        features = np.maximum(features, 0.0)
    favourite = rng.integers(0, case.sources, size=case.classes)
    logits = rng.normal(size=(case.samples, case.sources))
    logits[np.arange(case.samples), favourite[labels]] += 2.5
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return {
        "features": features,
        "labels": labels,
        "source_probs": probs,
        "source_labels": probs.argmax(axis=1),
    }


def load_module(path: Path, name: str) -> types.ModuleType:
    """Import one file as a module, without importing the package around it."""
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; is that a checkout of the right repository?")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def provide_numba() -> bool:
    """Make ``from numba import njit`` work; True when that is the real numba (compiled), False
    when a stand-in whose njit returns the function unchanged had to be installed."""
    if importlib.util.find_spec("numba") is not None:
        return True
    stand_in = types.ModuleType("numba")
    stand_in.njit = lambda function: function  # type: ignore[attr-defined]
    sys.modules["numba"] = stand_in
    return False


def direct_logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME from its definition: per class, max over (alpha, beta) of
    log N(y | 0, F F^T / alpha + I / beta) / N, found by Nelder-Mead over (log alpha, log beta)
    in the eigenbasis of F F^T, then averaged over classes. Shares nothing with the fixed-point
    updates, so it checks where they land."""
    n = len(features)
    gram_eigenvalues, basis = np.linalg.eigh(features @ features.T)
    gram_eigenvalues = np.clip(gram_eigenvalues, 0.0, None)
    values = []
    for label in np.unique(labels):
        z2 = (basis.T @ (labels == label).astype(np.float64)) ** 2

        def negative_log_evidence(log_precisions: np.ndarray, z2: np.ndarray = z2) -> float:
            alpha, beta = np.exp(log_precisions)
            variance = gram_eigenvalues / alpha + 1.0 / beta
            return 0.5 * (n * np.log(2 * np.pi) + np.log(variance).sum() + (z2 / variance).sum())

        result = minimize(
            negative_log_evidence,
            x0=np.zeros(2),
            method="Nelder-Mead",
            options={
                "initial_simplex": np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]]),
                "xatol": 1e-10,
                "fatol": 1e-12,
                "maxiter": 20_000,
                "maxfev": 40_000,
            },
        )
        values.append(-result.fun / n)
    return float(np.mean(values))


References = dict[str, list[tuple[str, Callable[..., float]]]]
"""Each score's reference implementations, by the name the table shows."""

# score -> (argument names, our function)
OURS: dict[str, tuple[tuple[str, str], Callable[..., float]]] = {
    "logme": (("features", "labels"), logme),
    "leep": (("source_probs", "labels"), leep),
    "nce": (("source_labels", "labels"), nce),
    "h_score": (("features", "labels"), h_score),
    "h_score_shrinkage": (("features", "labels"), h_score_shrinkage),
}
THUML_LOGME = "LogME.LogME().fit"
TLLIB_LOGME = "tllib log_maximum_evidence"


def load_references(logme_repo: Path, tllib_repo: Path) -> References:
    ranking = tllib_repo / "tllib" / "ranking"
    thuml_logme = load_module(logme_repo / "LogME.py", "reference_thuml_logme")
    thuml_leep = load_module(logme_repo / "LEEP.py", "reference_thuml_leep")
    thuml_nce = load_module(logme_repo / "NCE.py", "reference_thuml_nce")
    tllib_logme = load_module(ranking / "logme.py", "reference_tllib_logme")
    tllib_leep = load_module(ranking / "leep.py", "reference_tllib_leep")
    tllib_nce = load_module(ranking / "nce.py", "reference_tllib_nce")
    tllib_hscore = load_module(ranking / "hscore.py", "reference_tllib_hscore")
    return {
        "logme": [
            (THUML_LOGME, lambda f, y: thuml_logme.LogME().fit(f, y)),
            (TLLIB_LOGME, tllib_logme.log_maximum_evidence),
            ("definition, maximised directly", direct_logme),
        ],
        "leep": [
            ("LEEP.LEEP", thuml_leep.LEEP),
            (
                "tllib log_expected_empirical_prediction",
                tllib_leep.log_expected_empirical_prediction,
            ),
        ],
        "nce": [
            ("NCE.NCE", thuml_nce.NCE),
            ("tllib negative_conditional_entropy", tllib_nce.negative_conditional_entropy),
        ],
        "h_score": [("tllib h_score", tllib_hscore.h_score)],
        "h_score_shrinkage": [("tllib regularized_h_score", tllib_hscore.regularized_h_score)],
    }


@dataclass(frozen=True)
class Row:
    score: str
    case: str
    reference: str
    expected: float
    ours: float
    checked: bool

    @property
    def relative_difference(self) -> float:
        return abs(self.ours - self.expected) / max(abs(self.expected), np.finfo(float).tiny)


def compare(cases: tuple[Case, ...], references: References) -> list[Row]:
    rows = []
    for case in cases:
        inputs = make_case(case)
        for score, (argument_names, ours) in OURS.items():
            arguments = [inputs[name] for name in argument_names]
            value = ours(*arguments)
            for reference, function in references[score]:
                # the NCE references divide 0 by 0 for source classes nobody predicts (and
                # then drop them): silence that, it is not a failure
                with np.errstate(invalid="ignore", divide="ignore"):
                    expected = float(function(*[a.copy() for a in arguments]))
                known_apart = reference in (THUML_LOGME, TLLIB_LOGME) and case.dims > case.samples
                rows.append(Row(score, case.name, reference, expected, value, not known_apart))
    return rows


def print_table(rows: list[Row]) -> None:
    print("| score | case | reference | reference value | ours | relative difference | checked |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.score} | {row.case} | {row.reference} | {row.expected:.8g} | "
            f"{row.ours:.8g} | {row.relative_difference:.1e} | "
            f"{'yes' if row.checked else 'no, see note'} |"
        )


def print_golden(rows: list[Row]) -> None:
    print("GOLDEN = {")
    for row in rows:
        if not row.checked:
            continue
        print(f"    ({row.score!r}, {row.case!r}, {row.reference!r}): {row.expected!r},")
    print("}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logme-repo", type=Path, required=True, help="checkout of thuml/LogME")
    parser.add_argument(
        "--tllib-repo",
        type=Path,
        required=True,
        help="checkout of thuml/Transfer-Learning-Library",
    )
    parser.add_argument(
        "--golden", action="store_true", help="print the test suite's golden values instead"
    )
    args = parser.parse_args(argv)
    compiled = provide_numba()
    references = load_references(args.logme_repo, args.tllib_repo)
    if args.golden:
        print_golden(compare(GOLDEN_CASES, references))
        return 0
    rows = compare(CASES, references)
    print(f"references run with numba: {'yes' if compiled else 'no (plain Python)'}")
    print_table(rows)
    if not all(row.checked for row in rows):
        print("\nNote. " + LOGME_D_ABOVE_N + "\n")
    checked = [row for row in rows if row.checked]
    worst = max(checked, key=lambda row: row.relative_difference)
    print(
        f"largest relative difference among checked rows: {worst.relative_difference:.1e} "
        f"({worst.score}, {worst.case}, {worst.reference}); tolerance {TOLERANCE:g}"
    )
    return 0 if worst.relative_difference <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
