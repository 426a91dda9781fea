"""The HTML report: one self-contained page for any set of the tool's documents.

The page is built from the documents alone (and the thumbnails the caller read for it): every
figure on it is one the document holds, drawn or written out, never computed anew. Templates are
jinja2 with autoescaping, so any string that came from the user's data (a class named
``<script>``, a path) is text on the page; the charts are matplotlib SVG whose text matplotlib
escapes. The same documents and thumbnails give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path, PurePath

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup

from advisor.render import charts
from advisor.render.analysis import (
    MAX_BARS,
    SIGNAL_WORDS,
    WHY,
    gap_words,
    human_bytes,
    measurement_text,
    probe_rows,
)
from advisor.render.decision import (
    CHECK_WORDS,
    VERDICT_WORDS,
    alternative_probability,
    cites_text,
    contender,
    gain_interval_words,
)
from advisor.render.pilot import by_seed, projection_lines
from advisor.schema.analysis import Analysis
from advisor.schema.decision import Recommendation
from advisor.schema.pilot import PilotResult
from advisor.schema.profile import Problem, ProblemKind, Profile
from advisor.schema.vocabulary import SSL_ARMS

MAX_PROBLEMS_PER_KIND = 12
"""Problems of one kind shown on the page; the rest are counted. Twelve rows of thumbnails are
enough to judge whether a kind of finding is real, and keep a page for 100,000 images small."""
MAX_THUMBS = 4
"""Images shown per problem (a group of near duplicates can hold many)."""
PATH_ONLY = frozenset({ProblemKind.unreadable, ProblemKind.oversized})
"""Problems listed by path without thumbnails: the file does not decode, or decoding it is what
the decompression-bomb limit is there to prevent."""

Body = Analysis | Recommendation | PilotResult


@dataclass(frozen=True)
class Document:
    """A document, the name the page gives it (its file name, or the command's), and the folder
    it was read from (relative image paths are also looked for from there)."""

    name: str
    body: Body
    folder: Path | None = None

    @property
    def kind(self) -> str:
        return {Analysis: "analysis", Recommendation: "decision", PilotResult: "pilot result"}[
            type(self.body)
        ]


@dataclass(frozen=True)
class Thumbnails:
    """Images read for the page: path as the document writes it -> ``data:`` URI. ``missing``
    holds the paths that were looked for and not found (a moved or deleted data folder)."""

    images: Mapping[str, str] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()


def render_report(documents: Sequence[Document], thumbnails: Thumbnails | None = None) -> str:
    """The page, as text."""
    thumbnails = thumbnails or Thumbnails()
    parts = [_document(i, doc, thumbnails) for i, doc in enumerate(documents)]
    versions = sorted({doc.body.tool_version for doc in documents})
    script = _asset("report.js")
    return _template().render(
        documents=parts,
        versions=versions,
        style=Markup(_asset("report.css")),
        script=Markup(script),
        script_hash=base64.b64encode(hashlib.sha256(script.encode()).digest()).decode(),
    )


@cache
def _template() -> Template:
    env = Environment(
        loader=PackageLoader("advisor.render", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["signed"] = lambda x, digits=1: f"{x:+.{digits}f}"
    env.filters["percent"] = lambda x: f"{x:.0%}"
    env.filters["thousands"] = lambda x: f"{x:,}"
    return env.get_template("report.html.j2")


@cache
def _asset(name: str) -> str:
    return (resources.files("advisor.render") / "templates" / name).read_text("utf-8")


def _document(index: int, doc: Document, thumbnails: Thumbnails) -> dict:
    prefix = f"d{index}"
    body = doc.body
    part: dict = dict.fromkeys(
        ("recommendation", "no_advice", "declared", "dataset", "problems", "probes", "pilot")
    )
    part |= {"id": prefix, "name": doc.name, "kind": doc.kind}
    recommendation = body if isinstance(body, Recommendation) else body.recommendation
    if recommendation is not None:
        part["recommendation"] = _recommendation(prefix, recommendation)
    if isinstance(body, Analysis):
        part["no_advice"] = body.no_advice
        part["declared"] = {k: v for k, v in body.declared.model_dump().items() if v is not None}
        part["dataset"] = _dataset(prefix, body.profile)
        part["problems"] = _problems(body.profile, thumbnails)
        if body.probes is not None:
            part["probes"] = _probes(prefix, body)
    if isinstance(body, PilotResult):
        part["pilot"] = _pilot(prefix, body)
    return part


def _recommendation(prefix: str, rec: Recommendation) -> dict:
    gain = rec.expected_gain
    rows = [
        charts.Interval(
            "gain-expected",
            f"expected: {contender(rec)}",
            gain.mean,
            gain.low,
            gain.high,
            "#7b52ab",
        )
    ]
    for arm, estimate in rec.arms.items():
        g = estimate.gain
        rows.append(
            charts.Interval(
                f"gain-{arm.replace('+', '-')}",
                f"{arm} (thin evidence)" if estimate.thin else arm,
                g.mean,
                g.low,
                g.high,
                charts.COLOURS.get(arm, charts.COLOURS["mark"]),
            )
        )
    if rec.pilot is not None:
        p = rec.pilot
        rows.append(
            charts.Interval(
                "gain-pilot",
                f"pilot: {p.arm} measured",
                p.measured_points,
                p.low,
                p.high,
                charts.COLOURS["accent"],
            )
        )
    return {
        "rec": rec,
        "cost_chart": _cost_chart(prefix, rec),
        "words": VERDICT_WORDS[rec.verdict],
        "contender": contender(rec),
        "alternative_probability": alternative_probability(rec),
        "gain_words": gain_interval_words(gain, contender(rec)),
        "gain_chart": Markup(
            charts.interval_chart(
                f"{prefix}-gain-chart",
                rows,
                f"points over transfer ({gain.level:.0%} intervals)",
            )
        ),
        "reasons": [
            {"reason": r, "check": CHECK_WORDS[r.model_check][0], "cites": cites_text(r.cites)}
            for r in rec.reasons
        ],
        "recipe": [
            {"item": item, "source": "convention" if item.convention else cites_text(item.cites)}
            for item in rec.recipe
        ],
        "features": _features(rec),
    }


def _cost_chart(prefix: str, rec: Recommendation) -> Markup | None:
    """Each forecast arm's gain (transfer's is 0 by definition) against its device-hours."""
    cost = rec.cost
    if cost is None:
        return None
    points = []
    for arm in cost.arms:
        if arm.hours is None:
            continue
        gain = (0.0, 0.0, 0.0)
        if arm.arm in rec.arms:
            g = rec.arms[arm.arm].gain
            gain = (g.mean, g.low, g.high)
        points.append(
            charts.CostPoint(
                f"cost-{arm.arm.replace('+', '-')}",
                arm.arm,
                (arm.hours.mean, arm.hours.low, arm.hours.high),
                gain,
                charts.COLOURS.get(arm.arm, charts.COLOURS["mark"]),
            )
        )
    if not points:
        return None
    unit = f"device-hours on {cost.device} (log scale)"
    return Markup(charts.cost_chart(f"{prefix}-cost-chart", points, cost.budget_hours, unit))


def _features(rec: Recommendation) -> list[tuple[str, str]]:
    """What the advice was decided from, as name and value (with where the value came from)."""
    f = rec.features
    rows = [
        ("labeled images", f"{f.labeled_images:,}"),
        ("labeled per class", "–" if f.labeled_per_class is None else f"{f.labeled_per_class:g}"),
        ("unlabeled images", f"{f.unlabeled_images:,}"),
        ("images for self-supervision", f"{f.pool_images:,}"),
        ("classes", "–" if f.classes is None else str(f.classes)),
        ("image size", "–" if f.image_size is None else f"{f.image_size} px"),
        ("task", f.task),
        ("domain", f.domain or "–"),
        (
            "domain gap",
            ("–" if f.domain_gap is None else f"{f.domain_gap:.2f}")
            + f" ({f.domain_gap_origin}: {f.domain_gap_basis})",
        ),
        ("fine-grained", f"{'yes' if f.fine_grained else 'no'} ({f.fine_grained_origin})"),
        ("protocol", f"{f.protocol} ({f.protocol_origin})"),
        ("pool", f"{f.pool_relation} ({f.pool_relation_origin}: {f.pool_relation_basis})"),
    ]
    return [(name, str(value)) for name, value in rows]


def _dataset(prefix: str, profile: Profile) -> dict:
    part: dict = {
        "profile": profile,
        "bytes": human_bytes(profile.bytes),
        "class_chart": None,
        "size_chart": None,
    }
    imbalance = profile.imbalance
    if imbalance is not None:
        counts = sorted(imbalance.class_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = counts[:MAX_BARS]
        part["class_chart"] = Markup(
            charts.bar_chart(
                f"{prefix}-class-chart",
                [name for name, _ in shown],
                [n for _, n in shown],
                "class",
                f"labeled images per class ({imbalance.basis})",
            )
        )
        rest = counts[MAX_BARS:]
        part["classes_not_drawn"] = (len(rest), sum(n for _, n in rest))
    bins = profile.sizes.short_side_histogram
    if bins:
        labels = [f"{b.low}–{b.high - 1} px" for b in bins]
        counts = [b.count for b in bins]
        unit = "images by short side"
    else:  # a document from before the histogram: the most common sizes instead
        labels = [f"{c.width}×{c.height}" for c in profile.sizes.most_common]
        counts = [c.count for c in profile.sizes.most_common]
        unit = "images of the most common sizes"
    if counts:
        part["size_chart"] = Markup(
            charts.bar_chart(f"{prefix}-size-chart", labels, counts, "size", unit)
        )
    return part


def shown_problems(profile: Profile) -> list[tuple[ProblemKind, list[Problem], int]]:
    """The problems the page shows, by kind in the report's order: the first of each kind up
    to the cap, and how many more there are."""
    by_kind: dict[ProblemKind, list[Problem]] = {}
    for problem in profile.problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    return [
        (
            kind,
            by_kind[kind][:MAX_PROBLEMS_PER_KIND],
            max(0, len(by_kind[kind]) - MAX_PROBLEMS_PER_KIND),
        )
        for kind in ProblemKind
        if kind in by_kind
    ]


def thumbnail_paths(profile: Profile) -> list[str]:
    """The images the page would show as thumbnails."""
    return [
        path
        for kind, problems, _ in shown_problems(profile)
        if kind not in PATH_ONLY
        for problem in problems
        for path in problem.paths[:MAX_THUMBS]
    ]


def _problems(profile: Profile, thumbnails: Thumbnails) -> dict:
    splits = set(profile.splits) - {"unsplit"}
    groups = []
    for kind, problems, rest in shown_problems(profile):
        rows = []
        for problem in problems:
            images = [
                {
                    "path": path,
                    "split": _split_of(path, profile.sources, splits),
                    "src": thumbnails.images.get(path),
                    "missing": path in thumbnails.missing,
                }
                for path in problem.paths[:MAX_THUMBS]
            ]
            rows.append(
                {
                    "problem": problem,
                    "images": images,
                    "more": len(problem.paths) - len(images),
                    "pictures": kind not in PATH_ONLY,
                }
            )
        groups.append({"kind": kind.value, "why": WHY[kind], "rows": rows, "rest": rest})
    shown = [p for g in groups for r in g["rows"] for p in r["images"]]
    return {
        "groups": groups,
        "total": len(profile.problems),
        "folder_gone": any(p["missing"] for p in shown) and not any(p["src"] for p in shown),
        "sources": profile.sources,
    }


def _set_apart(result: PilotResult) -> set[tuple[str, int]]:
    """The (arm, seed) runs outside the comparison: failed runs, and seeds left out of it (not
    finished by every arm, or trained under another protocol)."""
    apart = {(f.arm, f.seed) for f in result.failed_runs}
    if result.compared_seeds is not None:
        compared = set(result.compared_seeds)
        apart |= {(u.arm, u.seed) for u in result.units if u.seed not in compared}
    return apart


def _split_of(path: str, sources: Sequence[str], splits: set[str]) -> str | None:
    """The split folder a path lies in: the first folder below the data folder it came from
    (a manifest's splits are not in its paths, so its images get none)."""
    parts = PurePath(path).parts
    for source in sources:
        root = PurePath(source).parts
        if parts[: len(root)] == root and len(parts) > len(root) + 1:
            return parts[len(root)] if parts[len(root)] in splits else None
    return None


def _probes(prefix: str, analysis: Analysis) -> dict:
    probes = analysis.probes
    assert probes is not None
    gap = probes.domain_gap
    part: dict = {
        "probes": probes,
        "rows": [
            {
                "name": name,
                "value": measurement_text(m),
                "sample": m.sample if m.value is not None else None,
                "meaning": m.meaning,
                "skipped": m.skipped,
            }
            for name, m in probe_rows(probes)
        ],
        "contributions": sorted(gap.contributions.items(), key=lambda kv: -abs(kv[1])),
        "gap": None,
        "gap_chart": None,
        "driven_by": gap.driven_by and SIGNAL_WORDS.get(gap.driven_by, gap.driven_by),
    }
    score = gap.score.value
    if score is not None:
        part["gap"] = score
        part["gap_words"] = gap_words(score)
        if gap.calibration:
            part["gap_chart"] = Markup(
                charts.scale_chart(
                    f"{prefix}-gap-chart",
                    gap.calibration,
                    score,
                    "your data",
                    "domain gap (0 = natural photos, 1 = noise)",
                )
            )
    return part


def _pseudo_label_lines(result: PilotResult) -> list[str]:
    """What each ``tl+st`` student learned from: how many of the seed's unlabeled images its
    teacher labeled confidently enough."""
    return [
        f"seed {u.seed}: {u.pseudo_labels:,} of {u.unlabeled_images:,} unlabeled images "
        f"labeled by the teacher with at least {u.pseudo_threshold:.0%} confidence"
        for u in sorted(result.units, key=lambda u: u.seed)
        if u.pseudo_labels is not None
        and u.unlabeled_images is not None
        and u.pseudo_threshold is not None
    ]


def _pilot(prefix: str, result: PilotResult) -> dict:
    plan = result.plan
    apart = _set_apart(result)
    summaries = {a.arm: a for a in result.arms}
    points = []
    for arm, summary in summaries.items():
        units = sorted((u for u in result.units if u.arm == arm), key=lambda u: u.seed)
        points.append(
            charts.Points(
                arm,
                [u.seed for u in units],
                [u.accuracy for u in units],
                summary.accuracy,
                [(u.arm, u.seed) in apart for u in units],
            )
        )
    curves = [
        charts.Curve(
            u.arm,
            u.seed,
            [p.step for p in u.curve],
            [p.knn_accuracy for p in u.curve],
            (u.arm, u.seed) in apart,
        )
        for u in sorted(result.units, key=lambda u: (u.arm, u.seed))
        if u.arm in SSL_ARMS and u.curve
    ]
    frozen = next((p.knn_transfer for p in result.projections if p.knn_transfer is not None), None)
    differences = [
        charts.Interval(
            f"difference-{d.arm.replace('+', '-')}",
            f"{d.arm} − tl",
            d.accuracy_points,
            d.low,
            d.high,
            charts.COLOURS.get(d.arm, charts.COLOURS["mark"]),
        )
        for d in result.differences
    ]
    part: dict = {
        "result": result,
        "finetune_steps": by_seed([s.finetune_steps for s in plan.steps]) if plan.steps else "no",
        "ssl_steps": by_seed([s.ssl_steps for s in plan.steps])
        if any(s.ssl_steps for s in plan.steps)
        else None,
        "set_apart": bool(apart),
        "differences": {d.arm: d for d in result.differences},
        "projections": projection_lines(result),
        "pseudo_labels": _pseudo_label_lines(result),
        "seed_chart": None,
        "difference_chart": None,
        "curve_chart": None,
    }
    if points:
        part["seed_chart"] = Markup(
            charts.seed_chart(f"{prefix}-seed-chart", points, "accuracy on the held-out images")
        )
    if differences:
        level = result.differences[0].level
        part["difference_chart"] = Markup(
            charts.interval_chart(
                f"{prefix}-difference-chart",
                differences,
                f"accuracy points against tl, paired by seed ({level:.0%} intervals)",
            )
        )
    if curves:
        part["curve_chart"] = Markup(
            charts.curve_chart(
                f"{prefix}-curve-chart", curves, frozen, "frozen pretrained features"
            )
        )
    return part
