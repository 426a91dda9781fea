"""Exact and near-duplicate grouping.

Exact duplicates come from content hashes. Near duplicates are found in two stages, measured on
the 1,797 scikit-learn digits and the 65,000 MNIST digits with planted copies of six kinds
(``benchmarks/near_duplicates.py``): JPEG re-encoding, resizing by 0.5-2x, brightness and
contrast changes, crops of up to 5% and one-pixel shifts.

**Candidates.** Every thumbnail gives 16x16 views: the whole frame resampled to the square and
the thumbnail at its own pixel scale centred on a 32x32 canvas. These are hashed (SimHash: the
signs of 128 fixed random projections, cut into 8 bands of 16 bits); pairs that share a band and
whose views correlate at >= ``CANDIDATE_CORRELATION`` are candidates. Probes, hashed but never
paired with each other, stand for the edits: the canvas view moved by one pixel each way (a
shifted copy) and the frame view of the thumbnail shrunk to 1/2 and 3/4 (a copy resized down, or
an original seen from its enlarged copy). Without them the frame view alone keeps, for 2% of
planted MNIST copies, a correlation under 0.794 (shifts), 0.875 (crops) and 0.964 (half-size
copies); lowering the threshold instead would let about 790,000 pairs of distinct MNIST digits
through at 0.95. A thumbnail of an image at least twice its size (``reduced``) instead adds its
frame trimmed by ``TRIM`` pixels, and trimmed once more as a probe, and two such thumbnails pair
from ``CANDIDATE_CORRELATION_REDUCED``: their pairs are confirmed on the images themselves.

**Which pairs, at what cost.** Each image's ``MAX_PARTNERS`` nearest candidates are judged,
every image's nearest first (``_nearest``), and rejecting
look-alikes may cost at most ``ALLOWANCE`` an image; when that runs out, the pairs left are
counted (``Found.unjudged``) and the profile gives a notice. Without a bound, a catalogue of
20,000 enlarged digits took 70 s to profile and one of 864 trousers 93 s (issue 29). Matches
make groups around representatives (``_star_labels``), never chains.

**Confirmation.** A pair of two images larger than the thumbnail is confirmed on the images,
decoded again (``advisor.data.detail``), unless neither has detail beyond its thumbnail
(``advisor.data.resolution``): enlarged from small originals, such images are judged at the
thumbnails' scale (``advisor.data.detail.held_alike``). Any other pair is confirmed on its
thumbnails, as follows. Look-alikes pass any low-resolution test: distinct handwritten 1s of the
same slant correlate >= 0.99 at 16x16 (5,010 pairs of MNIST digits). Candidates are therefore
compared on their thumbnails at full detail (``advisor.data.images.THUMB_SIDE``: up to 32 px, an
image that small kept pixel for pixel), searching offsets of up to one pixel beyond their size
difference, by the Pearson correlation of the overlap (which ignores brightness and contrast).
Thumbnails of different sizes (a resized copy) are compared both ways, each resampled to the
other's size, keeping the better: one way only, MNIST digits enlarged to 56 px kept 0.966 at the
5th percentile, both ways 0.9906 at the lowest. A crop or a shift is then an exact offset
(correlation 1.0). Compared on thumbnails resampled to a fixed 32 px square instead, even with
offsets, moment-based registration and matched resolution, planted copies fell to 0.957 while
17,041 pairs of distinct MNIST digits passed 0.99. We wrote these lines rather than depend on an
image-hash library: the hash is one matrix product, and neither the banded search nor the
aligned comparison is something those libraries offer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache
from typing import NamedTuple

import numpy as np

from advisor.data import detail
from advisor.data.detail import Originals
from advisor.data.images import THUMB_SIDE
from advisor.data.resampling import resample, resampler, separable
from advisor.progress import SILENT, Progress

NEAR_DUPLICATE_CORRELATION = 0.992
"""Smallest correlation of two aligned full-detail thumbnails at which the images are near
duplicates. Of the 480,484 most similar pairs of distinct MNIST digits, 3 reach 0.99 and none
0.992; planted copies reach it but for 1-3 in 200 of the JPEG (quality 60: 0.9919 at the
lowest), resized (0.9906) and cropped MNIST copies. At 0.99 instead, two groups of different
MNIST 1s and scikit-learn scans 1247 and 1250 (0.9909) were reported."""
CANDIDATE_CORRELATION = 0.97
"""Smallest correlation of two 16x16 views at which a pair is compared in full detail: at 0.98,
8% of scikit-learn digits cropped by one pixel were missed (their best unshifted views correlate
0.972-0.981: the digits touch the frame, and the crop replaces an edge row by background)."""
CANDIDATE_CORRELATION_REDUCED = 0.96
"""The candidate threshold between two reduced thumbnails, whose pairs are confirmed on the
images themselves (``advisor.data.detail``): at 0.97, 5% of 96 px texture tiles shifted by one
pixel and 3% of those cropped by 2-5% were not candidates even by their trimmed views."""
VIEW_SIDE = 16
TRIM = 1
"""Thumbnail pixels left out at each edge of a reduced thumbnail's trimmed views: the edge is
where a crop removes content and a shift brings in fill (a black line, in the benchmark's
shifted copies, which at 16 px can take a low-contrast texture's view to 0.91)."""
SCALE_PROBES = (0.5, 0.75)
"""Shrink factors of the frame probes: a copy resized by 0.5-2x meets its original within one."""
REACH = 1
"""Offsets searched beyond the size difference, in thumbnail pixels: one-pixel shifts."""
BANDS = 8
BAND_BITS = 16
MAX_SIGNATURE_DISTANCE = 16
"""Pairs whose whole 128-bit signatures differ in more bits than this are dropped before their
views are correlated: two views at the candidate threshold (14 degrees apart) differ in 10 bits
on average, sd 3, before the mean is taken off."""
CENTRE_PRIOR = 1000
"""The mean view taken off before hashing is shrunk towards zero as if this many blank views
were added: the mean of a handful of views would be close to each of them, and taking it off
would turn two copies among three images into opposite vectors."""
CHUNK = 65_536
"""Rows standardised and hashed at a time, so no full-size temporary is made."""
MIN_CONTRAST = 2.0
"""Thumbnails with a pixel standard deviation under this (grey levels) are blank: any two blank
images correlate arbitrarily, so they are left out of the near-duplicate search."""
CANVAS_MOVES = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
"""(rows, columns) moves of the canvas views; all but the first are probes (one-pixel shifts)."""
VIEW_CHUNK = 4096
"""Thumbnails whose views are computed together: the products' temporaries stay small."""
MAX_RUN_STEP = 16
"""Within a bucket of equal band keys (ordered by whole signature), each row is paired with the
next this many: MNIST's 530,000 views fill buckets of up to 2,764 rows, and pairing all of them
costs tens of millions of comparisons per band. Pairing 64 rather than 16 found 2 more of 1,200
planted digit copies in an earlier setting (candidates at 0.98), none at the final one (digits:
1,200 of 1,200 either way)."""


MAX_PARTNERS = 3
"""Candidate partners judged per image, nearest (best view correlation) first (``_nearest``). In
a catalogue of look-alikes an image can have hundreds of candidates, each of which would
otherwise cost a registration. In the MNIST catalogue of ``benchmarks/near_duplicates.py``
(20,000 digits enlarged to 256 px, 52,709 candidate pairs) the 3 nearest keep 9,065 pairs and
every planted copy's pair with its original; in the synthetic trousers, where items of one cut
are nearer than a cropped copy, 4,083 pairs and 1,191 of the 1,200 (4 nearest: all 1,200, at
5,435 pairs). Ranking each image's partners of its own size and of other sizes apart, 2 of
each, kept fewer copies (trousers: 1,176) for more pairs (5,687)."""
COSTS = {"thumbnails": 1.0, "registered": 3.0, "decoded": 35.0}
"""What judging a pair costs, in units of a pair of thumbnails compared at whole-pixel offsets
(about 100 µs on one core of a 2-core Xeon, for 28-32 px thumbnails, one frame or all pairs
of one shape at once): a pair registered on its thumbnails under both hypotheses, one
by one (about 260 µs), and a pair decoded again at ``advisor.data.detail.DETAIL_SIDE`` and
registered there (about 3.4 ms: the decoding dominates). Measured on 4,096 candidate pairs of
the MNIST catalogue of ``benchmarks/near_duplicates.py``."""
ALLOWANCE = {"thumbnail": 4.0, "larger": 12.0}
"""Units of ``COSTS`` the judging may spend on rejecting look-alikes, per image: an image that
fits its thumbnail (about 0.4 ms of one core, against 0.15 ms to decode a 32 px PNG), and a
larger one, whose pairs may be decoded again (about 1.2 ms, against 0.3 ms to decode a 256 px
JPEG at the scan's reduced scale and 1.3 ms for a 300 px PNG). The development sets of
``benchmarks/near_duplicates.py`` spend up to 1.2 units an image (photo tiles, enlarged MNIST
digits), 6.7 (solar cells) and 9.9 (a synthetic catalogue of trousers)."""
JUDGED_AT_ONCE = 512
"""Pairs judged between two looks at the budget."""


@cache
def _projections(dimensions: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.standard_normal((dimensions, BANDS * BAND_BITS)).astype(np.float32)


def _by_shape(
    thumbs: Sequence[np.ndarray], reduced: Sequence[bool]
) -> dict[tuple[tuple[int, int], bool], np.ndarray]:
    found: dict[tuple[tuple[int, int], bool], list[int]] = defaultdict(list)
    for i, (thumb, small) in enumerate(zip(thumbs, reduced, strict=True)):
        found[(thumb.shape, small)].append(i)
    return {key: np.array(members) for key, members in found.items()}


def views(
    thumbs: Sequence[np.ndarray], reduced: Sequence[bool] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 16x16 views of every thumbnail: rows (float32, flattened), the thumbnail each belongs
    to, and whether it is a probe (searched for, never paired with another probe).

    Every view is a linear map of the thumbnail: the frame resampled or shrunk by each probe
    factor (``separable``), or the thumbnail centred (and moved) on the canvas in 2x2 blocks,
    whose uncovered share takes the median of the thumbnail's border (``_canvas_views``). A
    ``reduced`` thumbnail (of an image at least twice ``THUMB_SIDE``) has its frame view and the
    frame trimmed (``_resampled_views``) instead: a one-pixel shift or crop of the image moves
    its thumbnail by half a pixel or less, and any copy resized by 0.5-2x has a thumbnail of the
    same size, so the canvas and shrink probes would only multiply the rows to search.

    The rows are written into one array, ``VIEW_CHUNK`` thumbnails at a time: on 100,000 tiny
    images, products over whole groups and a concatenation of their results took 40% more time.
    """
    flags = [False] * len(thumbs) if reduced is None else list(reduced)
    groups = [
        (members, _resampled_views(h, w, small), () if small else CANVAS_MOVES)
        for ((h, w), small), members in _by_shape(thumbs, flags).items()
    ]
    total = sum(len(members) * (len(maps) + len(moves)) for members, maps, moves in groups)
    rows = np.empty((total, VIEW_SIDE * VIEW_SIDE), dtype=np.float32)
    owners, probes = [], []
    start = 0
    for members, maps, moves in groups:
        count = len(maps) + len(moves)
        block = rows[start : start + len(members) * count].reshape(
            count, len(members), VIEW_SIDE, VIEW_SIDE
        )
        for first in range(0, len(members), VIEW_CHUNK):
            chunk = members[first : first + VIEW_CHUNK]
            stack = np.stack([thumbs[i] for i in chunk]).astype(np.float32)
            out = block[:, first : first + len(chunk)]
            for (down, across, _probe), target in zip(maps, out[: len(maps)], strict=True):
                target[:] = separable(stack, down, across)
            if moves:
                _canvas_views(stack, out[len(maps) :])
        owners += [members] * count
        probes += [np.full(len(members), probe) for _down, _across, probe in maps]
        probes += [np.full(len(members), move != (0, 0)) for move in moves]
        start += len(members) * count
    return rows, np.concatenate(owners), np.concatenate(probes)


def _resampled_views(h: int, w: int, small: bool) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    """(down, across, probe) of the views of an h x w thumbnail taken by ``separable``: the frame,
    then the frame trimmed by ``TRIM`` pixels and, as a probe, by one more (if ``small``) or the
    frame shrunk by each of ``SCALE_PROBES`` (if not)."""
    maps = [(resampler(h, VIEW_SIDE), resampler(w, VIEW_SIDE), False)]
    if small:
        return maps + [
            (_trimmed(h, margin), _trimmed(w, margin), margin > TRIM) for margin in (TRIM, TRIM + 1)
        ]
    for factor in SCALE_PROBES:  # shrink, then view: one product per axis
        rows_in, columns_in = max(1, round(h * factor)), max(1, round(w * factor))
        down = resampler(rows_in, VIEW_SIDE) @ resampler(h, rows_in)
        across = resampler(columns_in, VIEW_SIDE) @ resampler(w, columns_in)
        maps.append((down, across, True))
    return maps


def _canvas_views(stack: np.ndarray, out: np.ndarray) -> None:
    """(m, h, w) thumbnails centred on the 2 x ``VIEW_SIDE`` canvas and moved by each of
    ``CANVAS_MOVES``, as the means of the canvas's 2x2 blocks, into ``out`` (moves, m,
    VIEW_SIDE, VIEW_SIDE); the share of a block the thumbnail does not cover takes the median
    of its border. Sums of strided slices, not matrix products: a quarter of the time."""
    m, h, w = stack.shape
    side = 2 * VIEW_SIDE
    canvas = np.zeros((m, side + 2, side + 2), dtype=np.float32)  # a blank pixel all round
    cover = np.zeros((1, side + 2, side + 2), dtype=np.float32)
    top, left = (side - h) // 2 + 1, (side - w) // 2 + 1
    canvas[:, top : top + h, left : left + w] = stack
    cover[:, top : top + h, left : left + w] = 1
    border = np.concatenate([stack[:, 0], stack[:, -1], stack[:, :, 0], stack[:, :, -1]], axis=1)
    fill = np.median(border, axis=1)[:, None, None]
    for (dy, dx), target in zip(CANVAS_MOVES, out, strict=True):
        target[:] = _block_means(canvas, dy, dx)
        target += fill * (1 - _block_means(cover, dy, dx))


def _block_means(canvas: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Means of the 2x2 blocks of (m, 2 x VIEW_SIDE + 2, same) canvases (a blank pixel all
    round) with their content moved by (dy, dx) pixels, at most one; what moves off is lost."""
    end = 2 * VIEW_SIDE
    rows = canvas[:, 1 - dy : end + 1 - dy : 2] + canvas[:, 2 - dy : end + 2 - dy : 2]
    return 0.25 * (rows[:, :, 1 - dx : end + 1 - dx : 2] + rows[:, :, 2 - dx : end + 2 - dx : 2])


def _trimmed(side: int, margin: int) -> np.ndarray:
    """(VIEW_SIDE, side) weights that drop ``margin`` pixels at each end of a line and
    resample the rest to ``VIEW_SIDE``."""
    inner = max(1, side - 2 * margin)
    start = (side - inner) // 2
    weights = np.zeros((VIEW_SIDE, side), dtype=np.float32)
    weights[:, start : start + inner] = resampler(inner, VIEW_SIDE)
    return weights


def _standardise(rows: np.ndarray) -> None:
    """Each float32 row to zero mean and unit norm, in place (the rows of 100,000 tiny images
    take 800 MB; a copy would double it)."""
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        part -= part.mean(axis=1, keepdims=True)
        part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-6)


def candidate_pairs(
    rows: np.ndarray, owners: np.ndarray, probes: np.ndarray, relaxed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Owner pairs (i < j) of views that share a SimHash band, are not both probes and
    correlate at ``CANDIDATE_CORRELATION`` or more, shape (m, 2), with the best correlation of
    their views (the nearest partners are judged first, ``_nearest``).

    Rows are standardised and the mean of the non-probe rows (shrunk, ``CENTRE_PRIOR``) is
    taken off before hashing, so the random hyperplanes cut through the data rather than past
    it: on the digits this shrinks the largest bucket of a band from 791 to 162 of 21,000 rows.
    Within a bucket, rows are ordered by their whole signature and each is paired with the next
    ``MAX_RUN_STEP``: one sort by signature, then per band a stable (radix) sort by the band's
    key alone, the same order as a three-key sort per band, which took 2.3 s of this function's
    10 s on 100,000 tiny images. Signature distances are taken between all neighbours at once:
    gathering the words of the pairs left was slower. Correlations are taken on the float32
    rows themselves: a half-precision copy took another 2.5 s.
    """
    _standardise(rows)
    base = np.sum(rows, axis=0, where=~probes[:, None]) / ((~probes).sum() + CENTRE_PRIOR)
    projections = _projections(rows.shape[1])
    signatures = np.empty((len(rows), BANDS * BAND_BITS // 8), dtype=np.uint8)
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        signatures[start : start + CHUNK] = np.packbits(
            (part - base) @ projections > 0, axis=1, bitorder="little"
        )
    keys = signatures.view(f"<u{BAND_BITS // 8}")
    words = signatures.view("<u8")
    by_signature = np.lexsort(words.T[::-1])
    found = [np.zeros((0, 2), dtype=np.int64)]
    correlations = [np.zeros(0, dtype=np.float32)]
    for band in range(keys.shape[1]):
        order = by_signature[np.argsort(keys[by_signature, band], kind="stable")]
        ordered, sorted_words = keys[order, band], words[order].T.copy()
        sorted_owners, sorted_probes = owners[order], probes[order]
        for step in range(1, MAX_RUN_STEP + 1):
            same = ordered[:-step] == ordered[step:]
            if not same.any():
                break
            distance = sum(np.bitwise_count(w[:-step] ^ w[step:]) for w in sorted_words)
            alive = np.flatnonzero(
                same
                & (distance <= MAX_SIGNATURE_DISTANCE)
                & (sorted_owners[:-step] != sorted_owners[step:])
                & ~(sorted_probes[:-step] & sorted_probes[step:])
            )
            a, b = order[alive], order[alive + step]
            dots = np.einsum("ij,ij->i", rows[a], rows[b])
            threshold = CANDIDATE_CORRELATION
            if relaxed is not None:
                threshold = np.where(
                    relaxed[a] & relaxed[b], CANDIDATE_CORRELATION_REDUCED, CANDIDATE_CORRELATION
                )
            close = dots >= threshold
            a, b = owners[a[close]], owners[b[close]]
            found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
            correlations.append(dots[close])
    pairs, scores = np.concatenate(found), np.concatenate(correlations)
    order = np.lexsort((-scores, pairs[:, 1], pairs[:, 0]))  # each pair's best view first
    pairs, scores = pairs[order], scores[order]
    first = np.r_[True, (pairs[1:] != pairs[:-1]).any(axis=1)] if len(pairs) else []
    return pairs[first], scores[first]


def _overlap_correlations(big: np.ndarray, small: np.ndarray, reach: int = REACH) -> np.ndarray:
    """Best correlation over offsets of ``small`` inside ``big`` (and up to ``reach`` beyond),
    each computed on the overlap alone (``detail.overlap_scores``); -1 where no offset overlaps
    enough."""
    _, hb, wb = big.shape
    _, hs, ws = small.shape
    offsets = [
        (dy, dx)
        for dy in range(-reach, hb - hs + reach + 1)
        for dx in range(-reach, wb - ws + reach + 1)
    ]
    return detail.overlap_scores(big, small, offsets).max(axis=1, initial=-1.0)


def detail_correlations(thumbs: Sequence[np.ndarray], pairs: np.ndarray) -> np.ndarray:
    """Correlation of each pair's thumbnails at full detail, at their best offset; thumbnails of
    different sizes are compared at each one's size in turn, keeping the better."""
    result = np.zeros(len(pairs))
    kinds: dict[tuple, list[int]] = defaultdict(list)
    for k, (i, j) in enumerate(pairs.tolist()):
        kinds[(thumbs[i].shape, thumbs[j].shape)].append(k)
    for (shape_i, shape_j), members in kinds.items():
        chosen = pairs[members]
        first = np.stack([thumbs[i] for i in chosen[:, 0]]).astype(np.float32)
        second = np.stack([thumbs[j] for j in chosen[:, 1]]).astype(np.float32)
        if shape_i[0] * shape_i[1] < shape_j[0] * shape_j[1]:
            first, second, shape_i, shape_j = second, first, shape_j, shape_i
        if shape_j[0] >= 0.9 * shape_i[0] and shape_j[1] >= 0.9 * shape_i[1]:  # a crop at most
            result[members] = _overlap_correlations(first, second)
        else:
            result[members] = np.maximum(
                _overlap_correlations(resample(first, *shape_j), second),
                _overlap_correlations(first, resample(second, *shape_i)),
            )
    return result


class Found(NamedTuple):
    """What the near-duplicate search found, and what its budget left undone."""

    groups: list[list[int]]
    """Indices of images that look the same, groups of two or more, each member a match of its
    group's representative (``_star_labels``)."""
    unjudged: int
    """Candidate pairs among each image's ``MAX_PARTNERS`` nearest left unjudged when the
    ``ALLOWANCE`` ran out (the profile gives a notice). Partners beyond the nearest are not
    counted: leaving them is the rule, not the budget running out."""


def near_duplicate_groups(
    thumbs: Sequence[np.ndarray],
    reduced: Sequence[bool] | None = None,
    originals: Originals | None = None,
    progress: Progress = SILENT,
) -> Found:
    """Images that look the same, in groups of two or more.

    ``thumbs`` are the 2-D uint8 thumbnails of ``advisor.data.images`` (any size up to
    ``THUMB_SIDE``); ``reduced`` says which come from images at least twice that size (see
    ``views``). With ``originals``, a candidate pair of two images larger than their thumbnails
    is judged on the images themselves (``advisor.data.detail``), unless neither has detail
    beyond its thumbnail (``Originals.held``): then at the thumbnails' scale
    (``advisor.data.detail.held_alike``). Identical thumbnails are merged before the search, so
    a thousand copies of one picture cost one row rather than half a million pairs; blank ones
    group only with identical ones. ``progress`` hears of the search and of the pairs judged.
    """
    for thumb in thumbs:
        if thumb.ndim != 2 or max(thumb.shape) > THUMB_SIDE or min(thumb.shape) < 1:
            raise ValueError(f"expected 2-D thumbnails of at most {THUMB_SIDE} px a side")
    if len(thumbs) < 2:
        return Found([], 0)
    progress.stage("looking for near duplicates", len(thumbs), "images")
    first: dict[tuple, int] = {}
    merged = np.array(
        [first.setdefault((t.shape, t.tobytes()), len(first)) for t in thumbs], dtype=np.int64
    )
    firsts = np.unique(merged, return_index=True)[1]
    unique = [thumbs[i] for i in firsts]
    flags = [False] * len(thumbs) if reduced is None else list(reduced)
    textured = np.flatnonzero(_spreads(unique) >= MIN_CONTRAST).tolist()
    candidates = np.zeros((0, 2), dtype=np.int64)
    scores = np.zeros(0, dtype=np.float32)
    if len(textured) >= 2:
        kept = [unique[i] for i in textured]
        kept_flags = [flags[firsts[i]] for i in textured]
        rows, owners, probes = views(kept, kept_flags)
        relaxed = np.asarray(kept_flags, dtype=bool)[owners]
        found, scores = candidate_pairs(rows, owners, probes, relaxed)
        candidates = np.asarray(textured, dtype=np.int64)[found]
    progress.advance(len(thumbs))
    judge = _Judge(firsts, unique, originals)
    nearest = _nearest(candidates, scores, MAX_PARTNERS)
    pairs, judged = judge.within_budget(
        candidates[nearest], _allowance(originals, len(thumbs)), progress
    )
    labels = _star_labels(pairs, len(unique))
    return Found(groups_of(labels[merged]), len(nearest) - judged)


def _allowance(originals: Originals | None, images: int) -> float:
    """The judging's budget for these images (``ALLOWANCE``)."""
    if originals is None:
        return ALLOWANCE["thumbnail"] * images
    larger = sum(max(size) > THUMB_SIDE for size in originals.sizes)
    return ALLOWANCE["larger"] * larger + ALLOWANCE["thumbnail"] * (images - larger)


def _nearest(pairs: np.ndarray, scores: np.ndarray, partners: int) -> np.ndarray:
    """Indices of the pairs that are among the ``partners`` best-scored of either of their
    images, in the order they are judged: every image's nearest partner first, then every
    image's second, and so on, best-scored first within each round. However alike a
    catalogue's images are, at most ``partners`` x images pairs are judged in all (an image
    that is many others' nearest is in more than ``partners`` of them), and when the budget runs
    out (``ALLOWANCE``) it is the farther partners that are left."""
    order = np.argsort(-scores, kind="stable")
    ends = pairs[order].T.ravel()  # every pair twice, once under each of its images
    # within an image, best-scored first (a stable sort of ``ends`` alone would put the pairs
    # where the image comes first ahead of those where it comes second)
    by_image = np.lexsort((np.tile(np.arange(len(order)), 2), ends))
    starts = np.r_[0, np.flatnonzero(np.diff(ends[by_image])) + 1]
    rank = np.empty(len(ends), dtype=np.int64)
    rank[by_image] = np.arange(len(ends)) - np.repeat(starts, np.diff(np.r_[starts, len(ends)]))
    best = np.minimum(rank[: len(order)], rank[len(order) :])
    kept = np.flatnonzero(best < partners)
    return order[kept[np.argsort(best[kept], kind="stable")]]


class _Judge:
    """Judges candidate pairs (indices into ``unique``, the distinct thumbnails, whose first
    occurrences among all thumbnails are ``firsts``), each by the cheapest test that can tell
    (``COSTS``)."""

    def __init__(
        self, firsts: np.ndarray, unique: Sequence[np.ndarray], originals: Originals | None
    ) -> None:
        self.firsts, self.unique, self.originals = firsts, unique, originals
        n = len(unique)
        self.larger = np.zeros(n, dtype=bool)
        self.held = np.zeros(n, dtype=bool)
        self.registrable = np.array([min(thumb.shape) >= 2 for thumb in unique], dtype=bool)
        self.sizes: list[tuple[int, int]] = []
        if originals is not None:
            self.sizes = [originals.sizes[i] for i in firsts.tolist()]
            self.larger = np.array([max(size) > THUMB_SIDE for size in self.sizes], dtype=bool)
            if len(originals.held):
                self.held = np.asarray(originals.held, dtype=bool)[firsts]

    def within_budget(
        self, pairs: np.ndarray, allowance: float, progress: Progress = SILENT
    ) -> tuple[np.ndarray, int]:
        """The pairs, taken in order ``JUDGED_AT_ONCE`` at a time, that are near duplicates,
        and how many were judged before the cost (``COSTS``) of the pairs found not to be
        passed ``allowance`` (looked at between batches, so a batch's worth over at most).
        Pairs found to be copies are not charged: they are what the search is for, and at most
        ``MAX_PARTNERS`` x images pairs are judged in all; it is rejecting look-alikes that has
        no bound of its own."""
        progress.stage("judging look-alike pairs", len(pairs), "pairs")
        close, spent, judged = [], 0.0, 0
        for start in range(0, len(pairs), JUDGED_AT_ONCE):
            if spent >= allowance:
                progress.note(
                    f"near-duplicate search: its budget is spent, {len(pairs) - judged:,} "
                    "candidate pairs of look-alikes left unjudged"
                )
                break
            batch = pairs[start : start + JUDGED_AT_ONCE]
            same, costs = self.judged(batch)
            close.append(batch[same])
            spent += float(costs[~same].sum())
            judged += len(batch)
            progress.advance(len(batch))
        found = np.concatenate(close) if close else np.zeros((0, 2), dtype=np.int64)
        return found, judged

    def judged(self, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which pairs are near duplicates, and what judging each cost in ``COSTS`` units."""
        close = np.zeros(len(pairs), dtype=bool)
        large = self.larger[pairs].all(axis=1)
        held = large & self.held[pairs].all(axis=1) & self.registrable[pairs].all(axis=1)
        detailed = large & ~held
        small = ~large
        costs = np.where(detailed, COSTS["registered"], COSTS["thumbnails"])
        if small.any():
            correlations = detail_correlations(self.unique, pairs[small])
            close[small] = correlations >= NEAR_DUPLICATE_CORRELATION
        if held.any():
            found = detail.held_alike(pairs[held], self.unique, self._originals())
            close[held] = found.same
            costs[held] += (COSTS["registered"] - COSTS["thumbnails"]) * found.registered + COSTS[
                "decoded"
            ] * found.decoded
        if detailed.any():
            assert self.originals is not None
            rows = np.flatnonzero(detailed)
            rows = rows[detail.coarsely_alike(pairs[rows], self.unique, self.sizes)]
            if len(rows):
                close[rows] = detail.confirmed(self.firsts[pairs[rows]], self.originals)
            costs[rows] += COSTS["decoded"]
        return close, costs

    def _originals(self) -> Originals:
        """``originals`` indexed as the distinct thumbnails are."""
        assert self.originals is not None
        load, firsts = self.originals.load, self.firsts
        return Originals(self.sizes, lambda k: load(int(firsts[k])), self.held)


def _star_labels(pairs: np.ndarray, n: int) -> np.ndarray:
    """A group label for each of ``n`` thumbnails, from the pairs judged near duplicates.

    The thumbnail with the most matches is a representative and takes its matches not yet
    taken, then the next, so a chain of look-alikes, each close to the next, is never one group.
    A thumbnail left over, all of whose matches were taken, joins the group holding most of
    them: the copies of one picture are not all judged against each other (each image's
    ``MAX_PARTNERS`` nearest only), and an original can match two of its copies and
    not the third that became their representative. So every member of a group matched its
    representative or a member that did; unmatched thumbnails keep their own label."""
    labels = np.arange(n)
    if not len(pairs):
        return labels
    matches: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs.tolist():
        matches[a].add(b)
        matches[b].add(a)
    taken: set[int] = set()
    for rep in sorted(matches, key=lambda i: (-len(matches[i]), i)):
        if rep in taken:
            continue
        members = matches[rep] - taken
        if members:
            labels[list(members)] = rep
            taken |= members | {rep}
    starred = labels.copy()
    for left in sorted(set(matches) - taken):  # every match of a left-over is taken
        held = Counter(int(starred[m]) for m in matches[left])
        labels[left] = min(held, key=lambda label: (-held[label], label))
    return labels


def _spreads(thumbs: Sequence[np.ndarray]) -> np.ndarray:
    """The pixel standard deviation of each thumbnail, a stack of each shape at a time (one
    call per thumbnail took 1.5 s on 100,000)."""
    result = np.zeros(len(thumbs))
    for members in _by_shape(thumbs, [False] * len(thumbs)).values():
        for start in range(0, len(members), VIEW_CHUNK):
            chunk = members[start : start + VIEW_CHUNK]
            stack = np.stack([thumbs[i] for i in chunk]).reshape(len(chunk), -1)
            result[chunk] = stack.std(axis=1, dtype=np.float32)
    return result


def groups_of(keys: Sequence | np.ndarray) -> list[list[int]]:
    """Indices sharing a key, for every key held by two or more indices, in order of first index.

    Sorting (numpy) rather than a dict of lists: 100,000 keys, nearly all unique, would otherwise
    build 100,000 one-element lists.
    """
    keys = np.asarray(keys)
    if keys.size < 2:
        return []
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(ordered)])
    shared = sizes > 1
    groups = [order[a : a + n].tolist() for a, n in zip(starts[shared], sizes[shared], strict=True)]
    return sorted(groups, key=lambda group: group[0])
