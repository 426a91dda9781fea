"""Resampling stacks of small grayscale images as matrix products: every view of the
near-duplicate search and every registration of its detail stage is one linear map per axis."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1024)
def resampler(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights that resample a line of ``n_in`` pixels to ``n_out``: a triangle
    kernel as wide as the output pixel when shrinking (antialiased, like Pillow's bilinear) and
    as wide as an input pixel when enlarging."""
    step = n_in / n_out
    centres = (np.arange(n_out) + 0.5) * step
    width = max(1.0, step)
    weights = np.maximum(0.0, 1 - np.abs(centres[:, None] - (np.arange(n_in) + 0.5)) / width)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def resample(stack: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(m, h, w) images resampled to (m, rows, columns), float32."""
    _, h, w = stack.shape
    return separable(stack, resampler(h, rows), resampler(w, columns))


def separable(stack: np.ndarray, down: np.ndarray, across: np.ndarray) -> np.ndarray:
    """``down @ image @ across.T`` for each of (m, h, w) images, as two large matrix products
    (a batched product of small matrices costs several times more)."""
    m, h, w = stack.shape
    half = np.asarray(stack, dtype=np.float32).reshape(m * h, w) @ across.T
    half = half.reshape(m, h, -1).transpose(0, 2, 1).reshape(-1, h) @ down.T
    return half.reshape(m, across.shape[0], down.shape[0]).transpose(0, 2, 1)


@lru_cache(maxsize=1024)
def shifter(n: int, offset: float) -> np.ndarray:
    """(n, n) weights that move a line of ``n`` pixels by ``offset`` (under one pixel either
    way) with linear interpolation, repeating the end pixel where the line runs out."""
    positions = np.clip(np.arange(n) - offset, 0, n - 1)
    below = np.floor(positions).astype(int)
    above = np.minimum(below + 1, n - 1)
    share = positions - below
    weights = np.zeros((n, n), dtype=np.float32)
    np.add.at(weights, (np.arange(n), below), 1 - share)
    np.add.at(weights, (np.arange(n), above), share)
    return weights
