"""Shared helpers for the test suite: small images with real structure and tiny datasets.

Every dataset is built under a temporary folder; nothing here touches the network.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from advisor.analyze import analyze
from advisor.schema import Profile


def smooth_noise(seed: int, side: int = 64, grid: int = 6, mode: str = "RGB") -> Image.Image:
    """Random values on a ``grid`` x ``grid`` lattice upscaled bicubically to ``side``: an image
    with real, seed-specific structure (distinct seeds give perceptually distinct images)."""
    rng = np.random.default_rng(seed)
    channels = 3 if mode == "RGB" else 1
    small = rng.integers(0, 256, (grid, grid, channels), dtype=np.uint8)
    img = Image.fromarray(small if channels == 3 else small[:, :, 0])
    return img.resize((side, side), Image.Resampling.BICUBIC)


def write_png(path: Path, seed: int, side: int = 64, mode: str = "RGB") -> Path:
    """Write a structured PNG (see ``smooth_noise``), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    smooth_noise(seed, side, mode=mode).save(path, format="PNG")
    return path


def png_bytes(seed: int, side: int = 32) -> bytes:
    buf = io.BytesIO()
    smooth_noise(seed, side).save(buf, format="PNG")
    return buf.getvalue()


def make_class_folders(root: Path, counts: Mapping[str, int], seed: int = 0) -> list[Path]:
    """``root/<class>/img_<i>.png`` with ``counts[class]`` distinct images per class."""
    paths = []
    for name, n in counts.items():
        for i in range(n):
            paths.append(write_png(root / name / f"img_{i}.png", seed))
            seed += 1
    return paths


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def oversized_png_bytes(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG whose (valid, correctly checksummed) IHDR claims ``width`` x ``height`` 8-bit RGB
    pixels, followed by a tiny IDAT that holds only one row: decoding it all would need
    width * height * 3 bytes, so a reader that allocates the image would be caught."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" + b"\x00" * (3 * 8))
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def profile_of(
    data: Path | None,
    unlabeled: Iterable[Path] = (),
    manifest: Path | None = None,
) -> Profile:
    """The profile of a dataset through the Python API (faster than the CLI)."""
    return analyze(data, list(unlabeled), manifest).profile


def problems(profile: Profile, kind: str) -> list[list[str]]:
    """The path lists of the problems of one kind, each sorted, in report order."""
    return [sorted(p.paths) for p in profile.problems if p.kind == kind]


def notice_paths(profile: Profile, kind: str) -> list[str] | None:
    """The paths of the notice of one kind (sorted), or None when there is no such notice."""
    for notice in profile.notices:
        if notice.kind == kind:
            return sorted(notice.paths)
    return None


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every entry below root, hidden ones included, with its size and modification time (ns)."""
    result = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            result[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return result


@pytest.fixture
def class_dataset(tmp_path: Path) -> Path:
    """A small labeled dataset: cat 3, dog 2 images (distinct, 64x64 RGB PNG)."""
    root = tmp_path / "data"
    make_class_folders(root, {"cat": 3, "dog": 2})
    return root


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    """``img`` saved in ``fmt`` to bytes."""
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


class _TimeLimit(Exception):
    pass


@pytest.fixture
def time_limit():
    """``with time_limit(s):`` fails the test (instead of hanging it) after ``s`` seconds."""
    import signal
    from contextlib import contextmanager

    @contextmanager
    def limit(seconds: float):
        def expire(signum, frame):
            raise _TimeLimit(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return limit
