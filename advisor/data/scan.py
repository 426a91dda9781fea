"""Find the images of a dataset and what each one is labeled, and read every file once.

Layouts understood: class folders ``DATA/<class>/...``, the split folders
``train/ val/ test/`` above them, unlabeled images directly under ``DATA`` (or a split folder)
or under ``unlabeled/``, extra unlabeled folders, and a CSV manifest ``path,label[,split]``.
Whether a file is an image is decided by its content; the extension only decides whether a file
that is not a readable image is a problem (``broken.png``) or simply something else (``notes.txt``).
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from PIL import Image

from advisor.data.images import ImageFacts, inspect_files
from advisor.errors import InputError

SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
UNLABELED_NAMES = frozenset({"unlabeled", "unlabelled"})

PARALLEL_MIN_FILES = 1_000
"""Below this many files, starting worker processes costs more than it saves."""

MAX_CHUNK = 512
"""Most files a worker reads per task (their quality measures are computed in one pass)."""

SERIAL_CHUNK = 64
"""Files read together without workers: their quality measures are computed in one pass, and
progress moves once per chunk."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file found by the scan: where it is and what the layout says about it."""

    path: str
    label: str | None = None
    split: str | None = None


@dataclass
class Discovery:
    """The files of a dataset before any of them is read, and what was skipped on the way."""

    entries: list[Entry] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    revisited_dirs: list[str] = field(default_factory=list)
    unlistable: list[tuple[str, str]] = field(default_factory=list)
    relabeled: list[tuple[str, str, str]] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    manifest_folders: list[str] = field(default_factory=list)


def discover(
    data: Path | None, unlabeled: Sequence[Path] = (), manifest: Path | None = None
) -> Discovery:
    """List the dataset's files with labels and splits; raise InputError for unusable inputs."""
    if data is None and manifest is None:
        raise InputError("give a data folder or a manifest (a CSV of path,label[,split])")
    found = Discovery()
    seen: dict[str, Entry] = {}

    def add(entry: Entry) -> None:
        key = os.path.abspath(entry.path)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = entry
            found.entries.append(entry)
        elif earlier.label and entry.label and earlier.label != entry.label:
            found.relabeled.append((entry.path, earlier.label, entry.label))

    if data is not None:
        _check_folder(data, "data")
        found.roots.append(str(data))
        for path, parts in _walk(data, found):
            add(_entry_from_layout(path, parts))
    if manifest is not None:
        found.roots.append(str(manifest))
        listed = read_manifest(manifest)
        for entry in listed:
            add(entry)
        found.manifest_folders = sorted({os.path.dirname(e.path) or "." for e in listed})
    for folder in unlabeled:
        _check_folder(folder, "unlabeled")
        found.roots.append(str(folder))
        for path, _parts in _walk(folder, found):
            add(Entry(path))
    # folders given twice or nested (--unlabeled inside the data folder) meet the same files
    found.hidden, found.special = _unique_paths(found.hidden), _unique_paths(found.special)
    if not found.entries and not found.hidden and not found.special:
        where = ", ".join(found.roots)
        raise InputError(f"no files found in {where}: the folder is empty")
    return found


def _unique_paths(paths: list[str]) -> list[str]:
    kept: dict[str, str] = {}
    for path in paths:
        kept.setdefault(os.path.abspath(path), path)
    return list(kept.values())


def _check_folder(folder: Path, param: str) -> None:
    if not folder.exists():
        raise InputError(f"not found: {folder}", param)
    if not folder.is_dir():
        raise InputError(f"{folder} is a file; expected a folder of images", param)
    if not os.access(folder, os.R_OK | os.X_OK):
        raise InputError(f"{folder} cannot be read (permission denied)", param)


def _entry_from_layout(path: str, parts: tuple[str, ...]) -> Entry:
    split = SPLIT_NAMES.get(parts[0].lower()) if len(parts) > 1 else None
    rest = parts[1:] if split else parts
    if len(rest) == 1 or rest[0].lower() in UNLABELED_NAMES:
        return Entry(path, None, split)
    return Entry(path, rest[0], split)


