"""Writing a labeled image folder: refusing a busy destination, staging the folder so that an
interrupted writer leaves nothing half-written, and counting what went where."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from advisor.errors import InputError
from advisor.output import current_umask


@dataclass
class DemoSummary:
    """What a demo writer put on disk (the CLI turns it into the ``demo`` document)."""

    images: int = 0
    labeled: dict[str, dict[str, int]] = field(default_factory=dict)
    unlabeled: int = 0
    planted: list[str] = field(default_factory=list)

    def count(self, split: str, label: str | None) -> None:
        self.images += 1
        if label is None:
            self.unlabeled += 1
        else:
            per_class = self.labeled.setdefault(split, {})
            per_class[label] = per_class.get(label, 0) + 1


def prepare_out(out: Path, force: bool) -> None:
    """Refuse to write into a non-empty folder unless forced; files already there are kept."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; give a folder to write the demo into", "out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out} is not empty; choose another folder or pass `force`", "out")


def write_dataset(out: Path, writer: Callable[[Path], DemoSummary]) -> DemoSummary:
    """Build the dataset in a hidden sibling folder and move it into place at the end, so an
    interrupted demo leaves no half-written dataset behind. Into an existing folder (``force``)
    the files are written directly."""
    try:
        if out.is_dir():
            return writer(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot write the demo into {out}: {exc.strerror or exc}") from None
    try:
        summary = writer(staging)
        staging.chmod(0o777 & ~current_umask())  # mkdtemp makes it private
        staging.rename(out)
        return summary
    except OSError as exc:
        raise InputError(f"cannot write the demo into {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_png(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG", compress_level=1)
