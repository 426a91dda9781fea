"""Writing result files: checked before any work starts, written atomically at the end."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
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
        raise InputError(f"{path} is a folder; give a file name", "output")
    if path.exists() and not path.is_file():
        raise InputError(f"{path} is not a regular file; give a file name", "output")
    if not parent.is_dir():
        raise InputError(f"{path}: the folder {parent} does not exist", "output")
    target = path.resolve()
    for source in inputs:
        if source is not None and source.resolve() == target:
            raise InputError(f"{path} is one of the inputs; write the result elsewhere", "output")
    for folder in protected:
        root = folder.resolve()
        if root.is_dir() and target.is_relative_to(root):
            raise InputError(
                f"{path} is inside the data folder {folder}; write it elsewhere", "output"
            )
    try:  # the only reliable test: permissions, read-only and full file systems, /proc...
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write in {parent} ({exc.strerror or exc})", "output"
        ) from None


def check_output_paths(
    paths: Mapping[str, Path | None],
    protected: Iterable[Path] = (),
    inputs: Iterable[Path | None] = (),
) -> None:
    """``check_output_path`` for each result file a command writes (named by its setting), and
    no two of them the same file."""
    given = {name: path for name, path in paths.items() if path is not None}
    inputs = list(inputs)
    for name, path in given.items():
        try:
            check_output_path(path, protected, inputs)
        except InputError as exc:
            raise InputError(exc.message, exc.param and name) from None
    seen: dict[Path, str] = {}
    for name, path in given.items():
        target = path.resolve()
        if target in seen:
            raise InputError(f"is the same file as `{seen[target]}`; give another name", name)
        seen[target] = name


def write_atomically(path: Path, text: str) -> None:
    """Write text to a temporary file beside the target and rename it into place, so readers
    never see a half-written file, even if the process dies mid-write."""
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """``write_atomically`` for bytes. The file gets the permissions an ordinary new file would
    (temporary files are private by default)."""
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def current_umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
