"""Terminal rendering of the recommendation and of the knowledge base listings."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from advisor.knowledge.base import ResultRow, Rule, Study
from advisor.schema import Cite, PilotResult, Recommendation

MAX_REASONS = 5

VERDICT_WORDS = {
    "tl": "transfer: fine-tune the pretrained model",
    "ssl": "self-supervised pretraining on your images, then fine-tune",
    "tl+ssl": "continue pretraining the pretrained model self-supervised on your images, then "
    "fine-tune",
}

SIDE_STYLE = {"ssl-family": "green", "tl": "yellow", "within-ssl-family": "cyan", "neutral": "dim"}


def _cites(cites: list[Cite]) -> str:
    return "; ".join(f"{c.study}, {c.where}" for c in cites)


def _bullets(items: list[Text]) -> Table:
    """Bullets whose wrapped lines stay indented under their text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for item in items:
        grid.add_row("  •", item)
    return grid


def recommendation_panel(rec: Recommendation) -> Panel:
    gain = rec.expected_gain
    head = Text.assemble(
        ("Verdict: ", "bold"),
        (rec.verdict, "bold magenta"),
        f"  ({VERDICT_WORDS[rec.verdict]})\n",
        ("Probability it is the better choice: ", "bold"),
        f"{rec.probability:.0%}\n",
        ("Expected gain of the self-supervised family over transfer: ", "bold"),
        f"{gain.mean:+.1f} points ({gain.level:.0%} interval {gain.low:+.1f} to {gain.high:+.1f})",
    )
    if rec.pilot is not None:
        head.append_text(
            Text(
                f"\nPilot: {rec.pilot.arm} measured {rec.pilot.measured_points:+.1f} points "
                f"[{rec.pilot.low:+.1f}, {rec.pilot.high:+.1f}] against the literature's "
                f"{rec.pilot.prior_points:+.1f}; the pilot carries {rec.pilot.weight:.0%} of the "
                "estimate",
                style="cyan",
            )
        )
    reasons = Table(box=None, show_header=True, pad_edge=False, expand=False)
    reasons.add_column("pushes", no_wrap=True)
    reasons.add_column("★", no_wrap=True)
    reasons.add_column("why", ratio=1)
    for reason in rec.reasons[:MAX_REASONS]:
        reasons.add_row(
            Text(reason.direction, style=SIDE_STYLE[reason.direction]),
            "★" * reason.strength,
            Text.assemble(reason.text, (f"  [{_cites(reason.cites)}]", "dim")),
        )
    parts: list = [head]
    if rec.reasons:
        parts += [Text("\nReasons", style="bold"), reasons]
    if rec.flip:
        parts.append(Text("\nWhat would change the verdict", style="bold"))
        parts.append(_bullets([Text(flip.text) for flip in rec.flip]))
    if rec.caveats:
        parts.append(Text("\nCaveats", style="bold"))
        parts.append(_bullets([Text(caveat, style="yellow") for caveat in rec.caveats]))
    parts.append(Text("\nRecipe", style="bold"))
    steps = []
    for item in rec.recipe:
        source = "convention" if item.convention else _cites(item.cites)
        steps.append(
            Text.assemble((f"{item.step}: ", "bold"), item.detail, (f"  [{source}]", "dim"))
        )
    parts.append(_bullets(steps))
    title = "Recommendation" + (f": {rec.name}" if rec.name else "")
    return Panel(
        Group(*parts),
        title=title,
        subtitle=f"model: {rec.model.fit_rows} comparisons from {rec.model.studies} studies",
    )


def render_recommendation(console: Console, rec: Recommendation) -> None:
    console.print(recommendation_panel(rec))


def render_knowledge_list(console: Console, rules: list[Rule], studies: list[Study]) -> None:
    table = Table(title="Rules", show_lines=False)
    table.add_column("id", no_wrap=True)
    table.add_column("favours", no_wrap=True)
    table.add_column("over", no_wrap=True)
    table.add_column("★", no_wrap=True)
    table.add_column("cites")
    for rule in rules:
        table.add_row(
            rule.id,
            ", ".join(rule.favours),
            ", ".join(rule.over),
            "★" * rule.strength + (" (S)" if rule.secondary else ""),
            ", ".join(c.study for c in rule.cites),
        )
    console.print(table)
    studies_table = Table(title="Studies")
    studies_table.add_column("id", no_wrap=True)
    studies_table.add_column("year", no_wrap=True)
    studies_table.add_column("title")
    studies_table.add_column("venue")
    for study in studies:
        studies_table.add_row(study.id, str(study.year or "?"), study.title, study.venue or "?")
    console.print(studies_table)


