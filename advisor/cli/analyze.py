"""``advisor analyze``: profile, probes and advice for a dataset."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

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
from advisor.schema.vocabulary import Domain, PoolRelation, Protocol, Task


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
    device: DeviceOpt = "auto",
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
            help="Read headers only (no decoding): faster, but no near-duplicate search and "
            "truncated files found only where the format has checksums (PNG).",
        ),
    ] = False,
    domain: Annotated[
        Domain | None,
        typer.Option(
            "--domain",
            help="What the images are (the card's vocabulary); its typical domain gap is used, "
            "the measured one shown beside it.",
            rich_help_panel="What the images cannot tell",
        ),
    ] = None,
    task: Annotated[
        Task | None,
        typer.Option(
            "--task", help="Default: classification.", rich_help_panel="What the images cannot tell"
        ),
    ] = None,
    fine_grained: Annotated[
        bool | None,
        typer.Option(
            "--fine-grained/--coarse",
            help="Whether the classes are fine-grained (species, models). Default: taken as "
            "coarse.",
            rich_help_panel="What the images cannot tell",
            show_default=False,
        ),
    ] = None,
    protocol: Annotated[
        Protocol | None,
        typer.Option(
            "--protocol",
            help="How the network will be used: fine-tuned whole, or frozen under a linear or "
            "k-NN probe. Default: fine-tune.",
            rich_help_panel="What the images cannot tell",
        ),
    ] = None,
    pool: Annotated[
        PoolRelation | None,
        typer.Option(
            "--pool",
            help="Where the unlabeled images come from: same (only the labeled ones), "
            "same-collection, related (same modality and sensor) or other. Default: measured.",
            rich_help_panel="What the images cannot tell",
        ),
    ] = None,
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
    """Profile a dataset and probe it with a pretrained backbone: counts, classes, imbalance,
    data problems, domain gap and transferability."""
    from rich.console import Console

    from advisor.cli.output import destination, emit, emit_page
    from advisor.probing.settings import ProbeSettings
    from advisor.progress import progress_on_stderr
    from advisor.render.analysis import render_analysis
    from advisor.render.decision import render_recommendation
    from advisor.schema.analysis import Declared
    from advisor.services import analyze as service

    need_data(data, manifest)
    compute = compute_settings(compute_budget, price_per_hour, device_profile)
    output, as_json = destination(output, as_json)
    probes = None
    if not no_probes:
        probes = ProbeSettings(
            backbone=backbone,
            sample=sample,
            reference=reference,
            device=device,
            cache=not no_cache,
            seed=seed,
            resolution=resolution,
        )
    settings = service.AnalyzeSettings(
        data=data,
        unlabeled=unlabeled or [],
        manifest=manifest,
        seed=seed,
        quick=quick,
        output=output,
        html=html,
        probes=probes,
        pilot=pilot,
        declared=Declared(
            domain=domain, task=task, fine_grained=fine_grained, protocol=protocol, pool=pool
        ),
        compute=compute,
    )
    err = Console(stderr=True, quiet=quiet)
    started = time.perf_counter()
    with progress_on_stderr(err, quiet) as progress:
        analysis = service.analyze(settings, progress)
    note = f"profiled {analysis.profile.files.seen:,} files"
    if analysis.probes is not None:
        probed = analysis.probes.labeled_sample + analysis.probes.unlabeled_sample
        note += f", probed {probed:,} images with {analysis.probes.backbone}"
    err.print(f"{note} in {time.perf_counter() - started:.1f} s", style="dim")
    show = emit(analysis, as_json, output)  # the JSON first: it is the record
    emit_page(analysis, html, err)
    if show:
        render_analysis(Console(), analysis)
        if analysis.recommendation is not None:
            render_recommendation(Console(), analysis.recommendation)
        elif analysis.no_advice is not None:
            Console().print(f"No recommendation: {analysis.no_advice}")
