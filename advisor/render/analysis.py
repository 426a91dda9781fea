"""The terminal report of an analysis (rich): counts, classes, imbalance, images, problems,
probes and notices. Reads the document; computes nothing new."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from advisor.schema.analysis import Analysis
from advisor.schema.probes import Measurement, Probes
from advisor.schema.profile import (
    Imbalance,
    Problem,
    ProblemKind,
    Profile,
    Quality,
    QualityReading,
)

POOL_SHIFT_WARNING = 1.0
"""Proxy A-distance between labeled and unlabeled images from which a linear classifier tells
them apart three times in four: a convention for when to warn, not a fitted value."""
MAX_BARS = 25
"""Classes drawn in the distribution chart; the rest are summarised in one line."""
MAX_PROBLEMS_PER_KIND = 5
MAX_PATHS = 3
BAR_WIDTH = 40

WHY = {
    ProblemKind.unreadable: "files that do not decode: loaders crash on them or skip them silently",
    ProblemKind.oversized: "images over the decompression-bomb limit: loaders warn or refuse",
    ProblemKind.duplicate: "byte-identical copies: they weigh double in pretraining and the loss",
    ProblemKind.near_duplicate: "perceptually identical images: they over-weight one picture",
    ProblemKind.conflicting_labels: "one image with two labels: noise no model can fit",
    ProblemKind.split_leak: "images shared with an evaluation split: scores would be inflated",
    ProblemKind.low_information: "nearly uniform images, far flatter than the rest",
    ProblemKind.dark: "images far darker than the rest of the dataset",
    ProblemKind.bright: "images far brighter than the rest of the dataset",
    ProblemKind.blurry: "images far blurrier than the rest: little detail for self-supervision",
}


def render_analysis(console: Console, analysis: Analysis) -> None:
    """Print the analysis of a dataset: counts, classes, imbalance, images, problems, notices."""
    profile = analysis.profile
    console.print(Panel.fit(_counts(profile), title="Dataset", subtitle=", ".join(profile.sources)))
    if profile.imbalance is not None:
        console.print(_class_chart(profile.imbalance))
        console.print(_imbalance(profile.imbalance))
    console.print(_images(profile))
    if profile.quality is not None:
        console.print(_quality(profile.quality))
    console.print(_problems(profile.problems))
    if not profile.decoded:
        console.print(
            Text.assemble(
                ("note ", "cyan"),
                "quick profile: images were not decoded, so near duplicates were not searched and "
                "damage inside the pixel data was caught only where the format has checksums "
                "(PNG); run without --quick for the full check",
            )
        )
    if analysis.probes is not None:
        console.print(_probes(analysis.probes))
    for notice in profile.notices:
        text = f"{notice.count:,} {notice.detail}"
        if notice.paths:
            more = " …" if len(notice.paths) > MAX_PATHS else ""
            text += ": " + ", ".join(notice.paths[:MAX_PATHS]) + more
        console.print(Text.assemble(("note ", "cyan"), text))


def _counts(profile: Profile) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    f = profile.files
    table.add_row("readable images", f"{f.images:,}")
    table.add_row("  labeled", f"{profile.labeled:,} in {len(profile.classes)} classes")
    table.add_row("  unlabeled", f"{profile.unlabeled:,}")
    for name, split in profile.splits.items():
        table.add_row(
            f"  {name}",
            f"{split.images:,} ({split.labeled:,} labeled, {split.unlabeled:,} unlabeled)",
        )
    skipped = [
        (f.unreadable, "unreadable"),
        (f.oversized, "oversized"),
        (f.non_image, "not images"),
        (f.hidden, "hidden"),
    ]
    other = ", ".join(f"{n:,} {what}" for n, what in skipped if n)
    table.add_row("other files", other or "none")
    return table


def _class_chart(imb: Imbalance) -> Panel:
    counts = sorted(imb.class_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    largest = counts[0][1]
    width = max(len(name) for name, _ in counts[:MAX_BARS])
    lines = []
    for name, n in counts[:MAX_BARS]:
        bar = "█" * max(1, round(BAR_WIDTH * n / largest))
        lines.append(Text.assemble(f"{name:>{width}} ", (bar, "green"), f" {n:,}"))
    if len(counts) > MAX_BARS:
        rest = counts[MAX_BARS:]
        lines.append(Text(f"… {len(rest)} more classes with {sum(n for _, n in rest):,} images"))
    return Panel(Group(*lines), title=f"Images per class ({imb.basis})", expand=False)


def _imbalance(imb: Imbalance) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("largest / smallest class", f"{imb.max_min_ratio:.1f}")
    if imb.normalized_entropy is not None:
        table.add_row("normalised entropy", f"{imb.normalized_entropy:.3f}  (1 = balanced)")
    table.add_row("Gini coefficient", f"{imb.gini:.3f}  (0 = balanced)")
    table.add_row(
        "effective samples",
        f"{imb.effective_samples:,.1f} of {sum(imb.class_counts.values()):,}"
        f"  (β = {imb.effective_samples_beta}, Cui et al. 2019)",
    )
    return Panel(Group(table, Text(imb.reading, style="italic")), title="Imbalance", expand=False)


def _images(profile: Profile) -> Panel:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    s = profile.sizes.short_side
    table.add_row("short side (px)", f"median {s.median:g}, range {s.min:g}–{s.max:g}")
    common = ", ".join(f"{c.width}×{c.height} ({c.count:,})" for c in profile.sizes.most_common[:3])
    table.add_row("most common sizes", common)
    table.add_row("modes", _distribution(profile.modes))
    table.add_row("formats", _distribution(profile.formats))
    table.add_row("on disk", human_bytes(profile.bytes))
    return Panel(table, title="Images", expand=False)


def _quality(quality: Quality) -> Panel:
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
    table.add_column("measure", no_wrap=True)
    table.add_column("range", no_wrap=True)
    table.add_column("reading", overflow="fold")
    r = quality.resolution
    table.add_row("resolution", f"{r.below_pipeline:.0%} upsampled", r.reading)
    rows: list[tuple[str, QualityReading | None]] = [
        ("sharpness", quality.sharpness),
        ("noise σ", quality.noise),
        ("brightness", quality.brightness),
        ("contrast", quality.contrast),
        ("JPEG quality", quality.jpeg_quality),
    ]
    for name, reading in rows:
        if reading is not None:
            table.add_row(
                name, f"{reading.spread.min:.3g}–{reading.spread.max:.3g}", reading.reading
            )
    title = f"Quality (grayscale, measured at {quality.working_side} px)"
    return Panel(table, title=title, expand=False)


def _distribution(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n:,}" for name, n in counts.items())


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n:,} B"
    size, unit = n / 1024, "KB"
    for bigger in ("MB", "GB", "TB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{size:,.1f} {unit}"


def _problems(problems: list[Problem]) -> Panel:
    if not problems:
        return Panel(Text("none found", style="green"), title="Problems", expand=False)
    grouped: dict[ProblemKind, list[Problem]] = defaultdict(list)
    for problem in problems:
        grouped[problem.kind].append(problem)
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1)
    table.add_column(ratio=1)
    for kind in ProblemKind:
        found = grouped.get(kind)
        if not found:
            continue
        table.add_row(
            "", Text.assemble((f"{kind.value} ({len(found)})", "bold red"), f" — {WHY[kind]}")
        )
        for problem in found[:MAX_PROBLEMS_PER_KIND]:
            paths = ", ".join(problem.paths[:MAX_PATHS])
            if len(problem.paths) > MAX_PATHS:
                paths += f" (+{len(problem.paths) - MAX_PATHS} more)"
            table.add_row("•", Text.assemble((paths, "yellow"), "\n", problem.detail))
        if len(found) > MAX_PROBLEMS_PER_KIND:
            table.add_row(
                "", Text(f"… {len(found) - MAX_PROBLEMS_PER_KIND} more in the --json output")
            )
    return Panel(table, title=f"Problems ({len(problems)})")


def gap_words(score: float) -> str:
    """Plain words for the aggregate domain gap (quarters of the natural-to-noise scale)."""
    if score < 0.25:
        return "near the backbone's source (natural photos)"
    if score < 0.5:
        return "moderately far from the backbone's source"
    if score < 0.75:
        return "far from the backbone's source"
    return "very far from the backbone's source, close to noise"


def measurement_text(m: Measurement) -> str:
    if m.value is None:
        return "–"
    text = f"{m.value:.3f}" if abs(m.value) < 1000 else f"{m.value:,.0f}"
    return text + (f" ± {m.spread:.3f}" if m.spread is not None else "")


def probe_rows(probes: Probes) -> list[tuple[str, Measurement]]:
    """Every probe's reading under the name the reports give it, in the order they list them."""
    gap = probes.domain_gap
    return [
        ("domain gap", gap.score),
        ("batch-norm divergence", gap.batchnorm_divergence),
        ("source-head entropy", gap.source_entropy),
        ("k-NN gain over untrained", gap.knn_gain),
        ("LogME gain over untrained", gap.logme_gain),
        ("PAD to --reference", gap.reference_pad),
        ("PAD labeled vs unlabeled", gap.pool_shift_pad),
        ("LogME", probes.transferability.logme),
        ("LEEP", probes.transferability.leep),
        ("NCE", probes.transferability.nce),
        ("H-score", probes.transferability.h_score),
        ("H-score (shrinkage)", probes.transferability.h_score_shrinkage),
        ("k-NN accuracy", probes.transferability.knn_accuracy),
        ("linear-probe accuracy", probes.transferability.linear_probe_accuracy),
        ("class separation", probes.granularity.class_separation),
    ]


