"""Near-duplicate confirmation of images larger than their thumbnail, on the images themselves
(or, for images with no detail beyond their thumbnail, at the thumbnail's scale: ``held_alike``).

A 32 px thumbnail of a 300 px image keeps a tenth of its detail: two handwritten digits of the
same slant enlarged agree there at a correlation of 0.99 or more, and a one-pixel shift or a
2-5% crop of a fine texture moves its thumbnail by a fraction of a pixel, which lowers the
correlation of true copies below that of look-alikes. So a candidate pair of two images larger
than the thumbnail is registered and judged again: first coarsely on the thumbnails
(``coarsely_alike``), then, for the pairs left, on the images decoded at ``DETAIL_SIDE``.

The thresholds were chosen on planted copies in 96 and 160 px tiles of scikit-image's and
scikit-learn's photographs and textures and in 1,500 MNIST digits enlarged to 280 px
(``benchmarks/near_duplicates.py``), never on the solar cells held out there.

**Registration.** Two hypotheses: the copy shows the same frame (resized, re-encoded, edited,
shifted: both images resampled to the smaller one's shape, offsets of up to ``REACH`` pixels
found by climbing), or it is a crop (both brought to the same scale of the original pixels,
every offset at which they overlap on at least ``MIN_OVERLAP`` of the larger, found at once by
FFT-based normalised cross-correlation). The best integer offset is refined to a fraction of a
pixel by a parabola through its neighbours' correlations.

**Judging.** Three tests, all needed. (1) Coarse: the aligned overlaps resampled to
``COARSE_SIDE`` correlate at ``MIN_COARSE_CORRELATION``: smooth look-alikes (the scikit-learn
1s enlarged) differ everywhere a little, which no single place shows. (2) The halved overlaps
(2x2 means: JPEG's loss at quality 60 lives in the finest detail of a texture, where it lowers a
true copy's correlation to 0.91 at full detail and to 0.98 halved) correlate at
``MIN_CORRELATION``. (3) Local: predicting one from the other by the best line (clipped to the
grey range, since a brightened copy saturates), the worst cell of a ``GRID`` x ``GRID``
partition leaves at most ``MAX_CELL_RESIDUAL`` of the variance more unexplained than the median
cell: look-alike digits differ in one stroke, which a global correlation averages away but a
cell does not, while a copy's loss is spread alike over every cell. A thin line drawn across a
busy photograph is a small share of its variance and can pass (see the tests), and detail finer
than the detail images keep (about 2.5 px of a 320 px image) is not seen at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from advisor.data.images import THUMB_SIDE
from advisor.data.resampling import resample, separable, shifter

DETAIL_SIDE = 128
"""Longest side of the images compared: four times the thumbnail's detail; a one-pixel shift
of a 300 px image is 0.43 px at this size, within the sub-pixel refinement's reach."""
REACH = 3
"""Largest offset searched around the same-frame alignment, in pixels of the images compared
(detail images, or thumbnails in the coarse test on thumbnails)."""
MIN_OVERLAP = 0.8
"""Smallest share of the larger image a crop's offset must overlap (a crop of about 10% a side)."""
GRID = 4
"""Cells a side of the partition the local test looks at (16 px cells of a 64 px halved image)."""
EDGE = 2
"""Pixels of the halved overlap left out at each edge when judging: where a shifted copy's
fill and a crop's resampled border are."""
COARSE_SIDE = 16
"""The side of the coarse test: the candidate views' (``advisor.data.duplicates.VIEW_SIDE``)."""
THUMB_EDGE = 1
"""Thumbnail pixels left out at each edge of the aligned thumbnails before the coarse test."""
MIN_COARSE_THUMBNAILS = 0.98
"""The coarse test on thumbnails, before any image is decoded again. Registered at whole
thumbnail pixels, a 2-5% crop of a fine texture reaches only 0.99 at 16 px, where the images
themselves reach 0.995 (at 0.99, 4 of 98 cropped 96 px tiles and 6 of 60 cropped 160 px tiles
were set aside; at 0.98, 1 and 1, with two thirds of the pairs of distinct enlarged MNIST
digits set aside instead of 96%)."""
MIN_COARSE_CORRELATION = 0.995
"""Planted copies in the development sets reach 0.9977 at the lowest but for brightened tiles
that saturate (0.985); of the 182 scikit-learn 1s enlarged to 256 px, 39 made one group without
this test, and with it only pairs whose 8x8 sources differ by at most 3 of 16 levels."""
MIN_CORRELATION = 0.95
"""Copies reach 0.972 at the lowest (a 96 px texture halved); it sets apart different textures
that agree coarsely."""
MAX_CELL_RESIDUAL = 0.07
"""Copies reach 0.056 but for 1-2% of the texture tiles (up to 0.25: nearly flat tiles whose
variance is all in one small feature, shifted or resized); the distinct enlarged MNIST digits
that pass the coarse test start at 0.08."""


