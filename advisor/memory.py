"""Process-wide allocator settings for running networks on the CPU.

PyTorch's CPU tensors come from the C library's ``malloc``. glibc serves every block above its
mmap threshold (at most 32 MiB by default) with a fresh ``mmap`` and returns it on ``free``, so
the large activations of a batch are mapped, zero-filled page by page and unmapped again in every
forward pass. On two cores at 160 px, batch 64, that was 4,300 page faults per image and over a
third of the forward pass's CPU time spent in the kernel (2,000 images through
EfficientNet-Lite0: 25.1 s, 16.3 s of it system time; with the settings below 15.3 s and 0.4 s).
The price: memory freed after the largest batch stays with the process (up to 1 GiB) until it
ends.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP = 1 << 30
"""Blocks up to 1 GiB come from the heap, and up to 1 GiB of freed heap stays mapped."""


def keep_freed_memory() -> bool:
    """Ask glibc to serve large blocks from the heap and not to hand freed memory back at once.
    Returns whether the settings took effect (False off glibc: macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # the symbols already loaded into this process, libc's among them: no library search,
        # which would start a subprocess (ldconfig) on every command
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP))
