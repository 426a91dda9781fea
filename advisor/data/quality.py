"""Image quality that bears on the choice of pretraining: per-image measurements taken while the
scan decodes each file, and the outliers among them relative to the dataset itself.

Why it matters: in the one study that corrupted a self-supervised pretraining set on purpose
(cole2022, image-corruption figure), halving the resolution cost SimCLR about 15.5 points of
top-1 against about 2.2 for supervised training, quartering it about 34 against 6.5, while JPEG
compression (about 6 against 4.3) and salt-and-pepper noise (about 3 against 0.9) were mild.

Each image is measured on one grayscale working image of ``WORKING_SIDE`` pixels a side, so
that the numbers of a 32 px scan and a 4,000 px photograph are on one scale and the cost per
file stays small; the measures of a chunk of images are computed in one pass, and only a handful
of float32 numbers per image leave the worker, in the order of ``MEASURES``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import numpy as np
from PIL import Image

WORKING_SIDE = 32
"""Side of the grayscale working image every measurement is taken on. 64 px saw finer blur (a
Gaussian of sigma side/32 on 20 of 20 planted solar cells, against 3 of 20 at 32 px) but added about
60% to the decoding profile's time per small PNG, against 7% at 32 px (2 shared cores); at 32 px
a blur of sigma side/16 is still found on every planted solar cell and 16 of 20 digits, and
images of 32 px or less (digits, icons, CIFAR) are measured at their own scale.
benchmarks/quality.py has the figures."""

PIPELINE_SIDE = 224
"""Input side of the ImageNet backbones the probes and the pilot use on a GPU (the probes drop to
160 px and the pilot to 64 px on a CPU to save time): an image smaller than this is upsampled
before any network sees it. Half of it (2x upsampling) and a quarter (4x) are the two
downsampling factors of the corruption figure above."""

MIN_IMAGES = 50
"""Fewest measured images for outlier findings: a median and a spread of fewer images say too
little about what is normal for the dataset."""

Z_CUT = 4.5
"""Robust z-score (distance from the median in units of 1.4826 x the median absolute deviation,
in a log domain) beyond which an image is an outlier. Strict on purpose: on the 1,797 digit
scans no original passes it, and on the 2,624 solar cells and the 200 LFW crops the originals
that do are near-black dead cells and uniform crops (benchmarks/quality.py), while at 5 the
darkened digits start to be missed."""

LOG_SCALE_FLOOR = 0.35
"""Least spread assumed, in natural-log units: a dataset of near-identical images (one scanner,
one exposure) has a tiny median absolute deviation, and without a floor an image 30% off the
median would pass ``Z_CUT``. With it an outlier lies at least exp(4.5 x 0.35) = 4.8 times from
the median (more than two stops of exposure for dark and bright)."""

DARK_LEVEL = 40.0
"""Mean grey level at or below which an image counts as dark (the lowest 16% of the range);
a dataset that is dark as a whole (X-rays, night scenes) has its median there
and no image far enough below it, so it yields no findings."""

BRIGHT_LEVEL = 215.0
"""Mean grey level at or above which an image counts as bright (the top 16% of the range)."""

FLAT_CONTRAST = 4.0
"""Standard deviation of grey levels (of 255) at or below which an image is nearly uniform:
a blank frame, a lens cap, a failed scan. Sensor noise alone leaves about 1-3 levels."""

EXTREMES = 3
"""Files named at each end of a measure's distribution."""


class Measure(StrEnum):
    sharpness = "sharpness"
    noise = "noise"
    brightness = "brightness"
    contrast = "contrast"
    jpeg_quality = "jpeg_quality"


MEASURES = tuple(Measure)
"""The order of the numbers ``measure`` writes per image."""

_NOISE_PER_MEDIAN = 1 / (0.6745 * 6)
"""Noise sigma per unit of the median absolute response of Immerkaer's (1996) 3x3 kernel: its
response to white noise of sigma s has a standard deviation of 6 s (the root of the sum of its
squared weights, 36), and the median absolute value of a normal variable is 0.6745 of its."""

_MAD_TO_SIGMA = 1.4826
"""Median absolute deviation of a normal distribution, in units of its standard deviation."""