HELD_GRID = 6
"""Cells a side of the local test at thumbnail scale (4-5 px cells of a 26 px inside)."""
HELD_EDGE = 3
"""Thumbnail pixels left out at each edge when judging at thumbnail scale: where a shifted
copy's fill and a crop's cut land (a one-pixel shift of a 96 px tile, with a black line
filling in, is a third of a thumbnail pixel, smeared over two by the thumbnail's filter). At 2
the development sets gave the same recall and one group of two distinct 96 px tiles."""
HELD_CORRELATION = 0.99
"""Smallest correlation at thumbnail scale of two images with no detail beyond their thumbnails
for them to be copies. Distinct items of one cut pass any such threshold (of the 7,713 pairs
judged among 864 synthetic trousers and their copies, distinct items correlated 0.994 at the
median), so it is the local test (``HELD_EXCESS``) that sets them apart; at 0.99 it keeps every
planted copy but crops, which are registered again (``held_alike``). Both were chosen on the
two development catalogues of ``benchmarks/near_duplicates.py`` (enlarged MNIST digits and the
trousers), with the sub-pixel refinement of the time (a parabola alone)."""
HELD_EXCESS = 0.03
"""Largest share of the variance the worst cell of the ``HELD_GRID`` grid may leave unexplained
beyond the median cell, at thumbnail scale. With ``HELD_CORRELATION``: 2 of the 5,959 pairs of
distinct trousers judged passed (0.05: 32; grid 4 at 0.03: 54), and none of the 11,410 pairs
of distinct MNIST digits; copies of every kind but crops (JPEG re-encoding, resizing,
brightness and contrast changes, one-pixel shifts) stay under 0.02 among the digits and 0.026
among the trousers."""
REFINEMENTS = 2
"""Gauss-Newton steps refining the sub-pixel offset of a same-frame pair (``_gauss_newton``)."""
ESCALATE_CORRELATION = 0.98
"""Smallest correlation on the thumbnails at which a pair of crop-like sizes that failed there is
registered again on the images (``held_alike``)."""


class Originals(NamedTuple):
    """Where the detail stage gets the images of the thumbnails it is asked about."""

    sizes: Sequence[tuple[int, int]]
    """(height, width) of each image, in its own pixels."""
    load: Callable[[int], np.ndarray | None]
    """The image of a thumbnail's index as 2-D grayscale at most ``DETAIL_SIDE`` a side, or None
    when it can no longer be decoded."""
    held: Sequence[bool] = ()
    """Whether a thumbnail holds all of its image's detail (``advisor.data.resolution``): a pair
    of two such images is judged at the thumbnails' scale (``held_alike``), decoded again only
    to register a crop."""


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


class _Registration(NamedTuple):
    """One hypothesis of a pair: the two arrays registered, their correlation map, and the
    offset of the map's index (0, 0)."""

    x: np.ndarray
    y: np.ndarray
    scores: np.ndarray
    origin: tuple[int, int]


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
    # each axis at its own scale: the short side of an elongated image is rounded to a few
    # pixels, so one scale for both would zoom it by several percent
    rows = min(a.shape[0] / size_a[0], b.shape[0] / size_b[0])
    columns = min(a.shape[1] / size_a[1], b.shape[1] / size_b[1])
    x = _resampled(a, *_scaled(size_a, rows, columns))
    y = _resampled(b, *_scaled(size_b, rows, columns))
    if x.shape != y.shape and min(x.size, y.size) >= MIN_OVERLAP * max(x.size, y.size):
        found.append((x, y, True))
    return found


