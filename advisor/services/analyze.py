"""The ``analyze`` service: scan → read every file → profile → probes → advice (→ combined with
a pilot's measurement, when one is given)."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from advisor import __version__
from advisor.output import check_output_paths
from advisor.probing.settings import ProbeSettings
from advisor.progress import SILENT, Progress
from advisor.schema.analysis import Analysis, Declared
from advisor.services.combine import combine, read_pilot, with_recommendation

if TYPE_CHECKING:
    from advisor.advice.settings import ComputeSettings


@dataclass(frozen=True)
class AnalyzeSettings:
    """``quick``: headers, format checksums and exact duplicates only, no decoding. ``probes``:
    None for the profile alone. ``output``: where the caller will write the result, checked
    before any file is read so that a long scan never ends on an unwritable path; ``html`` the
    same for the HTML page. ``pilot``: a
    pilot's result to combine with the literature's advice."""

    data: Path | None
    unlabeled: Sequence[Path] = ()
    manifest: Path | None = None
    seed: int = 0
    quick: bool = False
    output: Path | None = None
    html: Path | None = None
    probes: ProbeSettings | None = None
    pilot: Path | None = None
    declared: Declared = field(default_factory=Declared)
    compute: ComputeSettings | None = None


def analyze(settings: AnalyzeSettings, progress: Progress = SILENT) -> Analysis:
    """Profile a dataset, probe it with a backbone unless ``settings.probes`` is None, and
    advise on it when it has labeled images."""
    from advisor.data.profile import build_profile
    from advisor.data.scan import data_folders, discover, inspect_all

    s = settings
    pilot = read_pilot(s.pilot) if s.pilot is not None else None
    found = discover(s.data, s.unlabeled, s.manifest)
    folders = data_folders(found, s.data, s.unlabeled)
    check_output_paths({"output": s.output, "html": s.html}, folders, [s.manifest, s.pilot])
    progress.stage("reading files", len(found.entries), "files")
    decode = not s.quick
    facts = inspect_all([e.path for e in found.entries], decode, on_progress=progress.advance)
    # A large dataset leaves hundreds of thousands of long-lived objects; without freezing them
    # the cyclic garbage collector re-scans them all while the profile is built (~40% of it).
    gc.freeze()
    try:
        profile = build_profile(found, facts, decoded=decode, progress=progress)
    finally:
        gc.unfreeze()
    measured = None
    if s.probes is not None:
        from advisor.probing.stage import run_probes  # torch and timm: seconds to import

        usable = [i for i, f in enumerate(facts) if f.usable]
        measured = run_probes(found, facts, usable, s.probes, progress)
    analysis = Analysis(
        tool_version=__version__,
        seed=s.seed,
        profile=profile,
        probes=measured,
        declared=s.declared,
        recommendation=None,
    )
    analysis = with_recommendation(analysis, s.compute)
    return combine(analysis, pilot) if pilot is not None else analysis
