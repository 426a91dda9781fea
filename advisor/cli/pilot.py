"""``advisor pilot``: a short, fair trial of the paradigms on the user's data."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.app import fail
from advisor.cli.options import (
    ComputeBudgetOpt,
    DebugOpt,
    DeviceOpt,
    DeviceProfileOpt,
    HtmlOpt,
    JsonOpt,
    ManifestOpt,
    OutOpt,
    PriceOpt,
    QuietOpt,
    SeedOpt,
    UnlabeledOpt,
    compute_settings,
    need_data,
)


def pilot(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Argument(help="Dataset folder, as for analyze.", show_default=False),
    ] = None,
    budget: Annotated[
        str, typer.Option("--budget", help="Wall time (90s, 10m, 1h) or steps (2000steps).")
    ] = "10m",
    paradigms: Annotated[
        str,
        typer.Option(
            "--paradigms",
            help="Comma-separated: tl, ssl, tl+ssl, tl+st (transfer then self-training on the "
            "teacher's pseudo-labels of the unlabeled images), scratch. By default tl+st is left "
            "out, with a note, when there are no unlabeled images; named, it is refused.",
        ),
    ] = "tl,ssl,tl+ssl,tl+st,scratch",
    method: Annotated[str, typer.Option("--method", help="simclr or byol.")] = "simclr",
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds",
            min=1,
            help="Splits and runs per arm; a budget too small for them runs fewer, and a time "
            "budget sets the later seeds' steps to spend it and adds replicates it can afford.",
        ),
    ] = 3,
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
    device: DeviceOpt = "auto",
    devices: Annotated[
        int,
        typer.Option(
            "--devices",
            min=1,
            help="Processes training data-parallel on this machine, one per device (on a CPU, "
            "each takes a share of the cores).",
        ),
    ] = 1,
    num_nodes: Annotated[
        int,
        typer.Option(
            "--num-nodes",
            min=1,
            help="Machines training together, as SLURM or torchrun started them (--devices "
            "processes on each).",
        ),
    ] = 1,
    unlabeled: UnlabeledOpt = None,
    manifest: ManifestOpt = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not add the result to the experience store.")
    ] = False,
    compute_budget: ComputeBudgetOpt = None,
    price_per_hour: PriceOpt = None,
    device_profile: DeviceProfileOpt = None,
    as_json: JsonOpt = False,
    output: OutOpt = None,
    html: HtmlOpt = None,
    quiet: QuietOpt = False,
    seed: SeedOpt = 0,
    debug: DebugOpt = False,
) -> None:
    """Run a short, fair pilot of tl, ssl, tl+ssl, tl+st and scratch on your data, then combine
    what it measured with the literature's advice."""
    from rich.console import Console

    from advisor.cli.output import destination, emit, emit_page
    from advisor.errors import InputError
    from advisor.pilot.budget import parse_budget
    from advisor.pilot.interrupt import PilotInterrupted
    from advisor.pilot.settings import PilotSettings
    from advisor.progress import progress_on_stderr
    from advisor.render.pilot import render_pilot
    from advisor.services import pilot as service

    need_data(data, manifest)
    compute = compute_settings(compute_budget, price_per_hour, device_profile)
    output, as_json = destination(output, as_json)
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
        num_nodes=num_nodes,
        seed=seed,
        # by name: typer vendors its own click, whose enum is not the installed click's
        chosen=ctx.get_parameter_source("paradigms").name != "DEFAULT",
    )
    from advisor.processes import is_primary

    primary = is_primary()  # the other processes of a multi-process pilot print nothing
    quiet = quiet or not primary
    err = Console(stderr=True, quiet=quiet)
    with progress_on_stderr(err, quiet) as progress:
        try:
            run = service.run_pilot(
                settings,
                output,
                store=not no_store,
                progress=progress,
                html=html,
                compute=compute,
            )
        except InputError:
            if not primary:  # the first process reached the same refusal, and reports it
                sys.exit(2)
            raise
        except PilotInterrupted as stop:  # typer would swallow where to resume
            if not primary:  # the first process says where to resume, and exits 130
                sys.exit(0)
            fail(f"interrupted: {stop}; continue with the same command and --resume", 130)
    if not run.primary:
        return
    show = emit(run.result, as_json, output)  # the JSON first: it is the record
    emit_page(run.result, html, err)
    if show:
        render_pilot(Console(), run.result)