def _probes(probes: Probes) -> Panel:
    gap = probes.domain_gap
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
    table.add_column("probe", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("images", justify="right", no_wrap=True)
    table.add_column("meaning", overflow="fold")
    for name, m in probe_rows(probes):
        note = m.meaning if m.value is not None else Text(f"not measured: {m.skipped}", "dim")
        table.add_row(
            name, measurement_text(m), f"{m.sample:,}" if m.value is not None else "", note
        )
    parts: list = [
        Text(
            f"{probes.backbone} at {probes.resolution} px on {probes.device}: "
            f"{probes.labeled_sample:,} labeled and {probes.unlabeled_sample:,} unlabeled "
            f"images, cache {probes.cache}, {probes.seconds:.1f} s",
            style="dim",
        )
    ]
    if gap.score.value is not None:
        parts.append(
            Text.assemble(
                ("domain gap ", "bold"),
                (f"{gap.score.value:.2f}", "bold magenta"),
                f": {gap_words(gap.score.value)}",
                _driver(gap.driven_by),
            )
        )
        nearest = _landmarks(gap.score.value, gap.calibration)
        if nearest:
            parts.append(Text(f"on the same scale: {nearest}", style="dim"))
    shift = gap.pool_shift_pad.value
    if shift is not None and shift >= POOL_SHIFT_WARNING:
        parts.append(
            Text(
                f"warning: the unlabeled pool looks like another domain than the labeled images "
                f"(proxy A-distance {shift:.2f}); self-supervised pretraining on it may not help",
                style="yellow",
            )
        )
    parts.append(table)
    return Panel(Group(*parts), title="Probes")


SIGNAL_WORDS = {
    "batchnorm_divergence": "batch-norm divergence",
    "source_entropy": "source-head entropy",
}


def _driver(signal: str | None) -> str:
    return f" (mostly from the {SIGNAL_WORDS.get(signal, signal)})" if signal else ""


def _landmarks(score: float, landmarks: dict[str, float], shown: int = 4) -> str:
    """The image sets of known kind whose scores lie nearest the dataset's."""
    nearest = sorted(landmarks.items(), key=lambda item: abs(item[1] - score))[:shown]
    return ", ".join(f"{name} {value:.2f}" for name, value in sorted(nearest, key=lambda i: i[1]))
