"""Writing result files: checked before any work starts, written atomically at the end."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from advisor.errors import InputError


def check_output_path(
    path: Path, protected: Iterable[Path] = (), inputs: Iterable[Path | None] = ()
) -> None:
    """Fail early (before a long run) on an output file that could not be written, that would
    land inside one of the user's data folders (the tool never writes there), or that would
    overwrite one of its input files."""
    parent = path.parent
    if path.is_dir():
        raise InputError(f"-o {path} is a folder; give a file name")
    if not parent.is_dir():
        raise InputError(f"-o {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"-o {path}: the folder {parent} is not writable")
    target = path.resolve()
    for source in inputs:
        if source is not None and source.resolve() == target:
            raise InputError(f"-o {path} is one of the inputs; write the result elsewhere")
    for folder in protected:
        root = folder.resolve()
        if root.is_dir() and target.is_relative_to(root):
            raise InputError(f"-o {path} is inside the data folder {folder}; write it elsewhere")


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside the target and rename it into place, so readers never
    see a half-written file, even if the process dies mid-write."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