_JPEG_LUMINANCE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float64,
).ravel()
"""The example luminance quantisation table of the JPEG standard (ITU T.81, Annex K), which the
IJG library scales by its quality setting; Pillow lists tables in this (natural) order."""


REDUCING_GAP = 2.0
"""Pillow's ``reducing_gap`` for the working image: a large image is box-reduced to at least
twice the working size before its bilinear resampling, which costs a fraction of resampling it
whole."""


def working_image(gray: Image.Image) -> bytes:
    """The ``WORKING_SIDE`` square every measure is taken on, from an 8-bit grayscale image."""
    side = (WORKING_SIDE, WORKING_SIDE)
    return gray.resize(side, Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP).tobytes()


def is_working_image(gray: Image.Image, resized: Image.Image) -> bool:
    """Whether ``resized``, a bilinear resize of ``gray`` (the scan's thumbnail), is exactly its
    working image, so that the scan need not resample it twice: of the working size, from an
    image too small for the reducing gap to act (both sides under ``2 x REDUCING_GAP x
    WORKING_SIDE``: 128 px)."""
    small = max(gray.size) < 2 * REDUCING_GAP * WORKING_SIDE
    return small and resized.size == (WORKING_SIDE, WORKING_SIDE)


def measure(working: Sequence[bytes], jpeg: Sequence[float]) -> list[bytes]:
    """The measures of each working image as float32 bytes in ``MEASURES`` order, computed for
    all of them at once (image by image, numpy's call overhead would cost several times the
    arithmetic); ``jpeg`` is each file's ``jpeg_quality_of`` (NaN for other formats).

    - sharpness: variance of the 4-neighbour Laplacian; blur, upsampling and flat content lower
      it.
    - noise: Immerkaer's (1996) estimate of the noise sigma in grey levels, with the median of
      his kernel's absolute response in place of the mean, so that the edges of a busy picture
      do not read as noise.
    - brightness and contrast: mean and standard deviation of the grey levels.
    - jpeg_quality: as given.
    """
    n, side = len(working), WORKING_SIDE
    a = np.frombuffer(b"".join(working), dtype=np.uint8).reshape(n, side, side).astype(np.int16)
    across = a[:, :, :-2] + a[:, :, 2:] - 2 * a[:, :, 1:-1]
    down = a[:, :-2, 1:-1] + a[:, 2:, 1:-1] - 2 * a[:, 1:-1, 1:-1]
    laplacian = (across[:, 1:-1] + down).reshape(n, -1)
    response = np.abs(across[:, :-2] + across[:, 2:] - 2 * across[:, 1:-1]).reshape(n, -1)
    pixels = a.reshape(n, -1)
    table = np.column_stack(
        (
            _row_variances(laplacian),
            _NOISE_PER_MEDIAN * _row_medians(response),
            pixels.sum(axis=1, dtype=np.int64) / pixels.shape[1],
            np.sqrt(_row_variances(pixels)),
            np.asarray(jpeg, dtype=np.float32),
        )
    ).astype(np.float32)
    return [row.tobytes() for row in table]


def _row_variances(values: np.ndarray) -> np.ndarray:
    """Variance of each row of small integers, exact, from integer sums of the values and their
    squares (``measure`` then costs a quarter less than with float copies and numpy's ``var``)."""
    width = values.shape[1]
    total = values.sum(axis=1, dtype=np.int64)
    squares = np.einsum("ij,ij->i", values, values, dtype=np.int64)
    return (width * squares - total * total) / (width * width)


def _row_medians(values: np.ndarray, cap: int = 256) -> np.ndarray:
    """Median of each row of small non-negative integers, through one histogram per row (a
    partition of every row costs several times more); values from ``cap`` up count as ``cap``,
    which moves no median that lies below it."""
    rows, width = values.shape
    offsets = (np.arange(rows) * (cap + 1))[:, None]
    counts = np.bincount((np.minimum(values, cap) + offsets).ravel(), minlength=rows * (cap + 1))
    below = np.cumsum(counts.reshape(rows, cap + 1), axis=1)
    return np.argmax(below >= width / 2, axis=1).astype(np.float32)


def jpeg_quality_of(quantization: dict[int, Sequence[int]] | None) -> float:
    """The IJG quality of a JPEG file from its header's tables (NaN for other formats): exact
    for files written by libjpeg and its descendants (Pillow, most software), the nearest for
    cameras' own tables. Read from the header, so it costs nothing and does not depend on the
    reduced-scale decode."""
    luma = quantization.get(0) if quantization else None
    return jpeg_quality(tuple(luma)) if luma else math.nan


