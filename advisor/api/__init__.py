"""The Python API: the command line's jobs as functions that return its documents.

Each function takes the command's options as keyword arguments (named as the library names
them: ``unlabeled``, ``compute_budget``, ...), returns the same pydantic document the command
writes as JSON, raises ``InputError`` (naming the parameter at fault) for bad input, and prints
nothing unless given a progress: ``progress=True`` draws rich bars and notes on stderr, any
object with the ``advisor.progress.Progress`` methods receives them instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.advice.settings import ComputeSettings
from advisor.errors import InputError
from advisor.progress import SILENT, Progress, progress_on_stderr
from advisor.schema.analysis import Analysis, Declared
from advisor.schema.base import Displayed, show_in_notebooks
from advisor.schema.card import DatasetCard
from advisor.schema.decision import Recommendation
from advisor.schema.pilot import PilotResult
from advisor.schema.vocabulary import PILOT_ARMS, Domain, PoolRelation, Protocol, Task

PathArg = str | PathLike[str]
Document = Analysis | Recommendation | PilotResult


NOTEBOOK_HEIGHT = 720
"""Pixels of a notebook's output frame: the verdict and the first charts show, the rest
scrolls."""


def _page(document: Displayed) -> str:
    """A document's page, as ``advisor report`` makes it, in a frame of a notebook's output
    cell, so that the page's styles and scripts stay inside it."""
    from html import escape

    from advisor.render.report import Document as Page
    from advisor.services.report import report_html

    page = report_html([Page(type(document).__name__, document)])
    return (
        f'<iframe srcdoc="{escape(page, quote=True)}" title="advisor {type(document).__name__}" '
        f'style="width: 100%; height: {NOTEBOOK_HEIGHT}px; border: 0"></iframe>'
    )


show_in_notebooks(_page)


@contextmanager
def _progress(progress: Progress | bool | None) -> Iterator[Progress]:
    """The caller's progress, bars on stderr for ``True``, or silence."""
    if progress is True:
        from rich.console import Console

        with progress_on_stderr(Console(stderr=True), quiet=False) as bars:
            yield bars
    elif progress is None or progress is False:
        yield SILENT
    else:
        yield progress


def _path(value: PathArg | None) -> Path | None:
    return None if value is None else Path(value)


def _choice(kind: type, value: Any, param: str) -> Any:
    """A vocabulary value from its text, or an InputError that lists the choices."""
    if value is None or isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(item.value for item in kind)
        raise InputError(f"must be one of {choices}, not {value!r}", param) from None


def _compute(budget: float | None, price: float | None, profile: str | None) -> ComputeSettings:
    return ComputeSettings(budget_hours=budget, price_per_hour=price, device_profile=profile)


def analyze(
    path: PathArg | None = None,
    *,
    unlabeled: Sequence[PathArg] = (),
    manifest: PathArg | None = None,
    probes: bool = True,
    quick: bool = False,
    backbone: str = "auto",
    sample: int = 2000,
    resolution: int | None = None,
    reference: PathArg | None = None,
    device: str = "auto",
    cache: bool = True,
    seed: int = 0,
    domain: Domain | str | None = None,
    task: Task | str | None = None,
    fine_grained: bool | None = None,
    protocol: Protocol | str | None = None,
    pool: PoolRelation | str | None = None,
    pilot: PathArg | None = None,
    compute_budget: float | None = None,
    price_per_hour: float | None = None,
    device_profile: str | None = None,
    progress: Progress | bool | None = None,
) -> Analysis:
    """Profile a dataset folder (or a ``manifest``), probe it with a pretrained backbone
    unless ``probes`` is False, and advise on it: ``advisor analyze``."""
    from advisor.probing.settings import ProbeSettings
    from advisor.services.analyze import AnalyzeSettings
    from advisor.services.analyze import analyze as service

    if path is None and manifest is None:
        raise InputError("give a data folder or a manifest", "path")
    settings = AnalyzeSettings(
        data=_path(path),
        unlabeled=[Path(p) for p in unlabeled],
        manifest=_path(manifest),
        seed=seed,
        quick=quick,
        probes=ProbeSettings(
            backbone=backbone,
            sample=sample,
            reference=_path(reference),
            device=device,
            cache=cache,
            seed=seed,
            resolution=resolution,
        )
        if probes
        else None,
        pilot=_path(pilot),
        declared=Declared(
            domain=_choice(Domain, domain, "domain"),
            task=_choice(Task, task, "task"),
            fine_grained=fine_grained,
            protocol=_choice(Protocol, protocol, "protocol"),
            pool=_choice(PoolRelation, pool, "pool"),
        ),
        compute=_compute(compute_budget, price_per_hour, device_profile),
    )
    with _progress(progress) as reporter:
        return service(settings, reporter)


