"""A pilot's result in the terminal: the plan, every arm's scores against transfer, the learning
curves, the measured winner and the caveats, then the recommendation it informed."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from advisor.render.decision import render_recommendation
from advisor.schema.pilot import PilotResult


def by_seed(steps: list[int]) -> str:
    return str(steps[0]) if len(set(steps)) == 1 else "/".join(map(str, steps)) + " (by seed)"


def render_pilot(console: Console, result: PilotResult) -> None:
    plan = result.plan
    head = Text.assemble(
        ("Plan: ", "bold"),
        f"{len(plan.seeds)} seeds x {len(plan.arms)} arms on {plan.device} at "
        f"{plan.resolution} px; {by_seed([x.finetune_steps for x in plan.steps])} "
        "fine-tuning steps per arm"
        + (
            f", {by_seed([x.ssl_steps for x in plan.steps])} self-supervised ({plan.method}) "
            "per SSL arm"
            if plan.steps[0].ssl_steps
            else ""
        )
        + f"; {plan.finetune_images:,} fine-tuning, {plan.eval_images:,} evaluation "
        f"({plan.eval_source}), {plan.pool_images:,} pool images. Took {result.seconds:.0f} s "
        f"for a budget of {plan.budget}.",
    )
    table = Table(box=None)
    for column in ("arm", "accuracy", "± sd", "macro-F1", "vs tl (points, 95%*)", "k-NN curve"):
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
            ("too short to judge", "bold yellow") if result.too_short else "none clear",
            f" (best so far: {result.measured_best})" if result.measured_best else "",
        )
    )
    parts: list = [head, Text(""), table]
    if result.differences and result.differences[0].sampling_low is not None:
        parts.append(
            Text(
                "* each interval is the bootstrap's over evaluation images, widened for what a "
                "longer run may still change: the difference's move over the second half of "
                "fine-tuning, self-supervision's late gain, and the drift measured against "
                "runs 5x longer",
                style="dim",
            )
        )
    parts += [Text(line) for line in pseudo_label_lines(result)]
    parts += [Text(""), verdict]
    parts += [Text(f"  • {c}", style="yellow") for c in result.caveats]
    parts += [Text(f"  • {line}", style="cyan") for line in projection_lines(result)]
    console.print(Panel(Group(*parts), title="Pilot"))
    if result.recommendation is not None:
        render_recommendation(console, result.recommendation)


def pseudo_label_lines(result: PilotResult) -> list[str]:
    """How much the ``tl+st`` students had to learn from: their teachers' confident labels."""
    taught = [u for u in result.units if u.pseudo_labels is not None]
    if not taught:
        return []
    seeds = "; ".join(
        f"seed {u.seed} {u.pseudo_labels:,} of {u.unlabeled_images:,}"
        for u in sorted(taught, key=lambda u: u.seed)
    )
    threshold = taught[0].pseudo_threshold
    return [f"tl+st pseudo-labels (teacher confidence ≥ {threshold:.0%}): {seeds}"]


def projection_lines(result: PilotResult) -> list[str]:
    """The projections, each labelled as one."""
    lines = []
    for p in result.projections:
        if p.skipped:
            lines.append(f"projection for {p.arm}: none ({p.skipped})")
            continue
        ten, hundred = p.gain_10x, p.gain_100x
        text = (
            f"projection for {p.arm} (a fit through its k-NN readings, not a measurement): at "
            f"10x the {p.steps_measured} self-supervised steps its features would be "
            f"{ten.mean:+.1f} k-NN points from the frozen pretrained ones ({ten.level:.0%} "
            f"interval {ten.low:+.1f} to {ten.high:+.1f}); at 100x {hundred.mean:+.1f} "
            f"({hundred.low:+.1f} to {hundred.high:+.1f})"
        )
        if p.crossing_steps is not None:
            text += f"; it would reach them after about {p.crossing_steps:,} steps"
        lines.append(text)
    return lines