def _walk(root: Path, found: Discovery) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Regular files below root, in name order, with their path parts relative to root.

    Symbolic links are followed, but only after every real folder has been walked, so a link to
    a class folder never takes the class's name; a folder reached twice (a link loop, two links
    to one folder) is listed once, so a loop cannot hang the scan. Links to anything but a
    regular file or a folder (pipes, devices) are never opened.
    """
    top = str(root)
    stat = os.stat(top)
    seen_dirs = {(stat.st_dev, stat.st_ino)}
    stack: list[tuple[str, tuple[str, ...]]] = [(top, ())]
    linked: list[tuple[str, tuple[str, ...]]] = []
    while stack or linked:
        if not stack:
            folder, parts = linked.pop(0)
            key = _dir_key(folder, found)
            if key is None:
                continue
            if key in seen_dirs:
                found.revisited_dirs.append(folder)
                continue
            seen_dirs.add(key)
            stack.append((folder, parts))
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            found.unlistable.append((folder, exc.strerror or str(exc)))
            continue
        subdirs = []
        for item in items:
            parts = (*prefix, item.name)
            if item.name.startswith("."):
                found.hidden.append(item.path)
            elif item.is_dir():
                if item.is_symlink():
                    linked.append((item.path, parts))
                    continue
                key = _dir_key(item.path, found)
                if key is not None and key not in seen_dirs:
                    seen_dirs.add(key)
                    subdirs.append((item.path, parts))
            elif item.is_file() or (item.is_symlink() and not os.path.exists(item.path)):
                yield item.path, parts  # a broken link is reported as unreadable
            else:
                found.special.append(item.path)
        stack.extend(reversed(subdirs))


def _dir_key(folder: str, found: Discovery) -> tuple[int, int] | None:
    try:
        st = os.stat(folder)
    except OSError as exc:
        found.unlistable.append((folder, exc.strerror or str(exc)))
        return None
    return st.st_dev, st.st_ino


def read_manifest(manifest: Path) -> list[Entry]:
    """Entries of a ``path,label[,split]`` CSV; paths are relative to the manifest's folder."""
    if not manifest.exists():
        raise InputError(f"not found: {manifest}", "manifest")
    if not manifest.is_file():
        raise InputError(f"{manifest} is not a regular file; expected a CSV file", "manifest")
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{manifest} is not a CSV text file ({exc})", "manifest") from None
    except OSError as exc:
        raise InputError(f"{manifest} cannot be read: {exc.strerror or exc}", "manifest") from None
    if not rows:
        raise InputError(f"{manifest} is empty; expected a header 'path,label[,split]'", "manifest")
    columns = [c.strip().lower() for c in rows[0]]
    if "path" not in columns:
        raise InputError(
            f"{manifest} has no 'path' column (header: {','.join(rows[0])[:80]}); "
            "expected a header 'path,label[,split]'",
            "manifest",
        )
    where = {name: columns.index(name) for name in ("path", "label", "split") if name in columns}
    base = manifest.parent
    entries: list[Entry] = []
    missing: list[tuple[int, str]] = []
    not_files: list[tuple[int, str]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[i].strip() if i < len(row) else "" for name, i in where.items()}
        rel = cells["path"]
        if not rel:
            raise InputError(f"{manifest}, line {line}: empty path", "manifest")
        split_name = cells.get("split", "")
        split = SPLIT_NAMES.get(split_name.lower()) if split_name else None
        if split_name and split is None:
            raise InputError(
                f"{manifest}, line {line}: unknown split {split_name!r} "
                "(use train, val or test, or leave it empty)",
                "manifest",
            )
        path = os.path.normpath(os.path.join(base, rel))
        if not os.path.lexists(path):
            missing.append((line, rel))
        elif os.path.exists(path) and not os.path.isfile(path):
            not_files.append((line, rel))  # a folder, pipe or device: never opened
        entries.append(Entry(path, cells.get("label") or None, split))
    if missing:
        line, rel = missing[0]
        raise InputError(
            f"{manifest} names {len(missing)} file(s) that do not exist "
            f"(first: line {line}, {rel})",
            "manifest",
        )
    if not_files:
        line, rel = not_files[0]
        raise InputError(
            f"{manifest} names {len(not_files)} path(s) that are not files "
            f"(first: line {line}, {rel})",
            "manifest",
        )
    if not entries:
        raise InputError(f"{manifest} lists no files", "manifest")
    return entries


def inspect_all(
    paths: Sequence[str],
    decode: bool = True,
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[ImageFacts]:
    """Read every file once (content hash, header, decode, thumbnail), in parallel when it pays.

    Results come back in the order of ``paths``; ``on_progress`` is called with the number of
    files finished since its last call.
    """
    if workers is None:
        workers = _usable_cores()
    if workers <= 1 or len(paths) < PARALLEL_MIN_FILES:
        with warnings.catch_warnings():
            _quiet_pillow_warnings()
            return [
                facts
                for i in range(0, len(paths), SERIAL_CHUNK)
                for facts in _inspected(paths[i : i + SERIAL_CHUNK], decode, on_progress)
            ]
    # Files go out in chunks and come back as plain tuples: per-file messages and pickled
    # objects would cost the parent as much CPU as a worker spends reading a small PNG.
    size = max(16, min(MAX_CHUNK, len(paths) // (workers * 8)))
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
    # fork starts workers in milliseconds; elsewhere (macOS, Windows) spawn is the safe choice.
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    results: list[ImageFacts] = []
    with context.Pool(workers, initializer=_quiet_pillow_warnings) as pool:
        for rows in pool.imap(partial(_inspect_chunk, decode=decode), chunks):
            results.extend(map(ImageFacts._make, rows))
            if on_progress:
                on_progress(len(rows))
    return results


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _inspected(
    paths: Sequence[str], decode: bool, on_progress: Callable[[int], None] | None
) -> list[ImageFacts]:
    facts = inspect_files(paths, decode)
    if on_progress:
        on_progress(len(paths))
    return facts


def _inspect_chunk(paths: Sequence[str], decode: bool) -> list[tuple]:
    return [tuple(facts) for facts in inspect_files(paths, decode)]


def _quiet_pillow_warnings() -> None:
    # Damaged and oversized files become findings in the profile; Pillow's warnings about them
    # (corrupt EXIF, decompression bombs) would only repeat that on stderr, line by line.
    warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)


def data_folders(found: Discovery, data: Path | None, unlabeled: Sequence[Path]) -> list[Path]:
    """The folders the tool must never write into: the ones given, and for a manifest the
    folders of the files it lists."""
    given = [p for p in (data, *unlabeled) if p is not None]
    return given + [Path(folder) for folder in found.manifest_folders]
