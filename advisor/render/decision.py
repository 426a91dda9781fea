"""The recommendation in the terminal: verdict, probability, gain, reasons, caveats, flips and
recipe."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from advisor.schema.cost import CostForecast, Spread
from advisor.schema.decision import Cite, Gain, Recommendation

MAX_REASONS = 5

VERDICT_WORDS = {
    "tl": "transfer: fine-tune the pretrained model",
    "ssl": "self-supervised pretraining on your images, then fine-tune",
    "tl+ssl": "continue pretraining the pretrained model self-supervised on your images, then "
    "fine-tune",
    "tl+st": "self-train: fine-tune the pretrained model on your labels and on its own "
    "confident labels of your unlabeled images",
}

SIDE_STYLE = {
    "ssl-family": "green",
    "tl": "yellow",
    "within-ssl-family": "cyan",
    "self-training": "blue",
    "neutral": "dim",
}

CHECK_WORDS = {
    "supported": ("fit agrees", "green"),
    "consistent": ("fit unsure", "dim"),
    "contradicted": ("fit disagrees", "red"),
    "prior": ("prior only", "dim"),
    None: ("not in fit", "dim"),
}
"""What the fitted model says of each reason's direction, in the reasons table."""


def contender(rec: Recommendation) -> str:
    """The arm the probability and the expected gain are about, as the engine recorded it;
    for a document of an earlier version, which did not, the verdict's own, or when it names
    transfer, the likeliest of the arms a verdict may name (not thin, and paid for by the
    compute budget when one was given)."""
    if rec.contender is not None:
        return rec.contender
    if rec.verdict != "tl":
        return rec.verdict
    cost = rec.cost
    open_arms = [
        arm
        for arm, estimate in rec.arms.items()
        if estimate.thin is None
        and (
            cost is None
            or cost.budget_hours is None
            or not any(a.arm == arm and a.affordable is False for a in cost.arms)
        )
    ]
    return max(open_arms or rec.arms, key=lambda arm: rec.arms[arm].probability)


def alternative_probability(rec: Recommendation) -> float:
    """P(the contender beats transfer), whichever side the verdict names."""
    return 1 - rec.probability if rec.verdict == "tl" else rec.probability


def gain_interval_words(gain: Gain, arm: str) -> str:
    """What the interval is an interval of, in words a reader can act on."""
    return (
        f"{gain.level:.0%} of datasets like this one would fall between {gain.low:+.1f} and "
        f"{gain.high:+.1f} points ({arm} minus transfer, in points of accuracy or the "
        f"task's metric; the most the metric allows here is {gain.ceiling:+.1f})"
    )


def arms_table(rec: Recommendation) -> Table:
    """Every alternative against transfer: expected gain, interval, probability, and whether
    the evidence is too thin for the verdict to weigh it."""
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("arm", no_wrap=True)
    table.add_column("gain over tl", justify="right")
    table.add_column("interval", justify="right")
    table.add_column("P(beats tl)", justify="right")
    table.add_column("evidence")
    for arm, estimate in rec.arms.items():
        g = estimate.gain
        table.add_row(
            arm,
            f"{g.mean:+.1f}",
            f"{g.low:+.1f} to {g.high:+.1f}",
            f"{estimate.probability:.0%}",
            Text(f"thin: {estimate.thin}", style="yellow")
            if estimate.thin
            else Text("weighed", style="dim"),
        )
    return table


def cites_text(cites: list[Cite]) -> str:
    return "; ".join(f"{c.study}, {c.where}" for c in cites)