def decide(
    card: PathArg | Mapping[str, Any] | DatasetCard,
    *,
    compute_budget: float | None = None,
    price_per_hour: float | None = None,
    device_profile: str | None = None,
    progress: Progress | bool | None = None,
) -> Recommendation:
    """Advice from a dataset card (a YAML file, a mapping of its fields, or a ``DatasetCard``)
    without the images: ``advisor decide``."""
    from advisor.services.decide import decide as service

    compute = _compute(compute_budget, price_per_hour, device_profile)
    if isinstance(card, Mapping):
        try:
            card = DatasetCard.model_validate(card)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            raise InputError(f"{where}: {error['msg']}", "card") from None
    with _progress(progress) as reporter:
        return service(
            card if isinstance(card, DatasetCard) else Path(card), None, reporter, compute
        )


def run_pilot(
    path: PathArg | None = None,
    *,
    unlabeled: Sequence[PathArg] = (),
    manifest: PathArg | None = None,
    budget: str = "10m",
    paradigms: Sequence[str] | None = None,
    method: str = "simclr",
    seeds: int = 3,
    backbone: str = "auto",
    resolution: int | None = None,
    out: PathArg = "pilot-out",
    resume: bool = False,
    device: str = "auto",
    devices: int = 1,
    seed: int = 0,
    store: bool = True,
    compute_budget: float | None = None,
    price_per_hour: float | None = None,
    device_profile: str | None = None,
    progress: Progress | bool | None = None,
) -> PilotResult:
    """A short, fair trial of the paradigms on the data, combined with the literature's
    advice: ``advisor pilot``. Ctrl-C raises ``PilotInterrupted``; ``resume=True`` continues.

    ``paradigms``: among tl, ssl, tl+ssl, tl+st, scratch; None (the default) runs them all,
    leaving tl+st out with a note in the plan when the data has no unlabeled images, where
    naming it raises ``InputError``."""
    from advisor.pilot.budget import parse_budget
    from advisor.pilot.settings import PilotSettings
    from advisor.services.pilot import run_pilot as service

    if path is None and manifest is None:
        raise InputError("give a data folder or a manifest", "path")
    settings = PilotSettings(
        data=_path(path),
        unlabeled=[Path(p) for p in unlabeled],
        manifest=_path(manifest),
        budget=parse_budget(budget),
        paradigms=list(PILOT_ARMS if paradigms is None else paradigms),
        method=method,
        seeds=seeds,
        backbone=backbone,
        resolution=resolution,
        out=Path(out),
        resume=resume,
        device=device,
        devices=devices,
        seed=seed,
        chosen=paradigms is not None,
    )
    compute = _compute(compute_budget, price_per_hour, device_profile)
    with _progress(progress) as reporter:
        return service(settings, store=store, progress=reporter, compute=compute).result


def combine(analysis: Analysis, pilot: PilotResult) -> Analysis:
    """The analysis with its recommendation moved by what the pilot measured on the same data:
    ``advisor analyze --pilot``."""
    from advisor.services.combine import combine as service

    return service(analysis, pilot)


def load(path: PathArg) -> Document:
    """A document the command line wrote (an analysis, a decision or a pilot result)."""
    from advisor.services.report import read_document

    return read_document(Path(path)).body


def report(*documents: Document | PathArg, path: PathArg) -> Path:
    """One self-contained HTML page for these documents (or the files they were written to),
    written atomically to ``path``: ``advisor report``."""
    from advisor.render.report import Document as Page
    from advisor.services.report import read_document, write_documents

    if not documents:
        raise InputError("give at least one document", "documents")
    files = [Path(doc) for doc in documents if isinstance(doc, str | PathLike)]
    pages = [
        read_document(Path(doc))
        if isinstance(doc, str | PathLike)
        else Page(f"{type(doc).__name__} {i + 1}", doc)
        for i, doc in enumerate(documents)
    ]
    return write_documents(pages, Path(path), files).path


def markdown(document: Document) -> str:
    """A short summary for a CI job or a pull-request comment: the verdict, its probability,
    the problems found and the pilot's winner."""
    from advisor.render.markdown import summary

    return summary(document)
