"""The page in a real headless Chromium, opened over file://: no error, no request beyond the
page itself, every section and chart with its numbers, sorting, collapsing and zooming, hostile
names as text, and a page that still reads with JavaScript off.

The browser comes from ``scripts/get-chromium`` (or ``ADVISOR_CHROMIUM``). Without one these
tests skip, saying so; where ``ADVISOR_REQUIRE_BROWSER`` is set (``.ci/run`` sets it) a missing
browser fails them instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import HOSTILE

from advisor.render.report import Document
from advisor.services.report import report_html

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CACHE = Path(
    os.environ.get("ADVISOR_CHROMIUM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "pretrain-advisor"
    / "chromium"
)


def _launcher() -> Path:
    """The browser named by ADVISOR_CHROMIUM, else the newest one scripts/get-chromium left in
    its cache (a folder still being filled ends in .partial and is passed over)."""
    given = os.environ.get("ADVISOR_CHROMIUM")
    if given:
        if not Path(given).is_file():
            _unavailable(f"ADVISOR_CHROMIUM={given} is not a file")
        return Path(given)
    found = [p for p in CACHE.glob("*/chromium") if not p.parent.name.endswith(".partial")]
    if not found:
        _unavailable(f"no headless Chromium found in {CACHE}")
    return max(found, key=lambda p: p.stat().st_mtime)


def _unavailable(reason: str) -> None:
    if os.environ.get("ADVISOR_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (a browser is required here: ADVISOR_REQUIRE_BROWSER is set)")
    pytest.skip(f"{reason}; run scripts/get-chromium or set ADVISOR_CHROMIUM")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install '.[dev]')")
    launcher = _launcher()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(launcher))
        yield browser
        browser.close()


class Opened:
    """A page opened over file://, with everything it asked for and complained about."""

    def __init__(self, browser, path: Path, **context: object) -> None:
        self.context = browser.new_context(viewport={"width": 1100, "height": 900}, **context)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def text(self, selector: str) -> str:
        return self.page.locator(selector).text_content() or ""


@pytest.fixture
def page_file(hostile, stored_analysis, stored_pilot, decision, tmp_path: Path) -> Path:
    _, analysis = hostile
    documents = [Document(f"{HOSTILE}.json", analysis), stored_analysis, stored_pilot, decision]
    path = tmp_path / "report.html"
    path.write_text(report_html(documents))
    return path


def test_the_page_loads_clean_and_shows_every_section_with_its_numbers(
    browser, page_file: Path, stored_analysis, stored_pilot, tmp_path: Path
) -> None:
    opened = Opened(browser, page_file)
    assert opened.errors == [] and opened.dialogs == []
    assert all(url.startswith(("file:", "data:")) for url in opened.requests), opened.requests
    page = opened.page
    for section in ("verdict", "reasons", "recipe", "dataset", "problems"):
        assert page.locator(f"#d0-{section}").is_visible()
    assert page.locator("#d1-probes").is_visible() and page.locator("#d2-pilot").is_visible()
    for chart in ("d0-class-chart", "d0-size-chart", "d1-gap-chart", "d2-curve-chart"):
        assert page.locator(f"svg#{chart}").is_visible()
    gap = stored_analysis.body.probes.domain_gap.score.value
    assert f"your data {gap:.2f}" in opened.text("#d1-gap-chart")
    assert f"Domain gap {gap:.2f}" in opened.text("#d1-probes")
    for d in stored_pilot.body.differences:
        assert f"{d.accuracy_points:+.1f} [{d.low:+.1f}, {d.high:+.1f}]" in opened.text(
            "#d2-difference-chart"
        )
    thumbs = page.locator("#d0-problems .thumb img")
    assert thumbs.count() > 0
    assert all(thumbs.nth(i).evaluate("img => img.naturalWidth > 0") for i in range(thumbs.count()))
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_hostile_names_render_as_text(browser, page_file: Path) -> None:
    opened = Opened(browser, page_file)
    page = opened.page
    assert opened.dialogs == [] and opened.errors == []
    assert page.locator("img[src='x']").count() == 0
    assert HOSTILE in opened.text("#d0-class-chart")
    assert HOSTILE in opened.text("#d0-problems")
    assert HOSTILE in page.title()


def test_sorting_collapsing_and_zooming(browser, page_file: Path) -> None:
    opened = Opened(browser, page_file)
    page = opened.page
    files = page.locator("#d0-problems table thead th", has_text="files")
    cells = page.locator("#d0-problems table tbody tr td:nth-child(2)")

    def counts() -> list[int]:
        return [int(t) for t in cells.all_inner_texts()]

    first = counts()
    assert first != sorted(first)  # grouped by kind: a three-file group after a one-file one
    files.click()
    assert counts() == sorted(first)
    files.click()
    assert counts() == sorted(first, reverse=True)
    kind = page.locator("#d0-problems table thead th", has_text="kind")
    kind.click()
    kinds = page.locator("#d0-problems table tbody tr td:nth-child(1)").all_inner_texts()
    assert kinds == sorted(kinds)

    page.get_by_role("button", name="collapse all").click()
    assert not page.locator("#d1-probes table.readings").is_visible()
    assert page.locator("details[open]").count() == 0
    page.get_by_role("button", name="expand all").click()
    assert page.locator("#d1-probes table.readings").is_visible()

    thumb = page.locator("#d0-problems .thumb img").first
    before = thumb.bounding_box()
    thumb.click()
    assert "zoomed" in thumb.get_attribute("class")
    assert thumb.bounding_box()["width"] > 2 * before["width"]
    thumb.click()
    assert "zoomed" not in (thumb.get_attribute("class") or "")


def test_without_javascript_everything_is_still_readable(browser, page_file: Path) -> None:
    opened = Opened(browser, page_file, java_script_enabled=False)
    page = opened.page
    assert not page.locator(".controls").is_visible()  # buttons that would do nothing
    for selector in ("#d0-verdict", "#d0-problems table", "#d1-probes table", "#d2-pilot table"):
        assert page.locator(selector).first.is_visible()


def test_dark_scheme_follows_the_system(browser, page_file: Path) -> None:
    def background(scheme: str) -> str:
        opened = Opened(browser, page_file, color_scheme=scheme)
        return opened.page.evaluate("getComputedStyle(document.body).backgroundColor")

    assert background("light") == "rgb(255, 255, 255)"
    assert background("dark") == "rgb(22, 24, 26)"
