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

from PIL import Image
from pydantic import ValidationError

from advisor.errors import InputError, one_line
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

MAX_DOCUMENT_BYTES = 256 * 2**20
"""Larger than any document the tool writes (an analysis of a million files with every path
of every problem is tens of MB), so a bigger file is something else, refused before it is read
into memory."""
KINDS = (("profile", Analysis), ("plan", PilotResult), ("verdict", Recommendation))
"""A field only one kind of document has -> that document's model."""


def read_document(path: Path) -> Document:
    """One of the tool's documents, or an InputError that says why the file is not one."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise InputError(
                f"{path}: {path.stat().st_size / 2**20:,.0f} MB is too large for a document "
                "of advisor"
            )
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{path}: not JSON ({one_line(exc)})") from None
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
    return Document(path.name, body, path.parent)


def read_thumbnails(documents: Iterable[Document]) -> Thumbnails:
    """Small JPEGs of the images the page will show, as ``data:`` URIs."""
    from advisor.data.images import open_rgb

    images: dict[str, str] = {}
    missing: set[str] = set()
    for doc in documents:
        if not isinstance(doc.body, Analysis):
            continue
        for path in thumbnail_paths(doc.body.profile):
            if path in images or path in missing:
                continue
            found = next((p for p in _candidates(path, doc.folder) if p.is_file()), None)
            if found is None:
                missing.add(path)
                continue
            try:
                img = open_rgb(str(found), draft=THUMB_PIXELS)
            except Exception:  # a file that no longer decodes is shown as its path
                continue
            img.thumbnail((THUMB_PIXELS, THUMB_PIXELS))
            images[path] = _data_uri(img)
    return Thumbnails(images, frozenset(missing))


def _candidates(path: str, folder: Path | None) -> list[Path]:
    """Where an image a document names may be: as written (relative to the current folder, as
    when the document was made there), or relative to the document's own folder."""
    candidates = [Path(path)]
    if folder is not None and not Path(path).is_absolute():
        candidates.append(folder / path)
    return candidates


def _data_uri(img: Image.Image) -> str:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=THUMB_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def report_html(documents: Sequence[Document]) -> str:
    """The page for these documents, with the thumbnails that can be read from here."""
    from advisor.render.report import render_report

    return render_report(documents, read_thumbnails(documents))


def write_page(body: Analysis | PilotResult, output: Path) -> None:
    """``--html`` of analyze and pilot: the page of the document just made, named after its
    data, written atomically (the command checked the path before its long work)."""
    kind = "analysis" if isinstance(body, Analysis) else "pilot"
    name = f"{kind} of {', '.join(_sources(body))}"
    write_atomically(output, report_html([Document(name, body)]))


def protected_folders(documents: Iterable[Document]) -> list[Path]:
    """The data folders the documents came from, wherever a relative one may be (see
    ``_candidates``): a page is never written inside one."""
    return [
        folder
        for doc in documents
        for source in _sources(doc.body)
        for folder in _candidates(source, doc.folder)
    ]


def _sources(body: Analysis | PilotResult | Recommendation) -> list[str]:
    """The data folders a document was made from (a decision names none)."""
    if isinstance(body, Analysis):
        return body.profile.sources
    return body.sources if isinstance(body, PilotResult) else []


@dataclass(frozen=True)
class Page:
    """A page written: where, and how many bytes."""

    path: Path
    size: int


def write_documents(
    documents: Sequence[Document], output: Path, inputs: Sequence[Path] = ()
) -> Page:
    """The page for these documents, written atomically to ``output``, which may be neither
    one of the ``inputs`` nor inside a data folder the documents came from."""
    check_output_path(output, protected_folders(documents), inputs=inputs)
    html = report_html(documents)
    write_atomically(output, html)
    return Page(output, len(html.encode("utf-8")))


def gate(documents: Sequence[Document], fail_on: set[str]) -> list[str]:
    """What a pipeline asked to fail on and the documents show, one line each: ``problems``
    (any problem in an analysed dataset), ``toss-up`` (a verdict that names no side)."""
    found = []
    for doc in documents:
        body = doc.body
        if "problems" in fail_on and isinstance(body, Analysis) and body.profile.problems:
            found.append(f"{doc.name}: {len(body.profile.problems):,} problems in the data")
        rec = body if isinstance(body, Recommendation) else body.recommendation
        if "toss-up" in fail_on and rec is not None and rec.toss_up:
            found.append(f"{doc.name}: the verdict is a toss-up")
    return found


def write_summary(documents: Sequence[Document], output: Path | None) -> str:
    """``advisor report --markdown``: every document's summary, one after the other, written
    atomically to ``output`` when one is given."""
    from advisor.render.markdown import summary

    text = "\n".join(summary(doc.body) for doc in documents)
    if output is not None:
        check_output_path(output, protected_folders(documents))
        write_atomically(output, text)
    return text