def render_knowledge_item(
    console: Console, item: Rule | Study | ResultRow, rows: list[ResultRow]
) -> None:
    """A rule with the result rows behind it, a study with its rows, or one result row."""
    fields = Table.grid(padding=(0, 2))
    for key, value in item.model_dump(mode="json").items():
        if key in ("rows", "cites"):
            continue
        fields.add_row(Text(key, style="bold"), Text(str(value)))
    if isinstance(item, Rule):
        fields.add_row(
            Text("cites", style="bold"), "; ".join(f"{c.study}, {c.where}" for c in item.cites)
        )
    parts: list = [fields]
    if rows:
        table = Table(title="Results behind it")
        for column in ("id", "target", "arm a", "arm b", "metric", "a", "b", "gap", "evidence"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                row.id,
                row.target,
                row.arm_a,
                row.arm_b,
                row.metric,
                "NR" if row.value_a is None else f"{row.value_a:g}",
                "NR" if row.value_b is None else f"{row.value_b:g}",
                f"{row.gap:+g}",
                row.evidence,
            )
        parts.append(table)
    console.print(Panel(Group(*parts), title=item.id))


def _by_seed(steps: list[int]) -> str:
    return str(steps[0]) if len(set(steps)) == 1 else "/".join(map(str, steps)) + " (by seed)"


def render_pilot(console: Console, result: PilotResult) -> None:
    plan = result.plan
    head = Text.assemble(
        ("Plan: ", "bold"),
        f"{len(plan.seeds)} seeds x {len(plan.arms)} arms on {plan.device} at "
        f"{plan.resolution} px; {_by_seed([x.finetune_steps for x in plan.steps])} "
        "fine-tuning steps per arm"
        + (
            f", {_by_seed([x.ssl_steps for x in plan.steps])} self-supervised ({plan.method}) "
            "per SSL arm"
            if plan.steps[0].ssl_steps
            else ""
        )
        + f"; {plan.finetune_images:,} fine-tuning, {plan.eval_images:,} evaluation "
        f"({plan.eval_source}), {plan.pool_images:,} pool images. Took {result.seconds:.0f} s "
        f"for a budget of {plan.budget}.",
    )
    table = Table(box=None)
    for column in ("arm", "accuracy", "± sd", "macro-F1", "vs tl (points, 95%)", "k-NN curve"):
        table.add_column(column)
    differences = {d.arm: d for d in result.differences}
    for arm in result.arms:
        d = differences.get(arm.arm)
        curve = [u.curve for u in result.units if u.arm == arm.arm and u.curve]
        shown = " → ".join(f"{p.knn_accuracy:.2f}" for p in curve[0]) if curve else ""
        table.add_row(
            Text(arm.arm, style="bold" if arm.arm == result.measured_best else ""),
            f"{arm.accuracy:.3f}",
            f"{arm.accuracy_sd:.3f}",
            f"{arm.macro_f1:.3f}",
            f"{d.accuracy_points:+.1f} [{d.low:+.1f}, {d.high:+.1f}]" if d else "",
            shown,
        )
    verdict = (
        Text.assemble(
            ("Measured winner: ", "bold"),
            (result.winner, "bold magenta"),
            f" (best in {result.confidence:.0%} of bootstrap draws)",
        )
        if result.winner
        else Text.assemble(
            ("Measured winner: ", "bold"),
            "none clear"
            + (f" (best so far: {result.measured_best})" if result.measured_best else ""),
        )
    )
    parts: list = [head, Text(""), table, Text(""), verdict]
    parts += [Text(f"  • {c}", style="yellow") for c in result.caveats]
    console.print(Panel(Group(*parts), title="Pilot"))
    if result.recommendation is not None:
        render_recommendation(console, result.recommendation)
