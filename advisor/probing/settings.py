"""Options of the probes stage, kept apart from the stage itself so that the command line can
build them without importing torch (seconds of start-up that --no-probes should not pay)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProbeSettings:
    backbone: str = "auto"
    sample: int = 2000
    reference: Path | None = None
    device: str = "auto"
    cache: bool = True
    seed: int = 0
    resolution: int | None = None
