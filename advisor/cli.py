"""The ``advisor`` command line: parses options, calls the services, renders. No logic of its own.

Conventions: ``--json`` prints pure JSON on stdout with progress and logs on
stderr; ``-o FILE`` is written atomically; bad usage or input is one line on stderr and exit 2;
an internal error is exit 1, with the traceback only under ``--debug``.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from typer.core import TyperGroup

from advisor import __version__
from advisor.analyze import analyze as run_analysis
from advisor.demo import DemoName, ShapesWorld, Style, make_demo
from advisor.errors import InputError
from advisor.memory import keep_freed_memory
from advisor.output import write_atomically
from advisor.render.advice import (
    render_knowledge_item,
    render_knowledge_list,
    render_pilot,
    render_recommendation,
)
from advisor.render.terminal import render_analysis, render_backbones, render_demo
from advisor.schema import (
    DOCUMENTS,
    BackboneList,
    KnowledgeItem,
    KnowledgeListing,
    PilotResult,
)
from advisor.settings import ProbeSettings

_debug = False


class _AdvisorGroup(TyperGroup):
    """Every failure becomes one line on stderr and an exit code: 2 bad input, 1 bug, 130 Ctrl-C."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except InputError as exc:
            _fail(str(exc), 2)
        except (KeyboardInterrupt, typer.Abort):
            _fail("interrupted", 130)
        except typer.Exit as exc:
            code = exc.exit_code
        except Exception as exc:
            if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
                # click's usage and parameter errors (typer re-exports or vendors click, so
                # they are recognised by shape rather than by class)
                _fail(exc.format_message(), exc.exit_code)
            if _debug:
                traceback.print_exc()
            hint = "" if _debug else " (run with --debug for the traceback)"
            _fail(f"internal error: {type(exc).__name__}: {exc}{hint}", 1)
        if code == 130:  # typer turns Ctrl-C into this exit code before we see it
            _fail("interrupted", 130)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    first_line = " ".join(message.split())
    prefix = "advisor: " if code == 130 else "advisor: error: "
    print(f"{prefix}{first_line}", file=sys.stderr)
    sys.exit(code)


app = typer.Typer(
    cls=_AdvisorGroup,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Should you fine-tune an ImageNet model, pretrain self-supervised on your own images, "
    "or both? Measures your dataset and tells you, with its evidence.",
)


def _show_version(value: bool) -> None:
    if value:
        print(f"advisor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Should you fine-tune an ImageNet model, pretrain self-supervised on your own images, or
    both? Measures your dataset and tells you, with its evidence."""
    keep_freed_memory()
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
STDOUT = Path("-")
OutOpt = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help="Also write the JSON result to FILE (atomically; - for stdout).",
        dir_okay=False,
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes on stderr.")]
SeedOpt = Annotated[
    int, typer.Option("--seed", min=0, help="Seed for everything random (recorded in the result).")
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]
UnlabeledOpt = Annotated[
    list[Path] | None,
    typer.Option("--unlabeled", help="Extra folder of unlabeled images (repeatable)."),
]
ManifestOpt = Annotated[
    Path | None,
    typer.Option("--manifest", help="CSV with columns path,label[,split], paths relative to it."),
]


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "items")
        return Text(f"{speed:,.0f} {unit}/s" if speed else "", style="cyan")


@contextmanager
def _stages(err: Console, quiet: bool):
    """Progress bars on stderr, one per stage, drawn only in a terminal; yields the
    (on_stage, on_progress) callbacks the services take."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=quiet or not err.is_terminal,
    )
    current: list[TaskID] = []

    def on_stage(description: str, total: int, unit: str) -> None:
        if current:
            progress.update(current[-1], visible=False)
        current.append(progress.add_task(description, total=total, unit=unit))

    def on_progress(n: int) -> None:
        if current:
            progress.advance(current[-1], n)

    with progress:
        yield on_stage, on_progress


def _destination(output: Path | None, as_json: bool) -> tuple[Path | None, bool]:
    """``-o -`` means stdout, the same as ``--json``."""
    return (None, True) if output == STDOUT else (output, as_json)


