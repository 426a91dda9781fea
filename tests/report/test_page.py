"""The page without a browser: which sections each document gets, the numbers in them, escaping,
thumbnails, caps, and identical bytes for identical documents."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from helpers import HOSTILE, hostile_dataset, validate

from advisor.render.report import MAX_PROBLEMS_PER_KIND, Document, render_report
from advisor.schema.analysis import Analysis
from advisor.schema.pilot import FailedRun
from advisor.schema.profile import Problem, ProblemKind
from advisor.services.analyze import AnalyzeSettings, analyze
from advisor.services.report import read_document, read_thumbnails, report_html


class Page(HTMLParser):
    """What the tests read of a page: element ids, the visible text, and every URL-bearing
    attribute."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.all_ids: list[str] = []
        self.urls: list[str] = []
        self.chunks: list[str] = []
        self._skip = 0
        self.feed(html)
        self.text = " ".join(" ".join(self.chunks).split())
        self.ids = set(self.all_ids)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.all_ids.append(values["id"])
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
        arm = unit.arm.replace("+", "-")
        assert f"d0-seed-chart-accuracy-{arm}-{unit.seed}" in page.ids
        if unit.curve and unit.arm in {"ssl", "tl+ssl"}:
            assert f"d0-curve-chart-curve-{arm}-{unit.seed}" in page.ids
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
    repeated = {i for i in page.all_ids if page.all_ids.count(i) > 1}
    assert not repeated, sorted(repeated)[:5]


def test_a_toss_up_says_so_and_gives_the_contenders_probability(toss_up) -> None:
    rec = toss_up.body
    page = Page(report_html([toss_up]))
    assert "toss-up start with tl" in page.text
    # self-training's evidence is thin here (more labels than its comparisons had), so the
    # toss-up is about the likeliest self-supervised arm
    assert rec.arms["tl+st"].thin is not None
    assert f"that tl+ssl is better: {1 - rec.probability:.0%}" in page.text


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


def test_an_incomplete_pilot_draws_set_apart_runs_hollow_and_ticks_the_tables_figure(
    stored_pilot,
) -> None:
    result = stored_pilot.body
    seeds = sorted({u.seed for u in result.units})
    failed = FailedRun(arm="ssl", seed=seeds[0], reason="ended at chance")
    changed = result.model_copy(
        update={"compared_seeds": seeds[:-1], "failed_runs": [failed], "complete": False}
    )
    html = report_html([Document("pilot", changed)])
    page = Page(html)
    assert "Hollow dots" in page.text and "stopped before the end" in page.text
    chart = html[html.index('<svg id="d0-seed-chart"') :]
    chart = chart[: chart.index("</svg>")]

    def style_of(mark: str) -> str:
        start = chart.index(f'id="d0-seed-chart-{mark}"')
        return chart[start : chart.index("</g>", start)]

    assert "fill-opacity: 0;" in style_of(f"accuracy-ssl-{seeds[0]}")
    assert "fill-opacity: 0;" in style_of(f"accuracy-tl-{seeds[-1]}")
    assert "fill-opacity: 0;" not in style_of(f"accuracy-tl-{seeds[0]}")


def test_the_seed_charts_tick_is_the_tables_accuracy_not_a_new_mean(
    stored_pilot, monkeypatch
) -> None:
    drawn: list = []
    monkeypatch.setattr(
        "advisor.render.charts.seed_chart",
        lambda chart_id, points, unit: drawn.extend(points) or "",
    )
    result = stored_pilot.body
    report_html([Document("pilot", result.model_copy(update={"compared_seeds": [0]}))])
    table = {a.arm: a.accuracy for a in result.arms}
    assert {p.arm: p.mean for p in drawn} == table
    ssl = next(p for p in drawn if p.arm == "ssl")
    assert [apart for seed, apart in zip(ssl.seeds, ssl.set_apart, strict=True)] == [
        seed != 0 for seed in ssl.seeds
    ]


def test_an_analysis_without_advice_says_why(hostile) -> None:
    _, analysis = hostile
    bare = analysis.model_copy(update={"recommendation": None, "no_advice": "no labeled images"})
    page = Page(report_html([Document("a", bare)]))
    assert "No recommendation: no labeled images" in page.text
    assert not {"reasons", "recipe"} & sections(page)
    assert {"verdict", "dataset", "problems"} <= sections(page)


