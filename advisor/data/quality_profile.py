"""The quality section of the profile: each measure's spread, extremes and plain reading, the
share of images below the networks' input size, and the outliers as problems."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from advisor.data.images import ImageFacts
from advisor.data.quality import (
    BRIGHT_LEVEL,
    DARK_LEVEL,
    FLAT_CONTRAST,
    PIPELINE_SIDE,
    WORKING_SIDE,
    Finding,
    Measure,
    Outlier,
    extremes,
    outliers,
    unpack,
)
from advisor.schema.profile import (
    Problem,
    ProblemKind,
    Quality,
    QualityReading,
    Resolution,
    Spread,
)

HEAVY_JPEG = 30
"""JPEG quality at or below which compression is heavy: blocks and ringing are visible at a
glance (libjpeg's default is 75)."""

NOISY = 5.0
"""Noise sigma (grey levels of 255, on the working image) above which an image reads as noisy:
about twice the grain of a clean photograph at that size."""


def spread(values: np.ndarray) -> Spread:
    return Spread(
        min=float(values.min()),
        median=float(np.median(values)),
        max=float(values.max()),
        mean=round(float(values.mean()), 2),
    )


def quality_of(paths: Sequence[str], facts: Sequence[ImageFacts]) -> tuple[Quality, list[Problem]]:
    """The quality section for the readable images ``paths`` and what was read from each, and
    the outliers as problems. Without decoded images (a quick profile) only the resolution."""
    measured = [i for i, f in enumerate(facts) if f.quality is not None]
    readings: dict[Measure, QualityReading | None] = dict.fromkeys(Measure)
    problems: list[Problem] = []
    if measured:
        names = [paths[i] for i in measured]
        values = unpack([facts[i].quality or b"" for i in measured])
        for measure, words in _WORDS.items():
            readings[measure] = _reading(names, values[measure], words)
        problems = [_problem(names[o.index], o) for o in outliers(values)]
    return (
        Quality(
            working_side=WORKING_SIDE,
            resolution=_resolution(paths, facts),
            **{measure.value: reading for measure, reading in readings.items()},
        ),
        problems,
    )


def _reading(names: Sequence[str], values: np.ndarray, words) -> QualityReading | None:
    known = ~np.isnan(values)
    if not known.any():
        return None
    lowest, highest = extremes(values)
    return QualityReading(
        images=int(known.sum()),
        spread=spread(values[known]),
        lowest=[names[i] for i in lowest],
        highest=[names[i] for i in highest],
        reading=words(values[known]),
    )


def _sharpness_words(v: np.ndarray) -> str:
    return (
        f"median {np.median(v):.3g}, lowest 1% below {np.percentile(v, 1):.3g}; lower is blurrier "
        "or more upsampled (content moves it too)"
    )


def _noise_words(v: np.ndarray) -> str:
    return (
        f"median {np.median(v):.2g} grey levels, {np.mean(v > NOISY):.0%} above {NOISY:g}; "
        "noise is a mild corruption for self-supervision (cole2022)"
    )


def _brightness_words(v: np.ndarray) -> str:
    return (
        f"median {np.median(v):.0f} of 255; {np.mean(v <= DARK_LEVEL):.0%} dark (at most "
        f"{DARK_LEVEL:g}), {np.mean(v >= BRIGHT_LEVEL):.0%} bright (at least {BRIGHT_LEVEL:g})"
    )


def _contrast_words(v: np.ndarray) -> str:
    return (
        f"median {np.median(v):.3g} grey levels; {np.mean(v <= FLAT_CONTRAST):.0%} nearly uniform "
        f"(at most {FLAT_CONTRAST:g})"
    )


def _jpeg_words(v: np.ndarray) -> str:
    return (
        f"{v.size:,} JPEG files, median quality {np.median(v):.0f}, {np.mean(v <= HEAVY_JPEG):.0%} "
        f"at {HEAVY_JPEG} or below; compression is a mild corruption for self-supervision "
        "(cole2022)"
    )


_WORDS = {
    Measure.sharpness: _sharpness_words,
    Measure.noise: _noise_words,
    Measure.brightness: _brightness_words,
    Measure.contrast: _contrast_words,
    Measure.jpeg_quality: _jpeg_words,
}


def _resolution(paths: Sequence[str], facts: Sequence[ImageFacts]) -> Resolution:
    short = np.array([min(f.width, f.height) for f in facts])
    shares = [float(np.mean(short < PIPELINE_SIDE / k)) for k in (1, 2, 4)]
    order = np.argsort(short, kind="stable")[:3]
    below, half, quarter = shares
    return Resolution(
        pipeline_side=PIPELINE_SIDE,
        below_pipeline=round(below, 4),
        below_half=round(half, 4),
        below_quarter=round(quarter, 4),
        smallest=[paths[i] for i in order],
        reading=(
            f"{below:.0%} below the networks' {PIPELINE_SIDE} px input, {half:.0%} below "
            f"{PIPELINE_SIDE // 2} px (upsampled 2x or more), {quarter:.0%} below "
            f"{PIPELINE_SIDE // 4} px (4x); low resolution costs self-supervision far more than "
            "supervised training (2x: SimCLR -15.5 points of top-1, supervised -2.2; cole2022)"
        ),
    )


def _problem(path: str, o: Outlier) -> Problem:
    return Problem(kind=ProblemKind(o.kind.value), paths=[path], detail=_DETAILS[o.kind](o))


_DETAILS = {
    Finding.low_information: lambda o: (
        f"nearly uniform (grey-level spread {o.value:.1f} against the dataset's median "
        f"{o.median:.1f}): a blank frame or failed capture carries nothing to learn; remove it"
    ),
    Finding.dark: lambda o: (
        f"mean grey level {o.value:.0f} of 255 against the dataset's median {o.median:.0f}: "
        "under-exposed or nearly black, far darker than the rest; check it or drop it"
    ),
    Finding.bright: lambda o: (
        f"mean grey level {o.value:.0f} of 255 against the dataset's median {o.median:.0f}: "
        "over-exposed or washed out, far brighter than the rest; check it or drop it"
    ),
    Finding.blurry: lambda o: (
        f"sharpness {o.value:.3g} against the dataset's median {o.median:.3g} (Laplacian "
        f"variance at {WORKING_SIDE} px): out of focus, smeared or upsampled, so its "
        "self-supervised views carry little detail; check it or drop it"
    ),
}