def _emit(document: BaseModel, as_json: bool, output: Path | None) -> bool:
    """Write the document where asked; True when the terminal rendering should follow."""
    text = document.model_dump_json(indent=2)
    if output is not None:
        write_atomically(output, text + "\n")
    if as_json:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
        return False
    return True


@app.command()
def analyze(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="Dataset folder: class folders, train/val/test, unlabeled/.", show_default=False
        ),
    ] = None,
    unlabeled: UnlabeledOpt = None,
    manifest: ManifestOpt = None,
    no_probes: Annotated[
        bool, typer.Option("--no-probes", help="Profile only: skip the backbone probes.")
    ] = False,
    backbone: Annotated[
        str,
        typer.Option(
            "--backbone",
            help="imagenet, torchvision:NAME, timm:NAME, file:PATH[:ARCH], random:ARCH or auto.",
        ),
    ] = "auto",
    sample: Annotated[
        int, typer.Option("--sample", min=1, help="Labeled images probed at most (stratified).")
    ] = 2000,
    reference: Annotated[
        Path | None,
        typer.Option("--reference", help="Folder of images to measure the distance to."),
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")] = "auto",
    resolution: Annotated[
        int | None,
        typer.Option(
            "--resolution",
            min=32,
            help="Probe input size (default: 160 on a CPU, the weights' own on a GPU).",
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the feature cache.")
    ] = False,
    pilot: Annotated[
        Path | None,
        typer.Option(
            "--pilot",
            help="A pilot's result (advisor pilot -o FILE) to combine with the literature.",
            dir_okay=False,
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Read headers only (no decoding): 2-3x faster, but no near-duplicate "
            "search and truncated files found only where the format has checksums (PNG).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    output: OutOpt = None,
    quiet: QuietOpt = False,
    seed: SeedOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Profile a dataset and probe it with a pretrained backbone: counts, classes, imbalance,
    data problems, domain gap and transferability."""
    global _debug
    _debug = debug
    output, as_json = _destination(output, as_json)
    settings = None
    if not no_probes:
        settings = ProbeSettings(
            backbone=backbone,
            sample=sample,
            reference=reference,
            device=device,
            cache=not no_cache,
            seed=seed,
            resolution=resolution,
        )
    pilot_result = _read_pilot(pilot) if pilot is not None else None
    err = Console(stderr=True, quiet=quiet)
    started = time.perf_counter()
    with _stages(err, quiet) as (on_stage, on_progress):
        analysis = run_analysis(
            data,
            unlabeled or [],
            manifest,
            seed=seed,
            decode=not quick,
            output=output,
            probes=settings,
            on_stage=on_stage,
            on_progress=on_progress,
        )
    if pilot_result is not None and analysis.recommendation is not None:
        from advisor.decide import combine_with_pilot

        combined = combine_with_pilot(analysis.recommendation, pilot_result)
        analysis = analysis.model_copy(update={"recommendation": combined})
    note = f"profiled {analysis.profile.files.seen:,} files"
    if analysis.probes is not None:
        probed = analysis.probes.labeled_sample + analysis.probes.unlabeled_sample
        note += f", probed {probed:,} images with {analysis.probes.backbone}"
    err.print(f"{note} in {time.perf_counter() - started:.1f} s", style="dim")
    if _emit(analysis, as_json, output):
        render_analysis(Console(), analysis)
        if analysis.recommendation is not None:
            render_recommendation(Console(), analysis.recommendation)


def _read_pilot(path: Path) -> PilotResult:
    from pydantic import ValidationError

    if not path.is_file():
        raise InputError(f"--pilot {path}: no such file")
    try:
        return PilotResult.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise InputError(f"--pilot {path}: not a pilot result ({exc.errors()[0]['msg']})") from None


@app.command()
def pilot(
    data: Annotated[
        Path | None,
        typer.Argument(help="Dataset folder, as for analyze.", show_default=False),
    ] = None,
    budget: Annotated[
        str, typer.Option("--budget", help="Wall time (90s, 10m, 1h) or steps (2000steps).")
    ] = "10m",
    paradigms: Annotated[
        str, typer.Option("--paradigms", help="Comma-separated: tl, ssl, tl+ssl, scratch.")
    ] = "tl,ssl,tl+ssl,scratch",
    method: Annotated[str, typer.Option("--method", help="simclr or byol.")] = "simclr",
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Splits and runs per arm.")] = 3,
    backbone: Annotated[
        str, typer.Option("--backbone", help="The architecture (and weights) of every arm.")
    ] = "auto",
    resolution: Annotated[
        int | None,
        typer.Option("--resolution", min=32, help="Training input size (CPU default 64)."),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Folder for the plan, finished runs and checkpoints.", file_okay=False
        ),
    ] = Path("pilot-out"),
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the pilot in --out; never redo work.")
    ] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")] = "auto",
    devices: Annotated[
        int, typer.Option("--devices", min=1, help="Devices for data-parallel training.")
    ] = 1,
    unlabeled: UnlabeledOpt = None,
    manifest: ManifestOpt = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not add the result to the experience store.")
    ] = False,
    as_json: JsonOpt = False,
    output: OutOpt = None,
    quiet: QuietOpt = False,
    seed: SeedOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Run a short, fair pilot of tl, ssl, tl+ssl and scratch on your data, then combine what
    it measured with the literature's advice."""
    began = time.perf_counter()
    global _debug
    _debug = debug
    from advisor.pilot.budget import parse_budget
    from advisor.pilot.runner import Pilot, PilotSettings
    from advisor.pilot_service import finish_pilot

    output, as_json = _destination(output, as_json)
    settings = PilotSettings(
        data=data,
        unlabeled=unlabeled or [],
        manifest=manifest,
        budget=parse_budget(budget),
        paradigms=[p.strip() for p in paradigms.split(",") if p.strip()],
        method=method,
        seeds=seeds,
        backbone=backbone,
        resolution=resolution,
        out=out,
        resume=resume,
        device=device,
        devices=devices,
        seed=seed,
    )
    err = Console(stderr=True, quiet=quiet)
    with _stages(err, quiet) as (on_stage, on_progress):
        runner = Pilot(
            settings,
            lambda text: err.print(text, style="dim", soft_wrap=True),
            on_stage,
            on_progress,
        )
        if output is not None:
            from advisor.output import check_output_path

            check_output_path(output, [p for p in (data, *(unlabeled or [])) if p], [manifest])
        try:
            result = runner.run(began)
        except KeyboardInterrupt as exc:  # typer would swallow what it says (where to resume)
            _fail(f"interrupted: {exc}" if str(exc) else "interrupted", 130)
    result, stored = finish_pilot(runner, result, store=not no_store)
    if stored is not None:
        err.print(f"added to the experience store: {stored}", style="dim", soft_wrap=True)
    if _emit(result, as_json, output):
        render_pilot(Console(), result)


@app.command()
def decide(
    card: Annotated[
        Path, typer.Argument(help="Dataset card (YAML); see `advisor schema card`.", dir_okay=False)
    ],
    as_json: JsonOpt = False,
    output: OutOpt = None,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Advice from a dataset card, without the images: verdict, probability, expected gain,
    reasons with citations, caveats, what would flip it, and a recipe."""
    global _debug
    _debug = debug
    from advisor.card import load_card
    from advisor.decide import features_from_card, recommend
    from advisor.output import check_output_path

    output, as_json = _destination(output, as_json)
    if output is not None:
        check_output_path(output, [])
    dataset_card, unknown = load_card(card)
    err = Console(stderr=True, quiet=quiet)
    for key in unknown:
        err.print(
            f"advisor: warning: {card}: unknown field {key!r} ignored",
            style="yellow",
            soft_wrap=True,
        )
    document = recommend(features_from_card(dataset_card), dataset_card.name)
    if _emit(document, as_json, output):
        render_recommendation(Console(), document)


knowledge_app = typer.Typer(
    help="The rules, studies and published results behind the advice, and the fitted model.",
    no_args_is_help=True,
)
app.add_typer(knowledge_app, name="knowledge")


@knowledge_app.command("list")
def knowledge_list(as_json: JsonOpt = False) -> None:
    """List the rules and the studies."""
    from advisor.knowledge.base import load_knowledge

    kb = load_knowledge()
    document = KnowledgeListing(
        tool_version=__version__, rules=kb.rules, studies=list(kb.studies.values())
    )
    if _emit(document, as_json, None):
        render_knowledge_list(Console(), document.rules, document.studies)


@knowledge_app.command("show")
def knowledge_show(
    item_id: Annotated[
        str, typer.Argument(metavar="ID", help="A rule, study or result id.", show_default=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Show one rule (with the results behind it), study (with its results) or result."""
    from advisor.knowledge.base import load_knowledge

    found = load_knowledge().lookup(item_id)
    if found is None:
        raise InputError(
            f"no rule, study or result with id {item_id!r}; `advisor knowledge list` shows them"
        )
    kind, item, rows = found
    document = KnowledgeItem(tool_version=__version__, kind=kind, item=item, rows=rows)
    if _emit(document, as_json, None):
        render_knowledge_item(Console(), document.item, document.rows)


@knowledge_app.command("fit")
def knowledge_fit(
    output: OutOpt = None,
    with_experience: Annotated[
        bool,
        typer.Option(
            "--with-experience", help="Also learn from the pilots in the local experience store."
        ),
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Refit the gain model on results.csv and rules.yaml; prints model.json (or writes -o)."""
    global _debug
    _debug = debug
    from advisor import experience
    from advisor.fit import fit_gain_model
    from advisor.knowledge.base import load_knowledge

    rows = []
    if with_experience:
        records = experience.load()
        if not records:
            raise InputError(f"--with-experience: no pilots in {experience.store_path()} yet")
        rows = [(r.features.model_dump(), r.arm, r.measured_points) for r in records]
    model = fit_gain_model(load_knowledge(), experience=rows)
    output, _ = _destination(output, True)
    _emit(model, output is None, output)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the dataset into.", file_okay=False)
    ],
    dataset: Annotated[
        DemoName,
        typer.Option("--dataset", help="digits (real scans) or shapes (synthetic world)."),
    ] = DemoName.digits,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
    clean: Annotated[
        bool, typer.Option("--clean", help="digits: do not plant the example data problems.")
    ] = False,
    images: Annotated[int, typer.Option("--images", help="shapes: number of images.")] = 2000,
    classes: Annotated[int, typer.Option("--classes", help="shapes: number of classes.")] = 4,
    size: Annotated[int, typer.Option("--size", help="shapes: image side in pixels.")] = 32,
    style: Annotated[
        Style,
        typer.Option("--style", help="shapes: far from (flat) or near (photo) natural images."),
    ] = Style.color,
    noise: Annotated[
        float, typer.Option("--noise", help="shapes: pixel noise, a fraction of the range.")
    ] = 0.05,
    as_json: JsonOpt = False,
    output: OutOpt = None,
    quiet: QuietOpt = False,
    seed: SeedOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Write a demo dataset to try the advisor offline."""
    global _debug
    _debug = debug
    output, as_json = _destination(output, as_json)
    world = ShapesWorld(images=images, classes=classes, size=size, style=style, noise=noise)
    with Console(stderr=True, quiet=quiet).status(f"writing the {dataset.value} demo…"):
        document = make_demo(out, dataset, seed, force, clean, world, output)
    if _emit(document, as_json, output):
        render_demo(Console(), document)


@app.command()
def backbones(
    as_json: JsonOpt = False,
) -> None:
    """List the backbone specs this machine can use offline, and why the others cannot be."""
    from advisor.backbones import available_backbones  # imports torch: only when asked

    document = BackboneList(
        tool_version=__version__,
        backbones=available_backbones(),
    )
    if _emit(document, as_json, None):
        render_backbones(Console(), document.backbones)


@app.command()
def schema(
    name: Annotated[
        str | None, typer.Argument(help=f"One of: {', '.join(DOCUMENTS)}.", show_default=False)
    ] = None,
) -> None:
    """Print the JSON Schema of a document the tool writes (or list them)."""
    if name is None:
        for known, model in DOCUMENTS.items():
            print(f"{known}\t{(model.__doc__ or '').strip().splitlines()[0]}")
        return
    model = DOCUMENTS.get(name)
    if model is None:
        raise InputError(f"no schema named {name!r}; choose one of: {', '.join(DOCUMENTS)}")
    print(json.dumps(model.model_json_schema(), indent=2))


def main() -> None:
    """Console-script entry point. A closed pipe (``advisor schema analyze | head``) ends the
    process quietly, as it does for any Unix filter, instead of raising on the next write."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()