@cache
def jpeg_quality(table: tuple[int, ...]) -> float:
    """The IJG quality setting whose scaled luminance table lies nearest ``table`` (cached: a
    dataset has one table or a few)."""
    if len(table) != _JPEG_LUMINANCE.size:
        return math.nan
    qualities = np.arange(1, 101)
    scale = np.where(qualities < 50, 5000 / qualities, 200 - 2 * qualities)
    tables = np.clip(np.floor((_JPEG_LUMINANCE * scale[:, None] + 50) / 100), 1, 255)
    distance = np.abs(tables - np.asarray(table, dtype=np.float64)).sum(axis=1)
    return float(qualities[int(distance.argmin())])


def unpack(rows: Sequence[bytes]) -> dict[Measure, np.ndarray]:
    """Each measure over many images, from what ``measure`` wrote for each."""
    table = np.frombuffer(b"".join(rows), dtype=np.float32).reshape(len(rows), len(MEASURES))
    return {measure: table[:, i].astype(np.float64) for i, measure in enumerate(MEASURES)}


class Finding(StrEnum):
    """Kinds of quality outlier; the same names as the profile's problem kinds."""

    low_information = "low_information"
    dark = "dark"
    bright = "bright"
    blurry = "blurry"


@dataclass(frozen=True)
class Outlier:
    """One image that stands out from the dataset on one measure."""

    index: int
    kind: Finding
    value: float
    median: float


def outliers(measures: dict[Measure, np.ndarray]) -> list[Outlier]:
    """Images that are clear outliers of the dataset, at most one finding each, the first that
    applies of: ``dark``, ``bright``, nearly uniform (``low_information``), ``blurry`` (a black
    frame is uniform too, but dark says more; a uniform or dark image has no detail to blur).

    Each finding needs both a robust z-score beyond ``Z_CUT`` and an absolute condition, so that
    a dataset that is simply dark, bright, soft or small as a whole yields none; fewer than
    ``MIN_IMAGES`` images yield none. Every z-score is taken in a log domain, where a ratio is a
    distance: sharpness and contrast as they are, brightness as exposure (the mean grey level,
    for dark) and as headroom (its distance from white, for bright), so that halving the light
    is the same step at any level.
    """
    brightness = measures[Measure.brightness]
    if brightness.size < MIN_IMAGES:
        return []
    contrast = measures[Measure.contrast]
    flat = (contrast <= FLAT_CONTRAST) & (_log_z(contrast) <= -Z_CUT)
    dark = (brightness <= DARK_LEVEL) & (_log_z(brightness) <= -Z_CUT)
    bright = (brightness >= BRIGHT_LEVEL) & (_log_z(255 - brightness) <= -Z_CUT)
    blurry = _log_z(measures[Measure.sharpness]) <= -Z_CUT
    found = []
    for kind, hit, measure in (
        (Finding.dark, dark, Measure.brightness),
        (Finding.bright, bright, Measure.brightness),
        (Finding.low_information, flat & ~(dark | bright), Measure.contrast),
        (Finding.blurry, blurry & ~(flat | dark | bright), Measure.sharpness),
    ):
        values = measures[measure]
        median = float(np.median(values))
        found += [Outlier(int(i), kind, float(values[i]), median) for i in np.flatnonzero(hit)]
    return found


def _log_z(values: np.ndarray) -> np.ndarray:
    """Robust z-scores of log(1 + values), with the spread never below ``LOG_SCALE_FLOOR``."""
    logs = np.log1p(np.maximum(values, 0))
    median = np.median(logs)
    scale = max(_MAD_TO_SIGMA * float(np.median(np.abs(logs - median))), LOG_SCALE_FLOOR)
    return (logs - median) / scale


def extremes(values: np.ndarray, count: int = EXTREMES) -> tuple[list[int], list[int]]:
    """Indices of the lowest and of the highest values (lowest first, highest first), NaNs
    skipped."""
    order = [int(i) for i in np.argsort(values, kind="stable") if not np.isnan(values[i])]
    return order[:count], order[::-1][:count]
