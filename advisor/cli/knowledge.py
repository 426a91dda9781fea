"""``advisor knowledge list | show | fit``: the evidence behind the advice, and the model."""

from __future__ import annotations

from typing import Annotated

import typer

from advisor.cli.options import DebugOpt, JsonOpt, OutOpt

knowledge_app = typer.Typer(
    help="The rules, studies and published results behind the advice, and the fitted model.",
    no_args_is_help=True,
)


@knowledge_app.command("list")
def knowledge_list(as_json: JsonOpt = False) -> None:
    """List the rules and the studies."""
    from rich.console import Console

    from advisor.cli.output import emit
    from advisor.render.knowledge import render_knowledge_list
    from advisor.services import knowledge as service

    document = service.listing()
    if emit(document, as_json, None):
        render_knowledge_list(Console(), document.rules, document.studies)


@knowledge_app.command("show")
def knowledge_show(
    item_id: Annotated[
        str, typer.Argument(metavar="ID", help="A rule, study or result id.", show_default=False)
    ],
    as_json: JsonOpt = False,
) -> None:
    """Show one rule (with the results behind it), study (with its results) or result."""
    from rich.console import Console

    from advisor.cli.output import emit
    from advisor.render.knowledge import render_knowledge_item
    from advisor.services import knowledge as service

    document = service.item(item_id)
    if emit(document, as_json, None):
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
    self_training: Annotated[
        bool,
        typer.Option(
            "--self-training",
            help="Fit the self-training model (tl+st against tl) instead: self_training.json.",
        ),
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Refit the gain model on results.csv and rules.yaml (or, with --self-training, the
    self-training model); prints the JSON (or writes -o)."""
    from advisor.cli.output import destination, emit
    from advisor.services import knowledge as service

    model = service.fit(with_experience, self_training)
    output, _ = destination(output, True)
    emit(model, output is None, output)