def test_a_quick_profile_says_what_it_did_not_check(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    hostile_dataset(tmp_path)
    quick = analyze(AnalyzeSettings(data=Path("data"), quick=True))
    text = Page(report_html([Document("q", quick)])).text
    assert "quick profile: images were not decoded" in text


def test_oversized_images_are_listed_by_path_and_never_decoded(hostile, monkeypatch) -> None:
    data, analysis = hostile
    image = next(str(p.relative_to(data.parent)) for p in sorted(data.rglob("cat_0.png")))
    problem = Problem(kind=ProblemKind.oversized, paths=[image], detail="over the limit")
    profile = analysis.profile.model_copy(update={"problems": [problem]})
    opened: list[str] = []
    monkeypatch.setattr(
        "advisor.data.images.open_rgb", lambda path, draft=None: opened.append(path)
    )
    html = report_html([Document("a", analysis.model_copy(update={"profile": profile}))])
    assert opened == [] and "data:image" not in html and image in html


def test_a_split_is_marked_only_by_the_folder_below_the_data_folder(hostile) -> None:
    _, analysis = hostile
    profile = analysis.profile.model_copy(
        update={
            "sources": ["test/data"],
            "problems": [
                Problem(
                    kind=ProblemKind.duplicate,
                    paths=["test/data/unlabeled/a.png", "test/data/train/cat/b.png"],
                    detail="d",
                )
            ],
        }
    )
    html = report_html([Document("a", analysis.model_copy(update={"profile": profile}))])
    assert html.count('<span class="split">') == 1
    assert '<span class="split">train</span>' in html


def test_thumbnails_are_found_beside_the_document_when_not_from_here(
    hostile, tmp_path, monkeypatch
) -> None:
    _, analysis = hostile
    document = tmp_path / "a.json"
    document.write_text(analysis.model_dump_json())
    monkeypatch.chdir(tmp_path.parent)  # the relative paths no longer resolve from here
    html = report_html([read_document(document)])
    assert "data:image/jpeg;base64," in html
    assert "The images are not where the document says" not in html


def test_the_quality_readings_are_on_the_page(hostile) -> None:
    _, analysis = hostile
    quality = analysis.profile.quality
    assert quality is not None and quality.sharpness is not None
    page = Page(report_html([Document("a", analysis)]))
    assert "d0-quality" in page.ids
    assert quality.sharpness.reading in page.text
    assert quality.resolution.reading in page.text
    assert f"{quality.resolution.below_pipeline:.0%} of the images are smaller" in page.text


def test_a_decision_shows_each_arms_cost_and_its_chart(decision) -> None:
    rec = decision.body
    assert rec.cost is not None
    page = Page(report_html([decision]))
    assert {"cost", "cost-chart"} <= sections(page)
    assert "What each arm would cost" in page.text
    for arm in rec.cost.arms:
        assert arm.hours is not None
        assert f"{arm.hours.low} to {arm.hours.high}" in page.text
    for arm in ("tl", "ssl", "tl-ssl"):
        assert f"d0-cost-chart-cost-{arm}" in page.ids
    assert "d0-cost-chart-budget" not in page.ids


def test_a_budget_is_drawn_and_marks_each_arm(tmp_path) -> None:
    from helpers import EXAMPLES

    from advisor.advice.settings import ComputeSettings
    from advisor.services.decide import decide

    rec = decide(EXAMPLES / "chest-xray-effusion.yaml", compute=ComputeSettings(budget_hours=1.0))
    page = Page(report_html([Document("budget", rec)]))
    assert "d0-cost-chart-budget" in page.ids
    assert "within budget" in page.text


def test_a_self_training_student_shows_what_it_learned_from(stored_pilot) -> None:
    result = stored_pilot.body
    teacher = next(u for u in result.units if u.arm == "tl")
    student = teacher.model_copy(
        update={
            "arm": "tl+st",
            "unlabeled_images": 3000,
            "pseudo_labels": 2333,
            "pseudo_threshold": 0.8,
        }
    )
    changed = result.model_copy(update={"units": [*result.units, student]})
    page = Page(report_html([Document("pilot", changed)]))
    assert (
        f"seed {teacher.seed}: 2,333 of 3,000 unlabeled images labeled by the teacher with at "
        "least 80% confidence"
    ) in page.text
    assert "pseudo-labels" not in Page(report_html([stored_pilot])).text
