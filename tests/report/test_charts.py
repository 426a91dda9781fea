"""The chart builders: inline SVG whose text stays text, whose marks carry ids, and whose bytes
do not change between runs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from advisor.render import charts

HOSTILE = "<img src=x onerror=alert(1)>"
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def ids(svg: str) -> set[str]:
    return {e.get("id") for e in ET.fromstring(svg).iter() if e.get("id")}


def test_bar_chart_keeps_labels_as_escaped_text_with_an_id_per_bar() -> None:
    svg = charts.bar_chart("classes", [HOSTILE, "$x^2$", "cat"], [30, 20, 1], "class", "images")
    assert svg.startswith('<svg id="classes" class="chart"')
    labels = texts(svg)
    assert HOSTILE in labels and "$x^2$" in labels  # escaped in the XML, not read as math
    assert "<img" not in svg
    assert {"30", "20", "1"} <= set(labels)
    assert {"classes-class-0", "classes-class-1", "classes-class-2"} <= ids(svg)


def test_ink_follows_the_page_colour_and_nothing_dates_the_file() -> None:
    svg = charts.bar_chart("sizes", ["32-63 px"], [5], "size", "images")
    assert charts.INK not in svg and "currentColor" in svg
    assert "<metadata" not in svg and "<?xml" not in svg and "DOCTYPE" not in svg


def test_the_same_input_gives_the_same_bytes_and_charts_do_not_share_clip_ids() -> None:
    rows = [charts.Interval("gain-ssl", "ssl", 1.5, -2.0, 4.0)]
    first = charts.interval_chart("gain", rows, "points")
    assert first == charts.interval_chart("gain", rows, "points")
    other = charts.interval_chart("difference", rows, "points")
    assert ids(first).isdisjoint(ids(other))  # matplotlib's own ids too (figure_1, axes_1...)
    for svg in (first, other):  # every reference points inside its own chart
        refs = re.findall(r'(?:url\(#|href="#)([^)"]+)', svg)
        assert refs and set(refs) <= ids(svg)


def test_interval_chart_writes_each_value_and_interval() -> None:
    rows = [
        charts.Interval("gain-expected", "family", 2.25, -1.0, 7.5),
        charts.Interval("gain-tl-ssl", "tl+ssl", -0.5, -3.0, 2.0),
    ]
    svg = charts.interval_chart("gain", rows, "points over transfer")
    assert "+2.2 [-1.0, +7.5]" in texts(svg)
    assert "-0.5 [-3.0, +2.0]" in texts(svg)
    assert {"gain-gain-expected", "gain-gain-expected-interval", "gain-gain-tl-ssl"} <= ids(svg)


def test_scale_chart_marks_every_anchor_and_the_value() -> None:
    anchors = {"natural": 0.0, "noise": 0.98, "digits": 0.69}
    svg = charts.scale_chart("gap", anchors, 0.42, "your data", "domain gap")
    assert {"natural", "noise", "digits", "your data 0.42"} <= set(texts(svg))
    assert {"gap-anchor-0", "gap-anchor-1", "gap-anchor-2", "gap-measured"} <= ids(svg)


def test_long_labels_are_cut_not_squeezed() -> None:
    name = "a class named by a whole sentence " * 5
    svg = charts.bar_chart("long", [name, "b"], [3, 1], "bar", "images")
    assert name not in texts(svg)
    assert name[: charts.MAX_LABEL - 1] + "…" in texts(svg)


def test_seed_and_curve_charts_name_each_arm_and_seed() -> None:
    seeds = charts.seed_chart(
        "acc",
        [
            charts.Points("tl", [0, 1], [0.8, 0.82], 0.8, [False, True]),
            charts.Points("tl+ssl", [0, 1], [0.85, 0.8], 0.825, [False, False]),
        ],
        "accuracy",
    )
    marks = {e.get("id"): e for e in ET.fromstring(seeds).iter() if e.get("id")}
    assert {"acc-accuracy-tl-0", "acc-accuracy-tl-1", "acc-accuracy-tl-ssl-1"} <= set(marks)
    assert "acc-accuracy-tl-mean" in marks
    hollow = ET.tostring(marks["acc-accuracy-tl-1"]).decode()
    filled = ET.tostring(marks["acc-accuracy-tl-0"]).decode()
    assert "fill-opacity: 0;" in hollow and "fill-opacity: 0;" not in filled
    curves = charts.curve_chart(
        "knn", [charts.Curve("ssl", 3, [0, 10, 20], [0.3, 0.4, 0.5])], 0.45, "frozen"
    )
    assert {"knn-curve-ssl-3", "knn-curve-reference"} <= ids(curves)
    assert "frozen" in texts(curves)


@pytest.mark.parametrize("count", [0, 1])
def test_a_chart_with_few_rows_still_renders(count: int) -> None:
    svg = charts.bar_chart("few", ["a"][:count], [3][:count], "bar", "images")
    ET.fromstring(svg)
