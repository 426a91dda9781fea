"""Near-duplicate confirmation of images larger than their thumbnail, on the images themselves.

A 32 px thumbnail of a 300 px image keeps a tenth of its detail: distinct solar cells of one
module type, or two handwritten digits of the same slant enlarged, agree there at a correlation
of 0.99 or more, and a one-pixel shift or a 2-5% crop of a fine texture moves its thumbnail by a
fraction of a pixel, which lowers the correlation of true copies below that of look-alikes. So
when both images of a candidate pair are larger than the thumbnail, they are decoded again at
``DETAIL_SIDE``, registered, and judged there.

**Registration.** Two hypotheses, keeping the better: the copy shows the same frame (resized,
re-encoded, edited, shifted: both images resampled to the smaller one's shape, offsets of up to
``REACH`` pixels), or it is a crop (both brought to the same scale of the original pixels, every
offset at which they overlap on at least ``MIN_OVERLAP`` of the larger, found at once by
FFT-based normalised cross-correlation). The best integer offset is refined to a fraction of a
pixel by a parabola through its neighbours' correlations.

**Judging.** The aligned overlaps are halved (2x2 means) before they are compared: the
registration needs every pixel, but JPEG's loss at quality 60 lives in the finest detail of a
texture, where it lowers a true copy's correlation to 0.91 at full detail and to 0.98 halved.
A pair is confirmed when the halved overlaps correlate at ``MIN_CORRELATION`` or more and no
cell of a ``GRID`` x ``GRID`` partition holds a residual (after the best linear fit of
brightness and contrast) above ``MAX_CELL_RESIDUAL`` of the image's variance: look-alikes differ
in a stroke or a crack, which a global correlation averages away but a cell does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from scipy import fft

from advisor.data.resampling import resample, separable, shifter

DETAIL_SIDE = 128
"""Longest side of the images compared: four times the thumbnail's detail; a one-pixel shift
of a 300 px image is 0.43 px at this size, within the sub-pixel refinement's reach."""
REACH = 3
"""Largest offset searched around the same-frame alignment, in detail pixels."""
MIN_OVERLAP = 0.8
"""Smallest share of the larger image a crop's offset must overlap (a crop of about 10% a side)."""
GRID = 4
EDGE = 2
"""Pixels of the halved overlap left out at each edge when judging: where a shifted copy's
fill and a crop's resampled border are."""
COARSE_SIDE = 16
MIN_COARSE_CORRELATION = 0.995
MIN_CORRELATION = 0.95
MAX_CELL_RESIDUAL = 0.07


class Originals(NamedTuple):
    """Where the detail stage gets the images of the thumbnails it is asked about."""

    sizes: Sequence[tuple[int, int]]
    """(height, width) of each image, in its own pixels."""
    load: Callable[[int], np.ndarray | None]
    """The image of a thumbnail's index as 2-D grayscale at most ``DETAIL_SIDE`` a side, or None
    when it can no longer be decoded."""


class Verdict(NamedTuple):
    """How alike two registered images are."""

    coarse: float
    """Correlation of the aligned overlaps resampled to ``COARSE_SIDE``."""
    correlation: float
    """Correlation of the halved aligned overlaps."""
    cell_residual: float
    """How much more of the variance the worst cell of the grid leaves unexplained than the
    median cell."""

    @property
    def same(self) -> bool:
        return (
            self.coarse >= MIN_COARSE_CORRELATION
            and self.correlation >= MIN_CORRELATION
            and self.cell_residual <= MAX_CELL_RESIDUAL
        )


UNRELATED = Verdict(0.0, 0.0, 1.0)


def _resampled(image: np.ndarray, rows: int, columns: int) -> np.ndarray:
    if image.shape == (rows, columns):
        return image
    return resample(image[None], rows, columns)[0]


def _frames(
    a: np.ndarray, size_a: tuple[int, int], b: np.ndarray, size_b: tuple[int, int]
) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """The pairs of arrays to register under each hypothesis, and whether to search every
    offset (a crop) or only those near alignment (the same frame)."""
    found = []
    if a.size >= b.size:
        found.append((_resampled(a, *b.shape), b, False))
    else:
        found.append((a, _resampled(b, *a.shape), False))
    scale_a, scale_b = a.shape[1] / size_a[1], b.shape[1] / size_b[1]
    common = min(scale_a, scale_b)
    x = _resampled(a, *_scaled(a.shape, common / scale_a))
    y = _resampled(b, *_scaled(b.shape, common / scale_b))
    if x.shape != y.shape and min(x.size, y.size) >= MIN_OVERLAP * max(x.size, y.size):
        found.append((x, y, True))
    return found


