"""``advisor demo``: a dataset to try the advisor offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from advisor.cli.options import DebugOpt, JsonOpt, OutOpt, QuietOpt, SeedOpt
from advisor.schema.vocabulary import DemoName, Style


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
    from rich.console import Console

    from advisor.cli.output import destination, emit
    from advisor.data.shapes import ShapesWorld
    from advisor.render.demo import render_demo
    from advisor.services import demo as service

    output, as_json = destination(output, as_json)
    world = ShapesWorld(images=images, classes=classes, size=size, style=style, noise=noise)
    with Console(stderr=True, quiet=quiet).status(f"writing the {dataset.value} demo…"):
        document = service.make_demo(out, dataset, seed, force, clean, world, output)
    if emit(document, as_json, output):
        render_demo(Console(), document)
