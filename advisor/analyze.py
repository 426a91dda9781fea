"""The ``analyze`` service: scan → read every file → profile (→ probes and advice, later)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from advisor import __version__
from advisor.profile import build_profile
from advisor.scan import discover, inspect_all
from advisor.schema import Analysis


def analyze(
    data: Path | None,
    unlabeled: Sequence[Path] = (),
    manifest: Path | None = None,
    seed: int = 0,
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Analysis:
    """Profile a dataset. ``on_total`` learns how many files will be read, ``on_progress`` how
    many finished since it was last called; both exist so a caller can draw a progress bar."""
    found = discover(data, unlabeled, manifest)
    if on_total:
        on_total(len(found.entries))
    facts = inspect_all([e.path for e in found.entries], on_progress=on_progress)
    return Analysis(tool_version=__version__, seed=seed, profile=build_profile(found, facts))
