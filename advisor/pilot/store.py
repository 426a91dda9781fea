"""The pilot's folder: the plan, every finished (arm, seed), the self-supervised checkpoints,
the teachers' pseudo-labels, and the final result.

Every finished unit is written atomically to ``OUT/units/``; the weights of an SSL arm go to
``OUT/checkpoints/`` as soon as its self-supervised phase ends, and so do the ``tl`` teacher's
labels of the unlabeled images, before its unit, so a resumed pilot repeats neither a finished
unit nor a finished phase, and trains ``tl+st`` without training its teacher again. The plan
is stored in ``OUT/plan.json`` with a fingerprint of the data and options it was made for, and
a resumed pilot reuses it as it is.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from pydantic import ValidationError

from advisor.errors import InputError
from advisor.output import write_atomically, write_bytes_atomically
from advisor.pilot.selftrain import Teaching
from advisor.pilot.settings import PilotSettings
from advisor.schema.pilot import CurvePoint, PilotPlan, UnitResult
from advisor.schema.vocabulary import TRANSFER


def fingerprint(
    digests: Sequence[bytes], labels: Sequence[str | None], settings: PilotSettings
) -> str:
    """What a stored plan must match to be resumed: the images, their labels, and the options
    that shape the runs."""
    h = hashlib.blake2b(digest_size=16)
    for part in (settings.backbone, settings.method, str(settings.seeds), str(settings.seed)):
        h.update(part.encode() + b"\0")
    h.update(",".join(settings.order).encode())
    for digest, label in zip(digests, labels, strict=True):
        h.update(digest + str(label).encode() + b"\0")
    return h.hexdigest()


class Store:
    """``writes``: False in every process of a multi-process pilot but the first, which alone
    prepares the folder and writes to it; the others only read (a resumed pilot's work)."""

    def __init__(self, out: Path, writes: bool = True) -> None:
        self.out = out
        self.writes = writes
        self.units = out / "units"
        self.checkpoints = out / "checkpoints"
        self.plan_file = out / "plan.json"

    def prepare(self, resume: bool, protected: Sequence[Path]) -> None:
        if not self.writes:
            return
        target = self.out.resolve()
        for folder in protected:
            if folder.resolve().is_dir() and target.is_relative_to(folder.resolve()):
                raise InputError(f"{self.out} is inside the data folder {folder}", "out")
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"{self.out} is a file; give a folder", "out")
        has_plan = self.plan_file.is_file()
        if resume and not has_plan:
            raise InputError(f"finds no pilot in {self.out} (no plan.json)", "resume")
        if not resume and self.out.is_dir() and any(self.out.iterdir()):
            hint = " (add `resume` to continue it)" if has_plan else ""
            raise InputError(f"{self.out} is not empty{hint}", "out")
        self.units.mkdir(parents=True, exist_ok=True)
        self.checkpoints.mkdir(parents=True, exist_ok=True)

    def save_plan(self, plan: PilotPlan, fingerprint: str) -> None:
        if not self.writes:
            return
        document = {"fingerprint": fingerprint, "plan": json.loads(plan.model_dump_json())}
        write_atomically(self.plan_file, json.dumps(document, indent=2))

    def load_plan(self, fingerprint: str) -> PilotPlan:
        """The stored plan, refused when the data or options differ from the ones it was made
        for, or when another version of the tool wrote it."""
        stored = json.loads(self.plan_file.read_text())
        if stored.get("fingerprint") != fingerprint:
            raise InputError(
                f"finds other data or options than the pilot in {self.out}; resume with the "
                "same ones or start a new pilot in another folder",
                "resume",
            )
        try:
            return PilotPlan.model_validate(stored["plan"])
        except (KeyError, ValidationError):
            raise InputError(
                f"{self.plan_file} was written by another version of advisor; start a new "
                "pilot in another folder",
                "resume",
            ) from None

    def _name(self, arm: str, seed: int) -> str:
        return f"{arm.replace('+', '-plus-')}-seed{seed}"

    def unit_path(self, arm: str, seed: int) -> Path:
        return self.units / f"{self._name(arm, seed)}.json"

    def checkpoint_path(self, arm: str, seed: int) -> Path:
        return self.checkpoints / f"{self._name(arm, seed)}.pt"

    def curve_path(self, arm: str, seed: int) -> Path:
        return self.checkpoints / f"{self._name(arm, seed)}.curve.json"

    def load_unit(self, arm: str, seed: int) -> UnitResult | None:
        path = self.unit_path(arm, seed)
        return UnitResult.model_validate_json(path.read_text()) if path.is_file() else None

    def save_unit(self, unit: UnitResult) -> None:
        if not self.writes:
            return
        write_atomically(self.unit_path(unit.arm, unit.seed), unit.model_dump_json())

    def save_pretrained(
        self, arm: str, seed: int, net: torch.nn.Module, curve: list[CurvePoint]
    ) -> None:
        """The weights after the self-supervised phase, and its learning curve."""
        if not self.writes:
            return
        buffer = io.BytesIO()
        torch.save(net.state_dict(), buffer)
        write_bytes_atomically(self.checkpoint_path(arm, seed), buffer.getvalue())
        write_atomically(self.curve_path(arm, seed), json.dumps([c.model_dump() for c in curve]))

    def load_pretrained(self, arm: str, seed: int, net: torch.nn.Module) -> list[CurvePoint] | None:
        """Load the weights of a finished self-supervised phase into ``net``; its learning
        curve, or None when that phase has not finished."""
        path = self.checkpoint_path(arm, seed)
        if not path.is_file():
            return None
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            net.load_state_dict(state)
        except Exception as exc:
            raise InputError(
                f"{path} is not a checkpoint of this pilot ({type(exc).__name__}); delete it to "
                "redo that phase"
            ) from None
        saved = self.curve_path(arm, seed)
        if not saved.is_file():
            return []
        return [CurvePoint.model_validate(c) for c in json.loads(saved.read_text())]

    def teaching_path(self, seed: int) -> Path:
        return self.checkpoints / f"{self._name(TRANSFER, seed)}.pseudo-labels.npz"

    def save_teaching(self, taught: Teaching) -> None:
        """The teacher's labels and confidences on the seed's unlabeled images, written before
        its ``tl`` unit, so that a finished teacher always has them."""
        if not self.writes:
            return
        buffer = io.BytesIO()
        np.savez(buffer, images=taught.images, labels=taught.labels, confidence=taught.confidence)
        write_bytes_atomically(self.teaching_path(taught.seed), buffer.getvalue())

    def load_teaching(self, seed: int) -> Teaching:
        """What the seed's teacher said (no pickles: arrays only)."""
        path = self.teaching_path(seed)
        try:
            with np.load(path, allow_pickle=False) as saved:
                arrays = [saved[key] for key in ("images", "labels", "confidence")]
        except Exception as exc:
            raise InputError(
                f"{path} is missing or not this pilot's pseudo-labels ({type(exc).__name__}); "
                f"delete {self.unit_path(TRANSFER, seed)} to train the teacher again"
            ) from None
        if len({len(a) for a in arrays}) != 1:
            raise InputError(f"{path}: its arrays differ in length; delete it and the tl unit")
        return Teaching(seed, *arrays)

    def save_result(self, text: str) -> None:
        if not self.writes:
            return
        write_atomically(self.out / "result.json", text)
