"""What a pilot is asked to do, checked before anything is read or trained. Imports no torch,
so that bad options are answered at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from advisor.errors import InputError
from advisor.pilot.budget import Budget
from advisor.schema.vocabulary import LINEAR_READING, PILOT_ARMS, SSL_METHODS, TRANSFER


@dataclass
class PilotSettings:
    data: Path | None
    unlabeled: Sequence[Path]
    manifest: Path | None
    budget: Budget
    paradigms: Sequence[str]
    method: str
    seeds: int
    backbone: str
    resolution: int | None
    out: Path
    resume: bool
    device: str
    devices: int
    seed: int = 0
    num_nodes: int = 1
    """Machines training together (``devices`` processes on each), as SLURM or torchrun
    started them."""
    chosen: bool = True
    """Whether the user named the paradigms (False: the default list, from which an arm the
    data cannot run, ``tl+st`` without unlabeled images, is left out with a note rather than
    refused)."""
    order: list[str] = field(init=False)
    """The arms to train, in training order: the paradigms asked for, and always transfer,
    since every difference is measured against it."""

    def __post_init__(self) -> None:
        unknown = [p for p in self.paradigms if p not in (*PILOT_ARMS, LINEAR_READING)]
        if unknown or not self.paradigms:
            raise InputError(
                f"{', '.join(unknown) or '(none given)'}: not an arm; choose among "
                "tl, tl+st, ssl, tl+ssl, scratch",
                "paradigms",
            )
        if self.method not in SSL_METHODS:
            raise InputError(f"must be simclr or byol, not {self.method!r}", "method")
        if self.seeds < 1:
            raise InputError("must be at least 1", "seeds")
        if self.devices < 1:
            raise InputError("must be at least 1", "devices")
        if self.num_nodes < 1:
            raise InputError("must be at least 1", "num-nodes")
        wanted = {*self.paradigms, TRANSFER}
        self.order = [arm for arm in PILOT_ARMS if arm in wanted]

    def sources(self) -> list[str]:
        """The folders and manifest the images come from, as the result records them."""
        return [str(p) for p in (self.data, *self.unlabeled, self.manifest) if p is not None]
