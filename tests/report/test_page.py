"""The page without a browser: which sections each document gets, the numbers in them, escaping,
thumbnails, caps, and identical bytes for identical documents."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from conftest import HOSTILE
from helpers import validate

from advisor.render.report import MAX_PROBLEMS_PER_KIND, Document, render_report
from advisor.schema.analysis import Analysis
from advisor.schema.profile import Problem, ProblemKind
from advisor.services.report import read_thumbnails, report_html


class Page(HTMLParser):
    """What the tests read of a page: element ids, the visible text, and every URL-bearing
    attribute."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[str] = []
        self.chunks: list[str] = []
        self._skip = 0
        self.feed(html)
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        self.urls += [v for k, v in attrs if k in {"src", "href", "action", "srcset"} and v]
        if tag in {"script", "style"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def sections(page: Page, prefix: str = "d0") -> set[str]:
    return {i.removeprefix(prefix + "-") for i in page.ids if i.startswith(prefix + "-")}


def test_an_analysis_without_probes_has_verdict_dataset_and_problems(hostile) -> None:
    _, analysis = hostile
    page = Page(render_report([Document("analysis.json", analysis)], read_thumbnails_of(analysis)))
    assert {"verdict", "reasons", "recipe", "dataset", "problems"} <= sections(page)
    assert not {"probes", "pilot"} & sections(page)
    assert {"d0-class-chart", "d0-size-chart", "d0-gain-chart"} <= page.ids
    rec = analysis.recommendation
    assert rec is not None
    shown = 1 - rec.probability if rec.toss_up and rec.verdict == "tl" else rec.probability
    assert f"{shown:.0%}" in page.text
    assert f"{rec.expected_gain.mean:+.1f} points" in page.text
    assert f"{analysis.profile.files.images:,}" in page.text
    kinds = {p.kind for p in analysis.profile.problems}
    assert {"duplicate", "conflicting_labels", "split_leak", "unreadable"} <= kinds
    for kind in kinds:
        assert f"{kind} (" in page.text


def read_thumbnails_of(analysis: Analysis):
    return read_thumbnails([Document("a", analysis)])


def test_names_from_the_data_stay_text_everywhere(hostile) -> None:
    _, analysis = hostile
    html = report_html([Document(f"{HOSTILE}.json", analysis)])
    page = Page(html)
    # the only images are the thumbnails, from data: URIs
    assert all(url.startswith(("data:image/jpeg;base64,", "#")) for url in page.urls)
    assert "src=x" not in " ".join(page.urls)
    assert HOSTILE in page.text  # the class chart's label, the file names and the title
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 3
    assert "<img src=x" not in html


def test_problems_show_thumbnails_with_their_split_and_unreadable_files_as_paths(hostile) -> None:
    _, analysis = hostile
    html = report_html([Document("a.json", analysis)])
    leak = next(p for p in analysis.profile.problems if p.kind == ProblemKind.split_leak)
    row = html[html.index('<tr class="problem split_leak">') :]
    row = row[: row.index("</tr>")]
    assert row.count("data:image/jpeg;base64,") == len(leak.paths)
    assert '<span class="split">train</span>' in row and '<span class="split">test</span>' in row
    unreadable = html[html.index('<tr class="problem unreadable">') :]
    unreadable = unreadable[: unreadable.index("</tr>")]
    assert "data:image" not in unreadable and "broken.png" in unreadable


def test_a_page_made_after_the_data_moved_says_so_and_lists_paths(hostile) -> None:
    data, analysis = hostile
    shutil.move(data, data.parent / "elsewhere")
    html = report_html([Document("a.json", analysis)])
    assert "data:image" not in html
    assert "The images are not where the document says" in Page(html).text
    assert "copy.png" in html


def test_the_same_documents_give_the_same_bytes(hostile, stored_pilot) -> None:
    _, analysis = hostile
    documents = [Document("a.json", analysis), stored_pilot]
    assert report_html(documents) == report_html(documents)


def test_stored_analysis_shows_probes_with_the_gap_on_its_scale(stored_analysis) -> None:
    page = Page(report_html([stored_analysis]))
    body = stored_analysis.body
    gap = body.probes.domain_gap
    assert "probes" in sections(page) and "d0-gap-chart" in page.ids
    assert f"Domain gap {gap.score.value:.2f}" in page.text
    for name in gap.calibration:
        assert name in page.text
    assert f"{body.probes.transferability.knn_accuracy.value:.3f}" in page.text
    assert body.probes.transferability.logme.meaning in page.text
    assert "From the literature alone" in page.text
    assert "The images are not where the document says" in page.text


def test_a_pilot_shows_its_arms_differences_curves_and_budget(stored_pilot) -> None:
    page = Page(report_html([stored_pilot]))
    result = stored_pilot.body
    assert {"verdict", "pilot"} <= sections(page)
    assert {"d0-seed-chart", "d0-difference-chart", "d0-curve-chart"} <= page.ids
    for arm in result.arms:
        assert f"{arm.accuracy:.3f}" in page.text
    for d in result.differences:
        assert f"{d.accuracy_points:+.1f} [{d.low:+.1f}, {d.high:+.1f}]" in page.text
    for unit in result.units:
        assert f"accuracy-{unit.arm.replace('+', '-')}-{unit.seed}" in page.ids
        if unit.curve and unit.arm in {"ssl", "tl+ssl"}:
            assert f"curve-{unit.arm.replace('+', '-')}-{unit.seed}" in page.ids
    assert f"Budget {result.plan.budget}" in page.text
    assert "Literature combined with the pilot" in page.text


def test_several_documents_share_one_page_each_under_its_own_ids(
    stored_analysis, stored_pilot, decision
) -> None:
    page = Page(report_html([stored_analysis, stored_pilot, decision]))
    assert {"probes", "dataset"} <= sections(page, "d0")
    assert "pilot" in sections(page, "d1")
    assert sections(page, "d2") >= {"verdict", "reasons", "recipe"}
    assert not {"dataset", "pilot", "probes"} & sections(page, "d2")
    assert {"d0-gain-chart", "d1-gain-chart", "d2-gain-chart"} <= page.ids


def test_a_toss_up_says_so_and_gives_the_family_probability(toss_up) -> None:
    rec = toss_up.body
    page = Page(report_html([toss_up]))
    assert "toss-up start with tl" in page.text
    assert f"self-supervised family is better: {1 - rec.probability:.0%}" in page.text


def test_problems_past_the_cap_are_counted_not_shown(stored_analysis) -> None:
    body = stored_analysis.body
    many = [
        Problem(kind=ProblemKind.near_duplicate, paths=[f"x/{i}a.png", f"x/{i}b.png"], detail="d")
        for i in range(MAX_PROBLEMS_PER_KIND + 7)
    ]
    profile = body.profile.model_copy(update={"problems": many})
    html = report_html([Document("a", body.model_copy(update={"profile": profile}))])
    assert html.count('<tr class="problem near_duplicate">') == MAX_PROBLEMS_PER_KIND
    assert "7 more not shown" in Page(html).text


def test_a_document_from_before_the_size_histogram_draws_the_common_sizes(stored_analysis) -> None:
    body = stored_analysis.body
    sizes = body.profile.sizes.model_copy(update={"short_side_histogram": []})
    profile = body.profile.model_copy(update={"sizes": sizes})
    html = report_html([Document("a", body.model_copy(update={"profile": profile}))])
    assert "images of the most common sizes" in html
    assert "images by short side" in report_html([stored_analysis])


def test_the_page_asks_for_nothing_outside_itself(stored_analysis, stored_pilot) -> None:
    html = report_html([stored_analysis, stored_pilot])
    page = Page(html)
    assert all(url.startswith(("data:", "#")) for url in page.urls)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "default-src 'none'" in html  # and the browser is told to refuse any request


def test_what_the_page_reads_validates_against_the_published_schemas(
    hostile, stored_analysis, stored_pilot, decision, schemas
) -> None:
    _, analysis = hostile
    validate(json.loads(analysis.model_dump_json()), schemas["analyze"])
    validate(json.loads(stored_analysis.body.model_dump_json()), schemas["analyze"])
    validate(json.loads(stored_pilot.body.model_dump_json()), schemas["pilot"])
    validate(json.loads(decision.body.model_dump_json()), schemas["decision"])


def test_thumbnails_are_small_jpegs(hostile) -> None:
    _, analysis = hostile
    thumbs = read_thumbnails_of(analysis)
    assert thumbs.images and not thumbs.missing
    assert all(len(uri) < 8000 for uri in thumbs.images.values())
    assert not any(Path(p).name == "broken.png" for p in thumbs.images)
