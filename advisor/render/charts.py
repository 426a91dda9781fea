"""The report's charts: matplotlib figures written as inline SVG.

Text stays text (``svg.fonttype`` none), so the page can be searched, read by a screen reader and
checked by tests; each mark that carries a figure gets an id (matplotlib's gid) that names what it
is, prefixed with the chart's id like every other id in the SVG, so that a page of several
charts never repeats one. Ink that should follow the page's light or dark scheme is drawn in a
placeholder colour and becomes ``currentColor`` in the SVG. Nothing here reads a document's
meaning: the report hands over numbers and labels already chosen.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

INK = "#010101"
"""Placeholder for text and axes; replaced by ``currentColor`` (a colour no chart uses else)."""
COLOURS = {
    "tl": "#d08c00",
    "ssl": "#1f9e6e",
    "tl+ssl": "#2f7fc1",
    "tl+st": "#138d90",
    "scratch": "#8c8c8c",
    "tl-linear": "#b0649a",
    "frozen": "#8c8c8c",
    "mark": "#2f7fc1",
    "accent": "#c0392b",
    "muted": "#9a9a9a",
}
"""Mid-tone colours that read on a white and on a near-black page alike."""
WIDTH = 6.4
"""Inches; at matplotlib's 72 points per inch a chart is 460 px wide at its natural size."""
MAX_LABEL = 40
"""Characters of a label drawn beside a bar or row; a longer one (a class named by a sentence)
is cut with an ellipsis rather than squeezing the plot to nothing."""


def _style(salt: str) -> dict[str, object]:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": salt,  # clip-path ids: fixed, and distinct between charts of one page
        "text.parse_math": False,  # a class named "$x$" is a name, not a formula
        "font.size": 9,
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],  # one name per text element, not matplotlib's ten
        "text.color": INK,
        "axes.edgecolor": INK,
        "axes.labelcolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.facecolor": "none",
        "figure.facecolor": "none",
        "savefig.facecolor": "none",
        "savefig.transparent": True,
    }


def _svg(fig: Figure, chart_id: str) -> str:
    """The figure as an ``<svg>`` element for inlining: no XML prolog, no date, placeholder ink
    turned into ``currentColor``, every id (matplotlib's own and the marks') and every
    reference to one prefixed with the chart's id, which the root element takes."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)
    text = text.replace(INK, "currentColor")
    text = re.sub(r'\bid="([^"]+)"', rf'id="{chart_id}-\1"', text)
    text = re.sub(r'(url\(#|href="#)', rf"\g<1>{chart_id}-", text)
    return re.sub(r"<svg ", f'<svg id="{chart_id}" class="chart" ', text, count=1).strip()


def _figure(height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(WIDTH, height), layout="constrained")
    return fig, fig.add_subplot()


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: a central value with its interval."""

    mark_id: str
    label: str
    mean: float
    low: float
    high: float
    colour: str = COLOURS["mark"]


