"""The profile site in a real browser: headless Chromium (Debian's package) driven by Playwright.

Pages open from the file system and from a local static web server. Every page must render with no
console error, without a single request outside the site, with every chart and the map drawn (SVG
marks present), and with key figures that equal the published warehouse's values.
Only a few pages are built and opened, so the module stays fast.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from regiostat.report import write_site
from tests.conftest import PUBLISHED

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REGIONS = ["dutch_techzone", "CR08", "GM0014", "GM0114"]
DATA_MARKS = "svg g.role-mark > path"  # bars, lines, points and map shapes; not axes or legends
MAP_SHAPES = "#chart-map svg g.mark-shape.role-mark > path"

if not CHROMIUM.exists():  # .ci/run installs it; a developer machine without it skips, CI must not
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    pytest.skip(f"{CHROMIUM} missing: apt-get install chromium", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(built_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "site"
    write_site(built_home / PUBLISHED, out, regions=REGIONS)
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """Any static web server will do: Python's own, on a free local port."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One page load: what the console said and which requests were let through or refused."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def _open(browser, url: str, allowed_prefix: str) -> tuple[object, Visit]:
    """Open ``url`` with every request routed: inside ``allowed_prefix`` it continues, anything else is
    aborted and recorded."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    visit = Visit()
    page.on("console", lambda message: visit.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))

    def route(request_route) -> None:
        target = request_route.request.url
        if target.startswith(allowed_prefix):
            visit.allowed.append(target)
            request_route.continue_()
        else:
            visit.refused.append(target)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url)
    if page.query_selector(".chart"):
        page.wait_for_selector("body[data-charts=done]", state="attached", timeout=30_000)
    return page, visit


def _warehouse_key_figures(built_home: Path, code: str) -> dict[str, tuple[int, float, str]]:
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        rows = con.execute("""
            SELECT indicator, year, value, unit FROM marts.regional_profile
            WHERE region_code = ? AND value IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY indicator ORDER BY year DESC) = 1""", [code]).fetchall()
    finally:
        con.close()
    return {indicator: (year, value, unit) for indicator, year, value, unit in rows}


def _dutch_number(text: str) -> tuple[float, int]:
    """'118.000' -> (118000, 0 decimals), '13,8%' -> (13.8, 1)."""
    digits = text.rstrip("%").replace(".", "")
    decimals = len(digits.split(",")[1]) if "," in digits else 0
    return float(digits.replace(",", ".")), decimals


def _assert_rendered(page, visit: Visit, allowed_prefix: str) -> None:
    assert visit.errors == [], visit.errors
    assert visit.refused == [], f"requests left the site: {visit.refused}"
    assert visit.allowed and all(u.startswith(allowed_prefix) for u in visit.allowed)
    charts = page.query_selector_all(".chart")
    assert charts, "a region page without any chart"
    for chart in charts:
        name = chart.get_attribute("id")
        assert chart.get_attribute("data-rendered") == "true", name
        assert len(chart.query_selector_all(DATA_MARKS)) > 0, f"{name} drew no marks"


def _assert_key_figures(page, built_home: Path, code: str) -> None:
    expected = _warehouse_key_figures(built_home, code)
    rows = page.query_selector_all("tr.key-figure")
    shown = {row.get_attribute("data-indicator"): row for row in rows}
    assert len(rows) == len(shown) and set(shown) == set(expected)
    for indicator, (year, value, _unit) in expected.items():
        row = shown[indicator]
        assert int(row.get_attribute("data-year")) == year, indicator
        assert float(row.get_attribute("data-value")) == value, indicator
        number, decimals = _dutch_number(row.query_selector(".value").inner_text().strip())
        assert number == round(value, decimals), (indicator, number, value)


@pytest.mark.parametrize("code", ["dutch_techzone", "CR08"])
def test_page_from_the_file_system(browser, site, built_home, code):
    page, visit = _open(browser, (site / "regions" / f"{code}.html").as_uri(), site.as_uri() + "/")
    try:
        _assert_rendered(page, visit, site.as_uri() + "/")
        _assert_key_figures(page, built_home, code)
        assert page.query_selector_all(MAP_SHAPES)
    finally:
        page.close()


@pytest.mark.parametrize("code", ["dutch_techzone", "CR08"])
def test_page_from_a_static_web_server(browser, server, built_home, code):
    page, visit = _open(browser, f"{server}/regions/{code}.html", server + "/")
    try:
        _assert_rendered(page, visit, server + "/")
        _assert_key_figures(page, built_home, code)
    finally:
        page.close()


def test_map_draws_each_municipality_of_the_region(browser, site):
    page, visit = _open(browser, (site / "regions" / "dutch_techzone.html").as_uri(), site.as_uri() + "/")
    try:
        assert visit.errors == []
        shapes = page.query_selector_all(MAP_SHAPES)
        labels = {t.text_content() for t in page.query_selector_all("#chart-map svg g.mark-text.role-mark > text")}
        assert len(shapes) == 4  # Emmen, Coevorden, Hoogeveen and Hardenberg, plus nothing else
        assert {"Emmen", "Coevorden", "Hoogeveen", "Hardenberg"} <= labels
    finally:
        page.close()


def test_claims_show_verdicts_and_decisions(browser, site, built_home):
    con = duckdb.connect(str(built_home / PUBLISHED), read_only=True)
    try:
        verdicts = dict(con.execute("SELECT verdict, count(*) FROM reconcile.verdicts WHERE region = "
                                    "'dutch_techzone' GROUP BY ALL").fetchall())
    finally:
        con.close()
    page, _ = _open(browser, (site / "regions" / "dutch_techzone.html").as_uri(), site.as_uri() + "/")
    try:
        claims = page.query_selector_all("article.claim")
        found: dict[str, int] = {}
        for claim in claims:
            found[claim.get_attribute("data-verdict")] = found.get(claim.get_attribute("data-verdict"), 0) + 1
        assert found == verdicts
        contradicted = page.query_selector("article.claim[data-claim='dtz-2016-2020-jobs-change-p59']")
        assert "tegengesproken / contradicted" in contradicted.inner_text()
        assert "Besluit / Decision" in contradicted.inner_text()
    finally:
        page.close()


def test_harmonised_series_shows_the_converted_flag(browser, server):
    page, visit = _open(browser, f"{server}/regions/GM0014.html", server + "/")
    try:
        _assert_rendered(page, visit, server + "/")
        section = page.query_selector("#section-harmonised-population-2019")
        assert "omgerekend / converted" in section.inner_text()
        legend = {t.text_content() for t in section.query_selector_all("svg g.role-legend-label > text")}
        assert "omgerekend / converted" in legend
    finally:
        page.close()


def test_index_search_filters_regions_in_the_browser(browser, site):
    page, visit = _open(browser, (site / "index.html").as_uri(), site.as_uri() + "/")
    try:
        assert visit.errors == [] and visit.refused == []
        page.fill("#search", "emmen")
        visible = [li.inner_text() for li in page.query_selector_all("li[data-search]") if li.is_visible()]
        assert visible == ["Emmen GM0114"]
        assert re.match(r"^1 regio", page.inner_text("#search-count"))
        page.fill("#search", "drenthe")
        assert [li.inner_text() for li in page.query_selector_all("li[data-search]") if li.is_visible()] == [
            "Zuidoost-Drenthe CR08"]
        page.fill("#search", "zzz")
        assert page.is_visible("#no-match")
        page.fill("#search", "")
        page.click("a[href='regions/GM0114.html']")  # relative links work from disk
        page.wait_for_selector("body[data-charts=done]", state="attached", timeout=30_000)
        assert page.url == (site / "regions" / "GM0114.html").as_uri()
        assert visit.errors == [] and visit.refused == []
    finally:
        page.close()
