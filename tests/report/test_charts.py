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
    assert svg.startswith('<svg id="classes" class="chart" role="img"')
    labels = texts(svg)
    assert HOSTILE in labels and "$x^2$" in labels  # escaped in the XML, not read as math
    assert "<img" not in svg
    assert {"30", "20", "1"} <= set(labels)
    assert {"class-0", "class-1", "class-2"} <= ids(svg)


def test_ink_follows_the_page_colour_and_nothing_dates_the_file() -> None:
    svg = charts.bar_chart("sizes", ["32-63 px"], [5], "size", "images")
    assert charts.INK not in svg and "currentColor" in svg
    assert "<metadata" not in svg and "<?xml" not in svg and "DOCTYPE" not in svg


def test_the_same_input_gives_the_same_bytes_and_charts_do_not_share_clip_ids() -> None:
    rows = [charts.Interval("gain-ssl", "ssl", 1.5, -2.0, 4.0)]
    first = charts.interval_chart("gain", rows, "points")
    assert first == charts.interval_chart("gain", rows, "points")
    other = charts.interval_chart("difference", rows, "points")
    clips = re.compile(r'clipPath id="([^"]+)"')
    assert set(clips.findall(first)).isdisjoint(clips.findall(other))


def test_interval_chart_writes_each_value_and_interval() -> None:
    rows = [
        charts.Interval("gain-expected", "family", 2.25, -1.0, 7.5),
        charts.Interval("gain-tl-ssl", "tl+ssl", -0.5, -3.0, 2.0),
    ]
    svg = charts.interval_chart("gain", rows, "points over transfer")
    assert "+2.2 [-1.0, +7.5]" in texts(svg) or "+2.3 [-1.0, +7.5]" in texts(svg)
    assert "-0.5 [-3.0, +2.0]" in texts(svg)
    assert {"gain-expected", "gain-expected-interval", "gain-tl-ssl"} <= ids(svg)


def test_scale_chart_marks_every_anchor_and_the_value() -> None:
    anchors = {"natural": 0.0, "noise": 0.98, "digits": 0.69}
    svg = charts.scale_chart("gap", anchors, 0.42, "your data", "domain gap")
    assert {"natural", "noise", "digits", "your data 0.42"} <= set(texts(svg))
    assert {"anchor-0", "anchor-1", "anchor-2", "measured"} <= ids(svg)


def test_seed_and_curve_charts_name_each_arm_and_seed() -> None:
    seeds = charts.seed_chart(
        "acc",
        [charts.Points("tl", [0, 1], [0.8, 0.82]), charts.Points("tl+ssl", [0, 1], [0.85, 0.8])],
        "accuracy",
    )
    assert {"accuracy-tl-0", "accuracy-tl-1", "accuracy-tl-ssl-1", "accuracy-tl-mean"} <= ids(seeds)
    curves = charts.curve_chart(
        "knn", [charts.Curve("ssl", 3, [0, 10, 20], [0.3, 0.4, 0.5])], 0.45, "frozen"
    )
    assert {"curve-ssl-3", "curve-reference"} <= ids(curves)
    assert "frozen" in texts(curves)


@pytest.mark.parametrize("count", [0, 1])
def test_a_chart_with_few_rows_still_renders(count: int) -> None:
    svg = charts.bar_chart("few", ["a"][:count], [3][:count], "bar", "images")
    ET.fromstring(svg)
