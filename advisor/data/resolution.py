"""How much of an image's detail its near-duplicate thumbnail holds.

An image enlarged from a small original (a 28 px catalogue photo served at 256 px) carries no
detail beyond that original, and its 32 px thumbnail (``advisor.data.images.THUMB_SIDE``) holds
all there is to compare. Judged again at 128 px, two such look-alikes are smooth everywhere and
agree closely at every scale the detail stage looks at, so distinct items of one cut passed as
copies (issue 29). So each image large enough to have been reduced for its thumbnail is read at
``SIDE`` px, and the share of its variance at frequencies the thumbnail cannot represent is
kept: where it is small, the image's effective resolution is the thumbnail's, and a pair of such
images is judged there, as the thumbnail path judges 28 px images.

The share is taken on the power spectrum under a Hann window, which keeps the jump between
opposite edges (the spectrum is periodic) from reading as detail. Medians over the development
sets of ``benchmarks/near_duplicates.py``: MNIST digits enlarged to 256 px (bicubic, JPEG
quality 90) 0.0018 and to 280 px (PNG) 0.0013, synthetic trousers enlarged from 28 px 0.0025,
photo and texture tiles of 96 and 160 px 0.024 and 0.030, solar cells of 300 px 0.093 (1st
percentile 0.0055).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

import numpy as np

FINE_SHARE = 0.01
"""Largest share of fine detail at which an image's thumbnail holds all it has. Under it: every
synthetic trouser of the development catalogue (largest 0.0084) and all but 3 of the 20,000
MNIST digits enlarged to 256 px (largest 0.011), with all their planted copies; 84 of the 2,624
solar cells (the smoothest), and 153 of 475 photo tiles of 96 px (smooth patches of sky, skin
and wall). At 0.005, 377 of the enlarged digits were left to the detail stage."""
SIDE = 64
"""Side of the square an image's share of fine detail is measured on: twice the thumbnail's, so
the band above the thumbnail's resolution is there to be measured."""


@cache
def _window() -> np.ndarray:
    return np.outer(np.hanning(SIDE), np.hanning(SIDE)).astype(np.float32)


@cache
def _counted() -> np.ndarray:
    """How often the full spectrum holds each column of the half spectrum (rfft2 of a ``SIDE``
    square): twice but for the constant and the last."""
    counted = np.full((SIDE, SIDE // 2 + 1), 2.0, dtype=np.float32)
    counted[:, [0, -1]] = 1.0
    return counted


@cache
def _beyond(rows: int, columns: int) -> np.ndarray:
    """``_counted`` at the frequencies a thumbnail of ``rows`` x ``columns`` cannot hold, 0
    elsewhere."""
    down = np.abs(np.fft.fftfreq(SIDE) * SIDE)[:, None] > rows / 2
    across = (np.fft.rfftfreq(SIDE) * SIDE)[None, :] > columns / 2
    return (down | across) * _counted()


def fine_shares(squares: Sequence[bytes], thumb_shapes: Sequence[tuple[int, int]]) -> np.ndarray:
    """For each ``SIDE`` x ``SIDE`` uint8 grayscale square (the image resampled to it, whatever its
    aspect), the share of its windowed variance above what a thumbnail of the given (rows,
    columns) holds; 0 for a flat square. All squares go through one FFT of the stack: image by
    image, numpy's call overhead would cost more than the transform."""
    from scipy import fft  # imported here: only decoding workers with large images need it

    n = len(squares)
    if n == 0:
        return np.zeros(0)
    stack = np.frombuffer(b"".join(squares), dtype=np.uint8).reshape(n, SIDE, SIDE)
    stack = stack.astype(np.float32)
    window = _window()
    stack -= np.einsum("nij,ij->n", stack, window)[:, None, None] / window.sum()
    stack *= window  # the windowed mean taken off first: no constant term left to count
    power = np.abs(fft.rfft2(stack)) ** 2
    total = np.einsum("nij,ij->n", power, _counted())
    result = np.zeros(n)
    by_shape: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, shape in enumerate(thumb_shapes):
        by_shape[shape].append(i)
    for (rows, columns), members in by_shape.items():
        high = np.einsum("nij,ij->n", power[members], _beyond(rows, columns))
        result[members] = np.where(total[members] > 0, high / np.maximum(total[members], 1e-12), 0)
    return result