def _bullets(items: list[Text]) -> Table:
    """Bullets whose wrapped lines stay indented under their text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for item in items:
        grid.add_row("  •", item)
    return grid


def figure(value: float) -> str:
    """Three significant figures without an exponent: 0.0184, 8.48, 75.8, 2,470; below a
    thousandth, that bound."""
    if 0 < abs(value) < 0.001:
        return "<0.001"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def hours_words(hours: Spread) -> str:
    return f"{figure(hours.mean)} ({figure(hours.low)} to {figure(hours.high)})"


def cost_table(cost: CostForecast) -> Table:
    """Each arm's forecast at full scale: image-passes, device-hours with the spread of the
    published schedules, the price when one was given, and whether the budget pays for it."""
    table = Table(box=None, show_header=True, pad_edge=False)
    table.add_column("arm", no_wrap=True)
    table.add_column("pretraining or teacher passes", justify="right")
    table.add_column("fine-tuning passes", justify="right")
    table.add_column("device-hours (range)", justify="right")
    if cost.price_per_hour is not None:
        table.add_column("price (range)", justify="right")
    if cost.budget_hours is not None:
        table.add_column(f"within {cost.budget_hours:,g} h", justify="center")
    for arm in cost.arms:
        if arm.hours is None:
            row = [arm.arm, "-", "-", Text(arm.missing or "not forecast", style="dim")]
        else:
            row = [
                arm.arm,
                f"{arm.pretraining_images:,}",
                f"{arm.finetuning_images:,}",
                hours_words(arm.hours),
            ]
        if cost.price_per_hour is not None:
            row.append(hours_words(arm.price) if arm.price is not None else "-")
        if cost.budget_hours is not None:
            ok = arm.affordable
            words = "-" if ok is None else ("yes" if ok else "no")
            row.append(Text(words, style="" if ok is None else ("green" if ok else "red")))
        table.add_row(*row)
    return table


def cost_heading(cost: CostForecast) -> str:
    return (
        f"\nWhat each arm would cost at full scale ({cost.architecture}, {cost.resolution} px, "
        f"on {cost.device}: {figure(cost.images_per_second)} training images/s"
        f"{', measured' if cost.device_origin == 'measured' else ', reference figure'})"
    )


def recommendation_panel(rec: Recommendation) -> Panel:
    gain = rec.expected_gain
    if rec.toss_up:
        verdict = Text.assemble(
            ("Verdict: ", "bold"),
            ("toss-up", "bold magenta"),
            f" - start with {rec.verdict} ({VERDICT_WORDS[rec.verdict]}), the cheaper arm, and "
            "let a pilot decide\n",
            (f"Probability that {contender(rec)} is better: ", "bold"),
            f"{alternative_probability(rec):.0%}\n",
        )
    else:
        verdict = Text.assemble(
            ("Verdict: ", "bold"),
            (rec.verdict, "bold magenta"),
            f"  ({VERDICT_WORDS[rec.verdict]})\n",
            ("Probability it is the better choice: ", "bold"),
            f"{rec.probability:.0%}\n",
        )
    if rec.cost is not None and rec.cost.unbudgeted_verdict is not None:
        verdict.append(
            f"Named within your compute budget ({rec.cost.budget_hours:,g} device-hours): the "
            f"evidence alone favours {rec.cost.unbudgeted_verdict}\n",
            style="yellow",
        )
    head = Text.assemble(
        verdict,
        (f"Expected gain of {contender(rec)} over transfer: ", "bold"),
        f"{gain.mean:+.1f} points\n",
        (gain_interval_words(gain, contender(rec)), "dim"),
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
    reasons.add_column("model", no_wrap=True)
    reasons.add_column("why", ratio=1)
    for reason in rec.reasons[:MAX_REASONS]:
        words, style = CHECK_WORDS[reason.model_check]
        reasons.add_row(
            Text(reason.direction, style=SIDE_STYLE[reason.direction]),
            "★" * reason.strength,
            Text(words, style=style),
            Text.assemble(reason.text, (f"  [{cites_text(reason.cites)}]", "dim")),
        )
    parts: list = [head, Text("\nEach alternative against transfer", style="bold"), arms_table(rec)]
    if rec.reasons:
        parts += [Text("\nReasons", style="bold"), reasons]
    if rec.flip:
        parts.append(Text("\nWhat would change the verdict", style="bold"))
        parts.append(_bullets([Text(flip.text) for flip in rec.flip]))
    if rec.cost is not None:
        parts.append(Text(cost_heading(rec.cost), style="bold"))
        parts.append(cost_table(rec.cost))
        parts.append(_bullets([Text(note, style="dim") for note in rec.cost.notes]))
    if rec.caveats:
        parts.append(Text("\nCaveats", style="bold"))
        parts.append(_bullets([Text(caveat, style="yellow") for caveat in rec.caveats]))
    parts.append(Text("\nRecipe", style="bold"))
    steps = []
    for item in rec.recipe:
        source = "convention" if item.convention else cites_text(item.cites)
        steps.append(
            Text.assemble((f"{item.step}: ", "bold"), item.detail, (f"  [{source}]", "dim"))
        )
    parts.append(_bullets(steps))
    title = "Recommendation" + (f": {rec.name}" if rec.name else "")
    return Panel(
        Group(*parts),
        title=title,
        subtitle=_models_words(rec),
    )


def _models_words(rec: Recommendation) -> str:
    words = f"model: {rec.model.fit_rows} comparisons from {rec.model.studies} studies"
    st = rec.self_training_model
    if st is not None:
        words += f"; self-training: {st.fit_rows} from {st.studies}"
    return words


def render_recommendation(console: Console, rec: Recommendation) -> None:
    console.print(recommendation_panel(rec))
