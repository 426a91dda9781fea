"""Fixtures shared by the test suite; the helpers they use are in ``helpers``.

Three of them guard every test: no test reaches the network, reads this machine's weight
caches, or writes into the user's feature cache or experience store.
"""

from __future__ import annotations

import json
import re
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest
from helpers import invoke, make_class_folders, use_hf_cache, use_torch_cache, write_png


@pytest.fixture(scope="session")
def _private_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("private")


@pytest.fixture
def _private(_private_root: Path, request: pytest.FixtureRequest) -> Path:
    """A folder of this test's own, not created until something writes there (creating a
    temporary folder for each of several hundred tests costs seconds)."""
    return _private_root / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)


@pytest.fixture(autouse=True)
def offline(_private: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point both weight caches at empty folders, so no test depends on this machine's caches,
    and make any attempt to open a connection fail the test at once."""
    use_torch_cache(monkeypatch, _private / "torch-home")
    use_hf_cache(monkeypatch, _private / "hf-home")

    connect = socket.socket.connect

    def local_only(sock: socket.socket, address: object) -> None:
        # Unix-domain sockets stay: worker processes talk to their parent through them
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network access attempted: {address}")
        connect(sock, address)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", local_only)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(autouse=True)
def private_cache(_private: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The feature cache of this test alone."""
    cache = _private / "cache"
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def experience_store(_private: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The experience store of this test alone."""
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(_private / "store"))
    return _private / "store" / "experience.jsonl"


@pytest.fixture
def class_dataset(tmp_path: Path) -> Path:
    """A small labeled dataset: cat 3, dog 2 images (distinct, 64x64 RGB PNG)."""
    root = tmp_path / "data"
    make_class_folders(root, {"cat": 3, "dog": 2})
    return root


@pytest.fixture
def probe_dataset(tmp_path: Path) -> Path:
    """Enough for every probe at a low resolution: three classes in train/, and unlabeled/."""
    data = tmp_path / "data"
    make_class_folders(data / "train", {"cat": 12, "dog": 12, "fox": 6})
    for i in range(14):
        write_png(data / "unlabeled" / f"u{i}.png", 500 + i)
    return data


@pytest.fixture(scope="session")
def schemas() -> dict[str, dict]:
    """The JSON Schemas of the documents the tests read, as ``advisor schema`` prints them."""
    result = {}
    for name in ("analyze", "demo", "decision", "pilot"):
        res = invoke("schema", name)
        assert res.exit_code == 0, res.stderr
        schema = json.loads(res.stdout)
        jsonschema.Draft202012Validator.check_schema(schema)
        result[name] = schema
    return result


class _TimeLimit(Exception):
    pass


@pytest.fixture
def time_limit() -> Callable[[float], object]:
    """``with time_limit(s):`` fails the test (instead of hanging it) after ``s`` seconds."""

    @contextmanager
    def limit(seconds: float) -> Iterator[None]:
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
