"""A document as a short Markdown summary, for a CI job summary or a pull-request comment: the
verdict with its probability, what each arm would cost, the problems found and the pilot's
winner; the page (``advisor report``) has the rest."""

from __future__ import annotations

from collections import Counter

from advisor.render.decision import contender
from advisor.schema.analysis import Analysis
from advisor.schema.decision import Recommendation
from advisor.schema.pilot import PilotResult
from advisor.schema.profile import Profile

Body = Analysis | Recommendation | PilotResult


def _verdict(rec: Recommendation) -> list[str]:
    gain = rec.expected_gain
    if rec.toss_up:
        head = (
            f"**Verdict: toss-up**: start with `{rec.verdict}` and let a pilot decide "
            f"({contender(rec)} better: {1 - rec.probability:.0%})"
        )
    else:
        head = f"**Verdict: `{rec.verdict}`** (probability {rec.probability:.0%})"
    lines = [
        head,
        f"- Expected gain of `{contender(rec)}` over transfer: {gain.mean:+.1f} points "
        f"({gain.level:.0%} interval {gain.low:+.1f} to {gain.high:+.1f})",
    ]
    if rec.cost is not None and rec.cost.unbudgeted_verdict is not None:
        lines.append(
            f"- Named within the compute budget ({rec.cost.budget_hours:g} device-hours); the "
            f"evidence alone favours `{rec.cost.unbudgeted_verdict}`"
        )
    if rec.cost is not None:
        hours = ", ".join(
            f"{arm.arm} {arm.hours.mean:,.3g}" for arm in rec.cost.arms if arm.hours is not None
        )
        lines.append(f"- Device-hours at full scale on {rec.cost.device}: {hours}")
    if rec.pilot is not None:
        p = rec.pilot
        lines.append(
            f"- Pilot: `{p.arm}` measured {p.measured_points:+.1f} points "
            f"[{p.low:+.1f}, {p.high:+.1f}], {p.weight:.0%} of the estimate"
        )
    return lines


def _problems(profile: Profile) -> list[str]:
    counts = Counter(problem.kind.value for problem in profile.problems)
    if not counts:
        return ["- Problems found: none"]
    listed = ", ".join(f"{kind.replace('_', ' ')} {n:,}" for kind, n in sorted(counts.items()))
    return [f"- Problems found: {sum(counts.values()):,} ({listed})"]


def _pilot(result: PilotResult) -> list[str]:
    winner = f"`{result.winner}`" if result.winner else "no clear winner"
    lines = [f"- Pilot winner: {winner} ({'complete' if result.complete else 'interrupted'})"]
    lines += [
        f"  - `{d.arm}` against `tl`: {d.accuracy_points:+.1f} points [{d.low:+.1f}, {d.high:+.1f}]"
        for d in result.differences
    ]
    return lines


def summary(document: Body) -> str:
    """The summary of one document, ending with a newline."""
    if isinstance(document, Recommendation):
        title = f"### advisor decision{f': {document.name}' if document.name else ''}"
        lines = [title, "", *_verdict(document)]
    elif isinstance(document, Analysis):
        lines = [f"### advisor analysis of {', '.join(document.profile.sources)}", ""]
        if document.recommendation is not None:
            lines += _verdict(document.recommendation)
        else:
            lines.append(f"**No recommendation**: {document.no_advice}")
        lines += [
            f"- {document.profile.labeled:,} labeled and {document.profile.unlabeled:,} "
            "unlabeled images",
            *_problems(document.profile),
        ]
    else:
        lines = [f"### advisor pilot of {', '.join(document.sources)}", ""]
        if document.recommendation is not None:
            lines += _verdict(document.recommendation)
        lines += _pilot(document)
    return "\n".join(lines) + "\n"
