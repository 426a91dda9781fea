"""The allocator settings: page faults of repeated large allocations, and where they apply."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from advisor import memory

FAULTS = """
import json, resource, torch
from advisor.memory import keep_freed_memory

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(16):
        torch.empty(16 * 2**20).fill_(1.0)  # 64 MiB, above glibc's largest mmap threshold
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
plain = faults()
kept = keep_freed_memory()
faults()
print(json.dumps({"plain": plain, "kept": kept, "after": faults()}))
"""


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc",
    reason="glibc only",
)
def test_large_blocks_stop_faulting_once_freed_memory_is_kept() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out)
    assert result["kept"] is True
    # each plain 64 MiB block is mapped and touched afresh: 16,384 faults per allocation; kept,
    # most allocations reuse freed heap (now and then one more grows the heap: 0-2 of 16 seen)
    assert result["plain"] > 16 * 10_000
    assert result["after"] < result["plain"] / 4


def test_nothing_is_set_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.keep_freed_memory() is False


def test_a_c_library_without_mallopt_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.sys, "platform", "linux")
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda _name: object())
    assert memory.keep_freed_memory() is False
