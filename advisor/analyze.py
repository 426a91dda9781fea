"""The ``analyze`` service: scan → read every file → profile → probes (→ advice, later)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from pathlib import Path

from advisor import __version__
from advisor.decide import features_from_analysis, recommend
from advisor.output import check_output_path
from advisor.profile import build_profile
from advisor.scan import Discovery, discover, inspect_all
from advisor.schema import Analysis
from advisor.settings import ProbeSettings


def analyze(
    data: Path | None,
    unlabeled: Sequence[Path] = (),
    manifest: Path | None = None,
    seed: int = 0,
    decode: bool = True,
    output: Path | None = None,
    probes: ProbeSettings | None = None,
    on_stage: Callable[[str, int, str], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Analysis:
    """Profile a dataset, then probe it with a backbone unless ``probes`` is None.

    ``on_stage`` hears when a stage starts (description, items, unit) and ``on_progress`` how
    many items finished since it was last called, so a caller can draw progress bars.
    ``decode=False`` is the quick profile: headers, format checksums and exact duplicates only.
    ``output`` is checked (writable, outside every folder holding the data) before any file is
    read, so a long scan never ends on an unwritable path."""
    found = discover(data, unlabeled, manifest)
    if output is not None:
        check_output_path(output, data_folders(found, data, unlabeled), inputs=[manifest])
    if on_stage:
        on_stage("reading files", len(found.entries), "files")
    facts = inspect_all([e.path for e in found.entries], decode, on_progress=on_progress)
    # A large dataset leaves hundreds of thousands of long-lived objects; without freezing them
    # the cyclic garbage collector re-scans them all while the profile is built (~40% of it).
    gc.freeze()
    try:
        profile = build_profile(found, facts, decoded=decode)
    finally:
        gc.unfreeze()
    measured = None
    if probes is not None:
        from advisor.probing import run_probes  # torch and timm: seconds to import, so only here

        usable = [i for i, f in enumerate(facts) if f.usable]
        measured = run_probes(
            found,
            facts,
            usable,
            probes,
            on_stage=(lambda name, n: on_stage(name, n, "images")) if on_stage else None,
            on_progress=on_progress,
        )
    analysis = Analysis(
        tool_version=__version__, seed=seed, profile=profile, probes=measured, recommendation=None
    )
    features = features_from_analysis(analysis)
    if features is None:
        return analysis
    return analysis.model_copy(update={"recommendation": recommend(features)})


def data_folders(found: Discovery, data: Path | None, unlabeled: Sequence[Path]) -> list[Path]:
    """The folders the tool must never write into: the ones given, and for a manifest the
    folders of the files it lists."""
    given = [p for p in (data, *unlabeled) if p is not None]
    return given + [Path(folder) for folder in found.manifest_folders]