def _scaled(size: tuple[int, int], rows: float, columns: float) -> tuple[int, int]:
    """An image of ``size`` (height, width) shown at the given scales of its rows and columns."""
    return max(1, round(size[0] * rows)), max(1, round(size[1] * columns))


def _correlation_map(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Pearson correlation of ``y`` placed at every offset over ``x`` at which they overlap on
    at least ``MIN_OVERLAP`` of the larger (-1 elsewhere), computed on their overlap alone,
    with the offset of index (0, 0).

    Circular correlations of a length just long enough that no wanted offset wraps around
    (rather than the full linear length, which is about twice as long a side)."""
    from scipy import fft  # imported here: 0.2 s of every start, for a pair of unlike sizes

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
            found = overlap_scores(x[members], y[members], offsets)
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


def overlap_scores(x: np.ndarray, y: np.ndarray, offsets: list[tuple[int, int]]) -> np.ndarray:
    """Pearson correlation of each pair of two stacks (m, h, w) on their overlap, ``y`` placed
    at each offset over ``x``, (m, len(offsets)); -1 where the overlap is under ``MIN_OVERLAP``
    of ``x``."""
    scores = np.full((len(x), len(offsets)), -1.0)
    for column, (dy, dx) in enumerate(offsets):
        p, q = _overlap(x, y, dy, dx)
        if p[0].size < MIN_OVERLAP * x[0].size:
            continue
        scores[:, column] = _pearsons(p, q)
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
    """Offset of the top of the parabola through three equally spaced scores, within half a step
    (0 where a score is missing or the three do not bend down)."""
    return float(_vertices(np.array([below]), np.array([peak]), np.array([above]))[0])


def _aligned(found: _Registration) -> tuple[np.ndarray, np.ndarray]:
    """The overlaps of a registration's two images at its best offset, moved apart by the
    fraction of a pixel the scores around the best offset point to: each by half of it, so
    that the interpolation softens both alike (moving one image alone blurs it against the
    other: a sharp dark spot moved by a quarter pixel then leaves a residual of a tenth of the
    image's variance)."""
    x, y = found.x.astype(np.float64), found.y.astype(np.float64)
    scores, origin = found.scores, found.origin
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    rows, columns = scores.shape
    fy = _vertex(scores[i - 1, j], scores[i, j], scores[i + 1, j]) if 0 < i < rows - 1 else 0.0
    fx = _vertex(scores[i, j - 1], scores[i, j], scores[i, j + 1]) if 0 < j < columns - 1 else 0.0
    if fy or fx:
        x = _moved(x, -fy / 2, -fx / 2)
        y = _moved(y, fy / 2, fx / 2)
    return _overlap(x, y, int(i) + origin[0], int(j) + origin[1])


def _moved(image: np.ndarray, down: float, right: float) -> np.ndarray:
    along_rows = shifter(image.shape[0], round(down, 2))
    along_columns = shifter(image.shape[1], round(right, 2))
    return separable(image[None], along_rows, along_columns)[0]


def _halved(image: np.ndarray) -> np.ndarray:
    """2 x 2 means (an odd last row or column dropped); an image 1 px on a side is returned as
    it is."""
    h, w = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
    if h == 0 or w == 0:
        return image
    return (
        image[0:h:2, 0:w:2] + image[1:h:2, 0:w:2] + image[0:h:2, 1:w:2] + image[1:h:2, 1:w:2]
    ) / 4


def _inside(p: np.ndarray, q: np.ndarray, edge: int) -> tuple[np.ndarray, np.ndarray]:
    """Two aligned overlaps with ``edge`` pixels left out at each edge, where they are large
    enough to keep an inside (more than 2 x ``edge`` + 2 a side)."""
    if edge <= 0 or min(p.shape) <= 2 * edge + 2:
        return p, q
    return p[edge:-edge, edge:-edge], q[edge:-edge, edge:-edge]


def _judged(p: np.ndarray, q: np.ndarray) -> Verdict:
    coarse = _coarse(p, q)
    p, q = _halved(p), _halved(q)
    p, q = _inside(p, q, EDGE)
    excess = min(_cell_excess(p, q), _cell_excess(q, p))
    return Verdict(coarse, _pearson(p, q), excess)


def _cell_excess(p: np.ndarray, q: np.ndarray, grid: int = GRID) -> float:
    """How much more of ``q``'s variance the worst cell of the grid leaves unexplained than
    the median cell, once ``q`` is predicted from ``p`` by the best line clipped to the grey
    range (a brightened copy saturates: where it is white, the line would overshoot)."""
    return float(_cell_excesses(p[None], q[None], grid)[0])


BATCH = 256
"""Same-shape pairs registered together (float32 stacks of 128 px images: 16 MB each)."""


def _registrations(
    pairs: np.ndarray,
    images: Callable[[int], np.ndarray | None],
    sizes: Sequence[tuple[int, int]],
) -> dict[int, list[_Registration]]:
    """Each hypothesis of each pair (by its row in ``pairs``) with its correlation map, the
    better registered first; pairs with an image that is missing or under 2 px a side are
    left out. Same-shape pairs are registered together."""
    hypotheses: list[tuple[int, np.ndarray, np.ndarray, bool]] = []
    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = images(i), images(j)
        if a is None or b is None or min(a.shape) < 2 or min(b.shape) < 2:
            continue
        a, b = a.astype(np.float32), b.astype(np.float32)
        hypotheses += [(k, *frame) for frame in _frames(a, sizes[i], b, sizes[j])]
    maps: list[tuple[np.ndarray, tuple[int, int]]] = [(np.full((1, 1), -1.0), (0, 0))] * len(
        hypotheses
    )
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
    found: dict[int, list[_Registration]] = defaultdict(list)
    for (k, x, y, _), (scores, origin) in zip(hypotheses, maps, strict=True):
        if scores.max() > -1:
            found[k].append(_Registration(x, y, scores, origin))
    return {k: sorted(tried, key=lambda r: -r.scores.max()) for k, tried in found.items()}


def _coarse(p: np.ndarray, q: np.ndarray) -> float:
    """Correlation of two aligned overlaps resampled to ``COARSE_SIDE``."""
    views = resample(np.stack([p, q]).astype(np.float32), COARSE_SIDE, COARSE_SIDE)
    return _pearson(views[0].astype(np.float64), views[1].astype(np.float64))


def coarsely_alike(
    pairs: np.ndarray, thumbs: Sequence[np.ndarray], sizes: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Which candidate pairs pass the coarse test on their thumbnails alone, registered at
    whole thumbnail pixels: those left go on to be decoded and judged in detail (see
    ``MIN_COARSE_THUMBNAILS`` for what it sets aside). A pair with a thumbnail under 2 px a
    side (an image over about 20 times longer than wide) cannot be registered there and goes
    on untested."""
    result = _unregistered(pairs, thumbs)
    for row, p, q in _thumbnail_alignments(pairs, thumbs, sizes):
        result[row] |= _coarse(p, q) >= MIN_COARSE_THUMBNAILS
    return result


def _unregistered(pairs: np.ndarray, thumbs: Sequence[np.ndarray]) -> np.ndarray:
    """Pairs with a thumbnail under 2 px a side: too thin to register."""
    return np.fromiter(
        (min(thumbs[i].shape) < 2 or min(thumbs[j].shape) < 2 for i, j in pairs.tolist()),
        dtype=bool,
        count=len(pairs),
    )


def _thumbnail_alignments(
    pairs: np.ndarray, thumbs: Sequence[np.ndarray], sizes: Sequence[tuple[int, int]]
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(row of the pair, p, q): the aligned overlaps of each pair's thumbnails under each
    hypothesis that registers (the same frame, or a crop at the scale of the images' own pixels),
    ``THUMB_EDGE`` left out at each edge. Pairs go ``BATCH`` at a time: memory stays bounded."""
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start : start + BATCH]
        for k, tried in _registrations(batch, thumbs.__getitem__, sizes).items():
            for found in tried:
                yield start + k, *_inside(*_aligned(found), THUMB_EDGE)


class Held(NamedTuple):
    """``held_alike``'s verdicts, and what each pair took beyond comparing thumbnails as one
    frame."""

    same: np.ndarray
    registered: np.ndarray
    """Which pairs were registered on their thumbnails under both hypotheses, one by one."""
    decoded: np.ndarray
    """Which pairs were registered again on their images, decoded at ``DETAIL_SIDE``."""


def held_alike(pairs: np.ndarray, thumbs: Sequence[np.ndarray], originals: Originals) -> Held:
    """Which candidate pairs of images with no detail beyond their thumbnails
    (``Originals.held``) are near duplicates, judged at the thumbnails' scale (``HELD_CORRELATION``
    and ``HELD_EXCESS``).

    Thumbnails of one shape are compared as the same frame, all pairs at once
    (``_same_frame``); the pairs left that are of other shapes, or of sizes a crop could explain
    (``_crop_like``), are registered under both hypotheses, pair by pair. A crop of such an image
    is a zoom of a few percent that the thumbnails do not register well enough for a digit's
    strokes (2-5% crops of MNIST digits enlarged to 256 px correlated 0.986-0.997 there,
    with a cell's residual up to 0.28 of the variance); so a pair that fails with sizes a crop
    could explain and a correlation of at least ``ESCALATE_CORRELATION`` is registered again on
    the images decoded at ``DETAIL_SIDE`` and judged at the thumbnails' scale (``_escalated``
    says which)."""
    sizes = originals.sizes
    thin = _unregistered(pairs, thumbs)  # cannot be registered: never called copies here
    result = np.zeros(len(pairs), dtype=bool)
    best = np.full(len(pairs), -1.0)
    alike = np.fromiter((thumbs[i].shape == thumbs[j].shape for i, j in pairs.tolist()), bool)
    alike &= ~thin
    by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for row in np.flatnonzero(alike).tolist():
        by_shape[thumbs[pairs[row, 0]].shape].append(row)
    for members in by_shape.values():
        for start in range(0, len(members), BATCH):
            rows = members[start : start + BATCH]
            x = np.stack([thumbs[i] for i in pairs[rows, 0]]).astype(np.float32)
            y = np.stack([thumbs[j] for j in pairs[rows, 1]]).astype(np.float32)
            best[rows], result[rows] = _same_frame(x, y)
    crop_like = np.fromiter((_crop_like(sizes[i], sizes[j]) for i, j in pairs.tolist()), bool)
    others = np.flatnonzero((~alike | crop_like) & ~result & ~thin)
    for row, p, q in _thumbnail_alignments(pairs[others], thumbs, sizes):
        correlation, same = _held_same(*_inside(p, q, HELD_EDGE - THUMB_EDGE))
        result[others[row]] |= same
        best[others[row]] = max(best[others[row]], correlation)
    eligible = ~result & crop_like & (best >= ESCALATE_CORRELATION)
    again = _escalated(pairs, eligible, best, result, sizes)
    for start, batch, loaded in _loaded_batches(pairs[again], originals.load):
        for k, tried in _registrations(batch, loaded.__getitem__, sizes).items():
            found = tried[0]
            p, q = _aligned(found)
            scale = THUMB_SIDE / max(found.x.shape)
            shape = max(2, round(p.shape[0] * scale)), max(2, round(p.shape[1] * scale))
            p, q = resample(np.stack([p, q]).astype(np.float32), *shape).astype(np.float64)
            result[again[start + k]] = _held_same(*_inside(p, q, HELD_EDGE))[1]
    registered, decoded = np.zeros(len(pairs), bool), np.zeros(len(pairs), bool)
    registered[others], decoded[again] = True, True
    return Held(result, registered, decoded)


def _escalated(
    pairs: np.ndarray,
    eligible: np.ndarray,
    best: np.ndarray,
    same: np.ndarray,
    sizes: Sequence[tuple[int, int]],
) -> np.ndarray:
    """Rows of the eligible pairs to decode again: for each smaller image of a pair (the one
    that could be the crop) that matched nothing on the thumbnails, its best-correlated pair
    only (matched and chosen within the pairs judged together). In a catalogue of look-alikes a
    cropped copy has several partners of crop-like sizes
    that correlate at 0.98 and more, and its original is the best of them (2-5% crops of MNIST
    digits enlarged: 0.986-0.997 registered on the thumbnails)."""
    matched = set(pairs[same].ravel().tolist())
    chosen = []
    for row in sorted(np.flatnonzero(eligible).tolist(), key=lambda r: -best[r]):
        i, j = pairs[row].tolist()
        smaller = min((i, j), key=lambda k: sizes[k][0] * sizes[k][1])
        if smaller not in matched:
            chosen.append(row)
            matched.add(smaller)
    return np.array(sorted(chosen), dtype=np.int64)


def _held_same(p: np.ndarray, q: np.ndarray) -> tuple[float, bool]:
    """The correlation of two aligned overlaps at thumbnail scale, and whether they are copies:
    correlated at ``HELD_CORRELATION`` with no cell of a ``HELD_GRID`` grid left with more than
    ``HELD_EXCESS`` of the variance unexplained beyond the median cell."""
    correlation = _pearson(p, q)
    if correlation < HELD_CORRELATION:
        return correlation, False
    excess = min(_cell_excess(p, q, HELD_GRID), _cell_excess(q, p, HELD_GRID))
    return correlation, excess <= HELD_EXCESS


def _same_frame(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_held_same`` for stacks of same-shape thumbnails (m, h, w) showing the same frame, all
    pairs at once: the best of the 3 x 3 whole-pixel offsets, refined by the parabola through its
    neighbours (``_vertices``) and ``REFINEMENTS`` Gauss-Newton steps (``_gauss_newton``), each
    image moved by half of it (bilinear), compared ``HELD_EDGE`` in from each edge. Thumbnails
    too small to keep an inside are compared as they are. Returns the correlations and the
    verdicts."""
    m, h, w = x.shape
    if min(h, w) < 2 * HELD_EDGE + 3:  # too small to keep an inside: compared as they are
        found = [
            _held_same(a.astype(np.float64), b.astype(np.float64))
            for a, b in zip(x, y, strict=True)
        ]
        return np.array([c for c, _ in found]), np.array([same for _, same in found], bool)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    scores = overlap_scores(x, y, offsets).reshape(m, 3, 3)
    at = scores.reshape(m, 9).argmax(axis=1)
    iy, ix = at // 3, at % 3
    pairs = np.arange(m)
    fy = np.zeros(m)
    fx = np.zeros(m)
    middle = iy == 1
    fy[middle] = _vertices(scores[pairs, 0, ix], scores[pairs, 1, ix], scores[pairs, 2, ix])[middle]
    middle = ix == 1
    fx[middle] = _vertices(scores[pairs, iy, 0], scores[pairs, iy, 1], scores[pairs, iy, 2])[middle]
    # y placed at (dy + fy, dx + fx) over x: x read there, moved by half, y by the other half
    dy, dx = iy - 1 + fy, ix - 1 + fx
    rows, columns = h - 2 * HELD_EDGE, w - 2 * HELD_EDGE

    def read() -> tuple[np.ndarray, np.ndarray]:
        return (
            _bilinear(x, HELD_EDGE + dy / 2, HELD_EDGE + dx / 2, rows, columns),
            _bilinear(y, HELD_EDGE - dy / 2, HELD_EDGE - dx / 2, rows, columns),
        )

    p, q = read()
    for _ in range(REFINEMENTS):
        step_y, step_x = _gauss_newton(p, q)
        dy = np.clip(dy + step_y, -1.5, 1.5)
        dx = np.clip(dx + step_x, -1.5, 1.5)
        p, q = read()
    correlation = _pearsons(p, q)
    excess = np.minimum(_cell_excesses(p, q), _cell_excesses(q, p))
    return correlation, (correlation >= HELD_CORRELATION) & (excess <= HELD_EXCESS)


def _gauss_newton(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The step (down, right) by which to move the offset between two stacks of aligned
    overlaps (m, h, w), each standardised, that best closes their difference to first order:
    one Gauss-Newton step of least squares over the sub-pixel shift. The parabola through
    whole-pixel scores alone left a one-pixel shift of a 96 px tile (a third of a thumbnail
    pixel) at 0.990-0.998, where shifting it exactly reaches 0.998-1.000."""
    m = len(p)

    def standardised(a: np.ndarray) -> np.ndarray:
        flat = a.reshape(m, -1)
        spread = np.maximum(flat.std(axis=1), 1e-6)[:, None, None]
        return (a - flat.mean(axis=1)[:, None, None]) / spread

    p, q = standardised(p), standardised(q)
    # p is read at +half the offset, q at -half: moving the offset by d changes p - q by g . d
    grad_y = (np.gradient(p, axis=1) + np.gradient(q, axis=1)) / 2
    grad_x = (np.gradient(p, axis=2) + np.gradient(q, axis=2)) / 2
    error = p - q
    yy = np.einsum("nij,nij->n", grad_y, grad_y)
    xx = np.einsum("nij,nij->n", grad_x, grad_x)
    xy = np.einsum("nij,nij->n", grad_y, grad_x)
    by = -np.einsum("nij,nij->n", grad_y, error)
    bx = -np.einsum("nij,nij->n", grad_x, error)
    determinant = yy * xx - xy * xy
    safe = np.where(np.abs(determinant) > 1e-9, determinant, 1.0)
    step_y = np.where(np.abs(determinant) > 1e-9, (xx * by - xy * bx) / safe, 0.0)
    step_x = np.where(np.abs(determinant) > 1e-9, (yy * bx - xy * by) / safe, 0.0)
    return np.clip(step_y, -0.5, 0.5), np.clip(step_x, -0.5, 0.5)


def _vertices(below: np.ndarray, peak: np.ndarray, above: np.ndarray) -> np.ndarray:
    """``_vertex`` of many triples at once."""
    bend = below - 2 * peak + above
    valid = (below > -1) & (above > -1) & (bend < 0)
    safe = np.where(valid, bend, -1.0)
    return np.where(valid, np.clip(0.5 * (below - above) / safe, -0.5, 0.5), 0.0)


def _bilinear(
    stack: np.ndarray, down: np.ndarray, right: np.ndarray, rows: int, columns: int
) -> np.ndarray:
    """Each image of (m, h, w) read at (r + down, c + right) for r < ``rows`` and c <
    ``columns``, by bilinear interpolation; every point read lies inside the image.
    Images whose reading starts at the same whole pixel are read together, by slices (gathering
    every pixel by index took four times as long)."""
    top, left = np.floor(down).astype(int), np.floor(right).astype(int)
    wy, wx = (down - top)[:, None, None], (right - left)[:, None, None]
    result = np.empty((len(stack), rows, columns))
    for ty, tx in set(zip(top.tolist(), left.tolist(), strict=True)):
        members = np.flatnonzero((top == ty) & (left == tx))
        part = stack[members, ty : ty + rows + 1, tx : tx + columns + 1]
        a, b = wy[members], wx[members]
        across = (1 - b) * part[:, :, :-1] + b * part[:, :, 1:]
        result[members] = (1 - a) * across[:, :-1] + a * across[:, 1:]
    return result


def _pearsons(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``_pearson`` of each pair of two stacks (m, h, w)."""
    p = p.reshape(len(p), -1)
    q = q.reshape(len(q), -1)
    p = p - p.mean(axis=1, keepdims=True)
    q = q - q.mean(axis=1, keepdims=True)
    scale = np.sqrt(np.einsum("ij,ij->i", p, p) * np.einsum("ij,ij->i", q, q))
    return np.where(scale > 0, np.einsum("ij,ij->i", p, q) / np.maximum(scale, 1e-12), 0.0)


def _cell_excesses(p: np.ndarray, q: np.ndarray, grid: int = HELD_GRID) -> np.ndarray:
    """``_cell_excess`` of each pair of two stacks (m, h, w)."""
    m, h, w = q.shape
    inside = (q > 0.5) & (q < 254.5)
    enough = inside.reshape(m, -1).mean(axis=1) >= 0.5
    inside |= ~enough[:, None, None]
    count = inside.reshape(m, -1).sum(axis=1)
    mean_p = (p * inside).reshape(m, -1).sum(axis=1) / count
    mean_q = (q * inside).reshape(m, -1).sum(axis=1) / count
    dp = (p - mean_p[:, None, None]) * inside
    dq = (q - mean_q[:, None, None]) * inside
    spread = (dp * dp).reshape(m, -1).sum(axis=1)
    slope = (dp * dq).reshape(m, -1).sum(axis=1) / np.maximum(spread, 1e-12)
    variance = q.reshape(m, -1).var(axis=1)
    predicted = np.clip(
        mean_q[:, None, None] + slope[:, None, None] * (p - mean_p[:, None, None]), 0, 255
    )
    residual = (q - predicted) ** 2
    starts_y = np.unique(np.linspace(0, h, grid + 1).astype(int)[:-1])
    starts_x = np.unique(np.linspace(0, w, grid + 1).astype(int)[:-1])
    sums = np.add.reduceat(np.add.reduceat(residual, starts_y, axis=1), starts_x, axis=2)
    areas = np.outer(np.diff(np.r_[starts_y, h]), np.diff(np.r_[starts_x, w]))
    shares = (sums / areas).reshape(m, -1) / np.maximum(variance, 1e-12)[:, None]
    excess = shares.max(axis=1) - np.median(shares, axis=1)
    return np.where((spread > 0) & (variance > 0), excess, UNRELATED.cell_residual)


def _crop_like(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether images of sizes ``a`` and ``b`` (height, width) could be a crop and its
    original: different, the smaller within ``MIN_OVERLAP`` of the larger's area, and neither
    side longer in the smaller."""
    if a == b:
        return False
    small, large = sorted((a, b), key=lambda size: size[0] * size[1])
    fits = small[0] <= large[0] and small[1] <= large[1]
    return fits and small[0] * small[1] >= MIN_OVERLAP * large[0] * large[1]


def _loaded_batches(
    pairs: np.ndarray, load: Callable[[int], np.ndarray | None]
) -> Iterator[tuple[int, np.ndarray, dict[int, np.ndarray | None]]]:
    """(first row, pairs, images by index) ``BATCH`` pairs at a time, each image decoded once
    however many pairs it is in, and let go once no later batch needs it."""
    last_batch = {int(i): row // BATCH for row, pair in enumerate(pairs) for i in pair}
    loaded: dict[int, np.ndarray | None] = {}
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start : start + BATCH]
        for i in np.unique(batch).tolist():
            if i not in loaded:
                loaded[i] = load(i)
        yield start, batch, loaded
        for i in np.unique(batch).tolist():
            if last_batch[i] == start // BATCH:
                del loaded[i]


def confirmed(pairs: np.ndarray, originals: Originals) -> np.ndarray:
    """Which candidate pairs of indices are near duplicates when compared in detail."""
    return np.array([verdict.same for verdict in verdicts(pairs, originals)], dtype=bool)


def verdicts(pairs: np.ndarray, originals: Originals) -> list[Verdict]:
    """How alike each candidate pair of indices is, compared in detail; each image is decoded
    once however many pairs it is in. A pair with an image that no longer decodes gets the
    verdict of two unrelated images."""
    result = [UNRELATED] * len(pairs)
    for start, batch, loaded in _loaded_batches(pairs, originals.load):
        for k, tried in _registrations(batch, loaded.__getitem__, originals.sizes).items():
            result[start + k] = _judged(*_aligned(tried[0]))
    return result