def interval_chart(chart_id: str, rows: Sequence[Interval], unit: str) -> str:
    """Rows of central values with their intervals against a zero line: gains over transfer."""
    with rc_context(_style(chart_id)):
        fig, ax = _figure(0.55 + 0.38 * len(rows))
        for y, row in enumerate(reversed(rows)):
            line = ax.plot(
                [row.low, row.high], [y, y], color=row.colour, linewidth=3, solid_capstyle="butt"
            )[0]
            dot = ax.plot([row.mean], [y], "o", color=row.colour, markersize=7)[0]
            line.set_gid(f"{row.mark_id}-interval")
            dot.set_gid(row.mark_id)
            ax.annotate(
                f"{row.mean:+.1f} [{row.low:+.1f}, {row.high:+.1f}]",
                (row.high, y),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.axvline(0, color=COLOURS["muted"], linewidth=1, linestyle="--")
        ax.set_yticks(range(len(rows)), [_label(row.label) for row in reversed(rows)])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        lows = [min(row.low, 0.0) for row in rows]
        highs = [max(row.high, 0.0) for row in rows]
        span = max(highs) - min(lows) or 1.0
        ax.set_xlim(min(lows) - 0.05 * span, max(highs) + 0.45 * span)
        ax.set_xlabel(unit)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        return _svg(fig, chart_id)


@dataclass(frozen=True)
class CostPoint:
    """One arm of a cost chart: its device-hours and its gain over transfer, each with a
    range."""

    mark_id: str
    label: str
    hours: tuple[float, float, float]
    gain: tuple[float, float, float]
    colour: str


def cost_chart(
    chart_id: str, points: Sequence[CostPoint], budget: float | None, hours_unit: str
) -> str:
    """Gain over transfer against device-hours, one cross per arm (each bar a range), hours on
    a log scale since the arms differ by orders of magnitude; the budget, when given, as a
    dashed line."""
    with rc_context(_style(chart_id)):
        fig, ax = _figure(2.8)
        for point in points:
            mean_h, low_h, high_h = (max(h, 1e-6) for h in point.hours)  # log scale
            mean_g, low_g, high_g = point.gain
            ax.plot([low_h, high_h], [mean_g, mean_g], color=point.colour, linewidth=2)[0].set_gid(
                f"{point.mark_id}-hours"
            )
            ax.plot([mean_h, mean_h], [low_g, high_g], color=point.colour, linewidth=2)[0].set_gid(
                f"{point.mark_id}-gain"
            )
            ax.plot([mean_h], [mean_g], "o", color=point.colour, markersize=7)[0].set_gid(
                point.mark_id
            )
            ax.annotate(point.label, (mean_h, mean_g), xytext=(6, 6), textcoords="offset points")
        if budget is not None:
            ax.axvline(budget, color=COLOURS["accent"], linewidth=1, linestyle="--").set_gid(
                "budget"
            )
        ax.axhline(0, color=COLOURS["muted"], linewidth=1, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlabel(hours_unit)
        ax.set_ylabel("gain over transfer, points")
        return _svg(fig, chart_id)


def bar_chart(
    chart_id: str, labels: Sequence[str], counts: Sequence[int], mark_prefix: str, unit: str
) -> str:
    """Horizontal bars with their counts written beside them, the first label on top."""
    with rc_context(_style(chart_id)):
        fig, ax = _figure(0.6 + 0.24 * len(labels))
        positions = list(range(len(labels)))[::-1]
        bars = ax.barh(positions, counts, color=COLOURS["mark"], height=0.7)
        top = max(counts) if counts else 1
        for i, (bar, count) in enumerate(zip(bars, counts, strict=True)):
            bar.set_gid(f"{mark_prefix}-{i}")
            ax.text(count + top * 0.01, bar.get_y() + 0.35, f"{count:,}", va="center", fontsize=8)
        ax.set_yticks(positions, [_label(label) for label in labels])
        ax.set_xlim(0, top * 1.15)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.set_xlabel(unit)
        ax.tick_params(axis="y", length=0)
        return _svg(fig, chart_id)


def scale_chart(
    chart_id: str, anchors: dict[str, float], value: float, value_label: str, axis: str
) -> str:
    """Where a score sits among landmarks of known kind on the same 0-1 scale: one row per
    landmark (sorted), and a line for the measured value."""
    ordered = sorted(anchors.items(), key=lambda item: (item[1], item[0]))
    with rc_context(_style(chart_id)):
        fig, ax = _figure(0.9 + 0.2 * len(ordered))
        for y, (_, score) in enumerate(ordered):
            dot = ax.plot([score], [y], "o", color=COLOURS["muted"], markersize=5, clip_on=False)[0]
            dot.set_gid(f"anchor-{y}")
        line = ax.axvline(value, color=COLOURS["accent"], linewidth=2)
        line.set_gid("measured")
        ax.annotate(
            f"{value_label} {value:.2f}",
            (value, len(ordered) - 0.5),
            xytext=(4, 2),
            textcoords="offset points",
            color=COLOURS["accent"],
            fontsize=8,
            annotation_clip=False,
        )
        ax.set_yticks(range(len(ordered)), [_label(name) for name, _ in ordered])
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.6, len(ordered) + 0.2)
        ax.set_xlabel(axis)
        ax.grid(axis="y", color=COLOURS["muted"], linewidth=0.3)
        ax.tick_params(axis="y", length=0)
        return _svg(fig, chart_id)


@dataclass(frozen=True)
class Points:
    """Accuracies of one arm, one per seed, with the arm's accuracy as the document gives it
    (over the compared seeds) and which seeds were set apart from the comparison."""

    arm: str
    seeds: Sequence[int]
    values: Sequence[float]
    mean: float
    set_apart: Sequence[bool]


def seed_chart(chart_id: str, arms: Sequence[Points], unit: str) -> str:
    """Every seed's score of every arm as a dot (hollow when the seed was set apart), with the
    arm's accuracy as a tick: the spread between seeds is what a paired difference has to beat."""
    with rc_context(_style(chart_id)):
        fig, ax = _figure(0.6 + 0.42 * len(arms))
        for y, points in enumerate(reversed(arms)):
            colour = COLOURS.get(points.arm, COLOURS["mark"])
            for seed, value, apart in zip(
                points.seeds, points.values, points.set_apart, strict=True
            ):
                dot = ax.plot(
                    [value],
                    [y],
                    "o",
                    color=colour,
                    markerfacecolor="none" if apart else colour,
                    alpha=0.8,
                    markersize=6,
                )[0]
                dot.set_gid(f"accuracy-{_slug(points.arm)}-{seed}")
            tick = ax.plot(
                [points.mean, points.mean], [y - 0.25, y + 0.25], color=colour, linewidth=2
            )[0]
            tick.set_gid(f"accuracy-{_slug(points.arm)}-mean")
        ax.set_yticks(range(len(arms)), [points.arm for points in reversed(arms)])
        ax.set_ylim(-0.6, len(arms) - 0.4)
        ax.set_xlabel(unit)
        ax.tick_params(axis="y", length=0)
        return _svg(fig, chart_id)


@dataclass(frozen=True)
class Curve:
    """A k-NN learning curve of one arm and seed."""

    arm: str
    seed: int
    steps: Sequence[int]
    values: Sequence[float]
    set_apart: bool = False


def curve_chart(
    chart_id: str, curves: Sequence[Curve], reference: float | None, reference_label: str
) -> str:
    """k-NN accuracy against self-supervised steps, a line per arm and seed (dotted when the seed
    was set apart), with the frozen pretrained features' accuracy as a dashed line when known."""
    with rc_context(_style(chart_id)):
        fig, ax = _figure(2.8)
        labelled: set[str] = set()
        for curve in curves:
            colour = COLOURS.get(curve.arm, COLOURS["mark"])
            line = ax.plot(
                curve.steps,
                curve.values,
                "o:" if curve.set_apart else "o-",
                color=colour,
                markersize=3,
                linewidth=1.4,
                label=None if curve.arm in labelled else curve.arm,
            )[0]
            labelled.add(curve.arm)
            line.set_gid(f"curve-{_slug(curve.arm)}-{curve.seed}")
        if reference is not None:
            ref = ax.axhline(
                reference, color=COLOURS["frozen"], linestyle="--", label=reference_label
            )
            ref.set_gid("curve-reference")
        ax.set_xlabel("self-supervised steps")
        ax.set_ylabel("k-NN accuracy")
        ax.legend(frameon=False, fontsize=8, labelcolor=INK)
        return _svg(fig, chart_id)


def _slug(arm: str) -> str:
    """An arm's name as it appears in ids (``tl+ssl`` -> ``tl-ssl``)."""
    return arm.replace("+", "-")