def _scaled(shape: tuple[int, ...], factor: float) -> tuple[int, int]:
    return max(1, round(shape[0] * factor)), max(1, round(shape[1] * factor))


def _correlation_map(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Pearson correlation of ``y`` placed at every offset over ``x`` at which they overlap on
    at least ``MIN_OVERLAP`` of the larger (-1 elsewhere), computed on their overlap alone,
    with the offset of index (0, 0).

    Circular correlations of a length just long enough that no wanted offset wraps around
    (rather than the full linear length, which is about twice as long a side)."""
    least = MIN_OVERLAP * max(x.size, y.size)
    spans = []
    for axis in (0, 1):
        other = max(x.shape[1 - axis], y.shape[1 - axis])
        need = int(np.ceil(least / other))  # the overlap along this axis can be no less
        low, high = need - y.shape[axis], x.shape[axis] - need
        spans.append((low, high, max(y.shape[axis] + high, x.shape[axis] - low)))
    if any(low > high for low, high, _ in spans):
        return np.full((1, 1), -1.0), 0, 0
    fast = tuple(fft.next_fast_len(length, real=True) for *_, length in spans)
    rows = np.arange(spans[0][0], spans[0][1] + 1) % fast[0]
    columns = np.arange(spans[1][0], spans[1][1] + 1) % fast[1]

    def spectrum(image: np.ndarray) -> np.ndarray:
        return fft.rfft2(image, fast)

    def correlate(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return fft.irfft2(first * np.conj(second), fast)[np.ix_(rows, columns)]

    x, y = x - x.mean(), y - y.mean()  # smaller sums: less cancellation below
    ones_x, ones_y = spectrum(np.ones_like(x)), spectrum(np.ones_like(y))
    count = np.rint(correlate(ones_x, ones_y))
    n = np.maximum(count, 1)
    spectrum_x, spectrum_y = spectrum(x), spectrum(y)
    sum_x, sum_y = correlate(spectrum_x, ones_y), correlate(ones_x, spectrum_y)
    sum_xx = correlate(spectrum(x * x), ones_y)
    sum_yy = correlate(ones_x, spectrum(y * y))
    covariance = correlate(spectrum_x, spectrum_y) - sum_x * sum_y / n
    variance = np.maximum(sum_xx - sum_x**2 / n, 0) * np.maximum(sum_yy - sum_y**2 / n, 0)
    scores = covariance / np.sqrt(np.maximum(variance, 1e-12))
    scores[count < least] = -1.0
    return scores, spans[0][0], spans[1][0]


def _near_maps(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """As ``_correlation_map`` for stacks of same-shape pairs (m, h, w), near alignment only:
    the 3 x 3 offsets around none, then, while a pair's best lies on the edge of what was
    searched, the 3 x 3 around that best, up to ``REACH``. Returns (m, 2 REACH + 1,
    2 REACH + 1) scores, index (REACH, REACH) being no offset, -1 where not computed."""
    side = 2 * REACH + 1
    scores = np.full((len(x), side, side), -1.0)
    centres = np.zeros((len(x), 2), dtype=int)
    pending = np.arange(len(x))
    while len(pending):
        for cy, cx in np.unique(centres[pending], axis=0).tolist():
            members = pending[(centres[pending] == (cy, cx)).all(axis=1)]
            offsets = [
                (cy + dy, cx + dx)
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
                if abs(cy + dy) <= REACH
                and abs(cx + dx) <= REACH
                and (scores[members, cy + dy + REACH, cx + dx + REACH] == -1).any()
            ]
            found = _offset_scores(x[members], y[members], offsets)
            for column, (dy, dx) in enumerate(offsets):
                scores[members, dy + REACH, dx + REACH] = found[:, column]
        best = (
            np.array(
                np.unravel_index(scores[pending].reshape(len(pending), -1).argmax(1), (side, side))
            ).T
            - REACH
        )
        moved = (best != centres[pending]).any(axis=1)
        centres[pending] = best
        pending = pending[moved]
    return scores


def _offset_scores(x: np.ndarray, y: np.ndarray, offsets: list[tuple[int, int]]) -> np.ndarray:
    """Pearson correlation of each pair of two same-shape stacks on their overlap at each
    offset, (m, len(offsets)); -1 where the overlap is under ``MIN_OVERLAP``."""
    scores = np.full((len(x), len(offsets)), -1.0)
    for column, (dy, dx) in enumerate(offsets):
        p, q = _overlap(x, y, dy, dx)
        if p[0].size < MIN_OVERLAP * x[0].size:
            continue
        p = p.reshape(len(p), -1)
        q = q.reshape(len(q), -1)
        p = p - p.mean(axis=1, keepdims=True)
        q = q - q.mean(axis=1, keepdims=True)
        scale = np.sqrt(np.einsum("ij,ij->i", p, p) * np.einsum("ij,ij->i", q, q))
        dots = np.einsum("ij,ij->i", p, q)
        scores[:, column] = np.where(scale > 0, dots / np.maximum(scale, 1e-12), 0.0)
    return scores


def _pearson(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p - p.mean(), q - q.mean()
    scale = np.sqrt((p * p).sum() * (q * q).sum())
    return float((p * q).sum() / scale) if scale > 0 else 0.0


def _overlap(x: np.ndarray, y: np.ndarray, dy: int, dx: int) -> tuple[np.ndarray, np.ndarray]:
    """The parts of ``x`` and of ``y`` placed at (dy, dx) over it that coincide (on the last
    two axes, so stacks of images too)."""
    y0, y1 = max(0, dy), min(x.shape[-2], dy + y.shape[-2])
    x0, x1 = max(0, dx), min(x.shape[-1], dx + y.shape[-1])
    return x[..., y0:y1, x0:x1], y[..., y0 - dy : y1 - dy, x0 - dx : x1 - dx]


def _vertex(below: float, peak: float, above: float) -> float:
    """Offset of the top of the parabola through three equally spaced scores, within half a step."""
    bend = below - 2 * peak + above
    if below <= -1 or above <= -1 or bend >= 0:
        return 0.0
    return float(np.clip(0.5 * (below - above) / bend, -0.5, 0.5))


def _aligned(
    x: np.ndarray, y: np.ndarray, scores: np.ndarray, origin: tuple[int, int]
) -> tuple[float, np.ndarray, np.ndarray]:
    """The best offset's score and the overlaps of ``x`` and ``y`` there, moved apart by the
    fraction of a pixel the scores around the best offset point to: each by half of it, so
    that the interpolation softens both alike (moving one image alone blurs it against the
    other: a sharp dark spot moved by a quarter pixel then leaves a residual of a tenth of the
    image's variance)."""
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    rows, columns = scores.shape
    fy = _vertex(scores[i - 1, j], scores[i, j], scores[i + 1, j]) if 0 < i < rows - 1 else 0.0
    fx = _vertex(scores[i, j - 1], scores[i, j], scores[i, j + 1]) if 0 < j < columns - 1 else 0.0
    if fy or fx:
        x = _moved(x, -fy / 2, -fx / 2)
        y = _moved(y, fy / 2, fx / 2)
    p, q = _overlap(x, y, int(i) + origin[0], int(j) + origin[1])
    return float(scores[i, j]), p, q


def _moved(image: np.ndarray, down: float, right: float) -> np.ndarray:
    rows, columns = image.shape
    return separable(image[None], shifter(rows, round(down, 2)), shifter(columns, round(right, 2)))[
        0
    ]


def _halved(image: np.ndarray) -> np.ndarray:
    """2 x 2 means (an odd last row or column dropped)."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    if h == 0 or w == 0:
        return image
    return (
        image[0:h:2, 0:w:2] + image[1:h:2, 0:w:2] + image[0:h:2, 1:w:2] + image[1:h:2, 1:w:2]
    ) / 4


def _judged(p: np.ndarray, q: np.ndarray) -> Verdict:
    views = resample(np.stack([p, q]).astype(np.float32), COARSE_SIDE, COARSE_SIDE)
    coarse = _pearson(views[0].astype(np.float64), views[1].astype(np.float64))
    p, q = _halved(p), _halved(q)
    if min(p.shape) > 2 * EDGE + 2:
        p, q = p[EDGE:-EDGE, EDGE:-EDGE], q[EDGE:-EDGE, EDGE:-EDGE]
    excess = min(_cell_excess(p, q), _cell_excess(q, p))
    return Verdict(coarse, _pearson(p, q), excess)


def _cell_excess(p: np.ndarray, q: np.ndarray) -> float:
    """How much more of ``q``'s variance the worst cell of the grid leaves unexplained than
    the median cell, once ``q`` is predicted from ``p`` by the best line clipped to the grey
    range (a brightened copy saturates: where it is white, the line would overshoot)."""
    inside = (q > 0.5) & (q < 254.5)
    if inside.sum() < 0.5 * q.size:
        inside = np.ones_like(q, dtype=bool)
    pi, qi = p[inside], q[inside]
    spread = float(((pi - pi.mean()) ** 2).sum())
    variance = float(q.var())
    if spread <= 0 or variance <= 0:
        return UNRELATED.cell_residual
    slope = float(((pi - pi.mean()) * (qi - qi.mean())).sum()) / spread
    predicted = np.clip(qi.mean() + slope * (p - pi.mean()), 0, 255)
    residual = (q - predicted) ** 2
    h, w = residual.shape
    starts_y = np.unique(np.linspace(0, h, GRID + 1).astype(int)[:-1])
    starts_x = np.unique(np.linspace(0, w, GRID + 1).astype(int)[:-1])
    sums = np.add.reduceat(np.add.reduceat(residual, starts_y, axis=0), starts_x, axis=1)
    shares = sums / np.outer(np.diff(np.r_[starts_y, h]), np.diff(np.r_[starts_x, w])) / variance
    return float(shares.max() - np.median(shares))


BATCH = 256
"""Same-shape pairs registered together (float32 stacks of 128 px images: 16 MB each)."""


def confirmed(pairs: np.ndarray, originals: Originals) -> np.ndarray:
    """Which candidate pairs of indices are near duplicates when compared in detail."""
    return np.array([verdict.same for verdict in verdicts(pairs, originals)], dtype=bool)


def verdicts(pairs: np.ndarray, originals: Originals) -> list[Verdict]:
    """How alike each candidate pair of indices is, compared in detail; each image is decoded
    once however many pairs it is in, and pairs of one shape are registered together. A pair
    with an image that no longer decodes gets the verdict of two unrelated images."""
    loaded = {int(i): originals.load(int(i)) for i in np.unique(pairs)}
    hypotheses: list[tuple[int, np.ndarray, np.ndarray, bool]] = []
    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = loaded[i], loaded[j]
        if a is None or b is None or min(a.shape) < 2 or min(b.shape) < 2:
            continue
        a, b = a.astype(np.float32), b.astype(np.float32)
        hypotheses += [
            (k, *frame) for frame in _frames(a, originals.sizes[i], b, originals.sizes[j])
        ]
    maps: list[tuple[np.ndarray, tuple[int, int]] | None] = [None] * len(hypotheses)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for h, (_, x, y, crop) in enumerate(hypotheses):
        if crop:
            scores, dy, dx = _correlation_map(x.astype(np.float64), y.astype(np.float64))
            maps[h] = (scores, (dy, dx))
        else:
            by_shape.setdefault(x.shape, []).append(h)
    for members in by_shape.values():
        for start in range(0, len(members), BATCH):
            chosen = members[start : start + BATCH]
            stack_x = np.stack([hypotheses[h][1] for h in chosen])
            stack_y = np.stack([hypotheses[h][2] for h in chosen])
            for h, scores in zip(chosen, _near_maps(stack_x, stack_y), strict=True):
                maps[h] = (scores, (-REACH, -REACH))
    best: dict[int, tuple[float, int]] = {}
    for h, found in enumerate(maps):
        assert found is not None
        k, score = hypotheses[h][0], float(found[0].max())
        if score > -1 and (k not in best or score > best[k][0]):
            best[k] = (score, h)
    result = [UNRELATED] * len(pairs)
    for k, (_, h) in best.items():
        _, x, y, _ = hypotheses[h]
        scores, origin = maps[h] or (np.zeros((1, 1)), (0, 0))
        _, p, q = _aligned(x.astype(np.float64), y.astype(np.float64), scores, origin)
        result[k] = _judged(p, q)
    return result
