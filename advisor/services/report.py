"""The ``report`` service: the tool's documents in, one self-contained HTML page out.

Reading a document decides what it is from its own fields (an analysis has a profile, a pilot
result a plan, a decision a verdict), then validates it against that model; anything else is
refused with one line. Thumbnails of the images that problems name are read from where the
document says they are, relative to the current folder as the paths were when it was written;
a page made after the data moved says so and lists the paths instead.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from advisor.errors import InputError
from advisor.output import check_output_path, write_atomically
from advisor.render.report import Document, Thumbnails, thumbnail_paths
from advisor.schema.analysis import Analysis
from advisor.schema.decision import Recommendation
from advisor.schema.pilot import PilotResult

THUMB_PIXELS = 96
"""Longest side of a thumbnail as stored on the page (smaller images are kept at their size and
scaled by the browser): the size it is shown at, so no byte is wasted."""
THUMB_QUALITY = 75
"""JPEG quality of a thumbnail: about 2-4 KB each, enough to tell two images apart."""

KINDS = (("profile", Analysis), ("plan", PilotResult), ("verdict", Recommendation))
"""A field only one kind of document has -> that document's model."""


def read_document(path: Path) -> Document:
    """One of the tool's documents, or an InputError that says why the file is not one."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        data = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
    model = next((model for key, model in KINDS if isinstance(data, dict) and key in data), None)
    if model is None:
        raise InputError(
            f"{path}: not a document of advisor (an analysis, a decision or a pilot result)"
        )
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise InputError(
            f"{path}: not a valid {model.__name__} document ({where}: {error['msg']})"
        ) from None
    return Document(path.name, body)


def read_thumbnails(documents: Iterable[Document]) -> Thumbnails:
    """Small JPEGs of the images the page will show, as ``data:`` URIs."""
    from advisor.data.images import open_rgb

    images: dict[str, str] = {}
    missing: set[str] = set()
    paths = [
        path
        for doc in documents
        if isinstance(doc.body, Analysis)
        for path in thumbnail_paths(doc.body.profile)
    ]
    for path in paths:
        if path in images or path in missing:
            continue
        if not Path(path).is_file():
            missing.add(path)
            continue
        try:
            img = open_rgb(path)
        except Exception:  # a file that does not decode is shown as a path, not a thumbnail
            continue
        img.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=THUMB_QUALITY, optimize=True)
        images[path] = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    return Thumbnails(images, frozenset(missing))


def report_html(documents: Sequence[Document]) -> str:
    """The page for these documents, with the thumbnails that can be read from here."""
    from advisor.render.report import render_report

    return render_report(documents, read_thumbnails(documents))


def write_report(documents: Sequence[Document], output: Path) -> None:
    """Render the page and write it atomically (``--html`` of analyze and pilot, whose path
    the command checked before its long work)."""
    write_atomically(output, report_html(documents))


def protected_folders(documents: Iterable[Document]) -> list[Path]:
    """The data folders the documents came from: a page is never written inside one."""
    folders = []
    for doc in documents:
        body = doc.body
        if isinstance(body, Analysis):
            folders += [Path(source) for source in body.profile.sources]
        elif isinstance(body, PilotResult):
            folders += [Path(source) for source in body.sources]
    return folders


@dataclass(frozen=True)
class Page:
    """A page written: where, and how many bytes."""

    path: Path
    size: int


def write_report_of(paths: Sequence[Path], output: Path) -> Page:
    """``advisor report``: read every document first (a bad one fails before anything is
    written), then write the page for all of them."""
    documents = [read_document(path) for path in paths]
    check_output_path(output, protected_folders(documents), inputs=paths)
    html = report_html(documents)
    write_atomically(output, html)
    return Page(output, len(html.encode("utf-8")))
