"""A journalist's path through the published registry, in Debian's chromium
(headless, driven by Playwright) against a real `ofsted-homes serve`.
Screenshots are saved under test-artifacts/publish/."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "publish"
INSTALL_CHROMIUM = (
    "chromium not found: install it (Debian/Ubuntu: sudo apt-get install chromium) "
    "or point CHROMIUM at one, to run the browser test"
)


def _chromium() -> Path | None:
    for candidate in (
        os.environ.get("CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


CHROMIUM = _chromium()
# `make test` sets OFSTED_HOMES_BROWSER=require when it found chromium: then a
# missing browser is a failure, never a silent skip.
if CHROMIUM is None and os.environ.get("OFSTED_HOMES_BROWSER") == "require":
    raise RuntimeError(INSTALL_CHROMIUM)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason=INSTALL_CHROMIUM),
]


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        page = context.new_page()
        # Nothing may come from anywhere but the server under test.
        outside = []
        page.on(
            "request",
            lambda r: (
                outside.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else None
            ),
        )
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.outside_requests = outside
        page.js_errors = errors
        yield page
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def run_story(page, base: str, query: str, field: str, value: str) -> None:
    """Open a canned query, type one parameter into its form and run it."""
    page.goto(f"{base}/registry/{query}")
    page.fill(f"input[name={field}]", value)
    page.locator(
        "form.sql input[type=submit], form.sql button[type=submit]"
    ).first.click()
    page.wait_for_url(f"**{field}={value}**")


def test_journalist_path(page, live_server):
    # 1. The index: title, stories, sample label.
    page.goto(live_server + "/")
    assert page.locator("h1").first.inner_text() == "Children's homes in England"
    assert page.locator(".ofsted-sample-banner").is_visible()
    shot(page, "01-index")

    # 2. Facet homes by sector.
    page.goto(live_server + "/registry/homes")
    page.locator(".facet-info[data-column=sector] a", has_text="Private").first.click()
    page.wait_for_url("**sector=Private**")
    assert page.locator("table.rows-and-columns tbody tr").count() == 5
    shot(page, "02-homes-faceted-by-sector")

    # 3. Run flagged_homes with a parameter from its form.
    run_story(page, live_server, "flagged_homes", "min_incidents", "2")
    urns = page.locator("table.rows-and-columns td.col-urn").all_inner_texts()
    assert urns == ["SC100001", "SC100002"]
    shot(page, "03-flagged-homes")

    # 4. market_snapshot for a date.
    run_story(page, live_server, "market_snapshot", "as_at", "2025-03-31")
    sectors = page.locator("table.rows-and-columns td.col-sector").all_inner_texts()
    assert sectors == ["Private", "Local Authority", "Voluntary"]
    shot(page, "04-market-snapshot")

    # 5. Search report text: highlighted snippets.
    run_story(page, live_server, "search_reports", "q", "occasions")
    marks = page.locator("td.col-snippet mark").all_inner_texts()
    assert marks == ["occasions", "occasions"]
    shot(page, "05-search-reports")

    # 6. Open a home's page from the results: its chart is drawn.
    page.locator("td.col-urn a", has_text="SC100001").first.click()
    page.wait_for_url("**/home/SC100001")
    page.wait_for_selector("#rating-timeline[data-drawn=true]")
    drawn = page.evaluate(
        """() => {
        const canvas = document.querySelector('#rating-timeline canvas');
        const chart = Chart.getChart(canvas);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) inked++; }
        return {points: chart.data.datasets[0].data, width: canvas.width, inked};
    }"""
    )
    assert drawn["points"] == [4, 3, 3]
    assert drawn["width"] > 200
    assert drawn["inked"] > 1000  # the canvas is not blank
    shot(page, "06-home-page")

    # The overview charts, for the record.
    page.goto(live_server + "/overview")
    page.wait_for_selector("#homes-per-region[data-drawn=true]")
    assert page.locator("figure.ofsted-chart[data-drawn=true]").count() == 4
    shot(page, "07-overview")

    # The accuracy scoreboard (issue 13): how far report-derived fields agree
    # with Ofsted's spreadsheets, and how incident rows were matched.
    page.goto(live_server + "/accuracy")
    assert page.locator("h1").first.inner_text() == (
        "How far to trust what the registry reads from reports"
    )
    fields = "table.ofsted-accuracy-fields tr[data-field={}] td"
    # compared, agree, disagree, empty
    assert page.locator(fields.format("inspection_date")).all_inner_texts()[:4] == [
        "6",
        "6",
        "0",
        "0",
    ]
    # the fixture reports give no places: the reader's field is empty
    assert page.locator(fields.format("places")).all_inner_texts()[:4] == [
        "6",
        "0",
        "0",
        "6",
    ]
    incidents = page.locator("table.ofsted-accuracy-incidents tbody tr")
    assert "Cleveland Police FOI 123/24" in incidents.first.inner_text()
    assert "1 (100.0%)" in incidents.first.inner_text()
    shot(page, "07b-accuracy")

    # 7. Download a CSV of the inspections.
    page.goto(live_server + "/registry/inspections")
    page.check("#export input[name=_dl]")
    with page.expect_download() as download_info:
        page.locator("#export input[type=submit], #export button").first.click()
    download = download_info.value
    target = ARTIFACTS / "inspections.csv"
    download.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 13
    assert {r["urn"] for r in rows} >= {"SC100001", "1000003"}

    assert page.outside_requests == []
    assert page.js_errors == []
    assert os.path.getsize(ARTIFACTS / "06-home-page.png") > 10_000


def test_stories_say_which_list_answered_and_what_they_had(page, groups_server):
    base = groups_server
    # 3. A date typed as people type it: the heading says which list answered,
    # and the list dates held are links.
    page.goto(f"{base}/registry/market_snapshot")
    page.fill("input[name=as_at]", "31/03/2024")
    page.locator("form.sql input[type=submit]").first.click()
    page.wait_for_url("**as_at=31%2F03%2F2024**")
    answer = page.locator("h2.ofsted-answer")
    assert answer.inner_text() == "Answered from: Ofsted's list at 31 March 2024"
    assert set(page.locator("td.col-snapshot_as_at").all_inner_texts()) == {
        "2024-03-31"
    }
    shot(page, "08-as-at-typed")
    page.locator(".ofsted-list-dates a", has_text="2025-03-31").click()
    page.wait_for_url("**as_at=2025-03-31**")
    assert "31 March 2025" in page.locator("h2.ofsted-answer").inner_text()
    run_story(page, base, "market_snapshot", "as_at", "someday")
    assert "is not a date this story understands" in answer.inner_text()
    assert page.locator("table.rows-and-columns tbody tr").count() == 0

    # 4. The market over time: a story and a chart on /overview.
    page.goto(base + "/overview")
    page.wait_for_selector("#market-trend[data-drawn=true]")
    series = page.evaluate(
        """() => Chart.getChart(document.querySelector('#market-trend canvas'))
        .data.datasets.map(d => [d.label, d.data])"""
    )
    assert ["Private", [66.7, 66.7]] in series
    page.locator("#market-trend").screenshot(
        path=str(ARTIFACTS / "09-market-trend.png")
    )
    page.goto(base + "/registry/market_trend?breakdown=sector")
    assert page.locator("td.col-as_at").count() == 6
    shot(page, "09b-market-trend-story")

    # 6. A story that finds nothing says what evidence it had.
    run_story(page, base, "flagged_homes", "min_incidents", "999")
    evidence = page.locator("p.ofsted-evidence").inner_text()
    assert "inspection reports read" in evidence
    assert "nothing matched" in page.locator("p.ofsted-completeness").inner_text()
    shot(page, "10-empty-story-evidence")
    page.goto(base + "/search?q=zebra")
    assert "Nothing found in the 6 reports loaded." in page.content()

    # 8. Owner groups: the story, a group's page, marked as a sample mapping.
    page.goto(base + "/registry/groups")
    assert page.locator("td.col-group_name").all_inner_texts() == ["Dawn Group"]
    page.locator("td.col-group_id a").first.click()
    page.wait_for_url("**/group/dawn-group")
    assert page.locator(
        ".ofsted-sample-banner", has_text="Sample mapping."
    ).is_visible()
    assert page.locator("h1").first.inner_text().startswith("Dawn Group")
    shot(page, "11-group-page")

    assert page.outside_requests == []
    assert page.js_errors == []


def test_pages_at_390_pixels(page, live_server):
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(live_server + "/home/1000003")
        page.wait_for_selector("#rating-timeline[data-drawn=true]")
        # an inspection's cells say what they are
        cell = (
            page.locator("table.rows-and-columns tbody tr").first.locator("td").nth(2)
        )
        label = cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"Overall judgement"'
        # nothing is wider than the screen: no badge or chart clipped
        overflow = page.evaluate(
            """() => [...document.querySelectorAll('.judgement, figure.ofsted-chart, h2.ofsted-answer')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length"""
        )
        assert overflow == 0
        shot(page, "12-home-390px")
        run_story(page, live_server, "market_snapshot", "as_at", "2025")
        assert page.locator("h2.ofsted-answer").is_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        shot(page, "13-story-390px")
        assert width <= 400
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def test_an_inspector_finds_the_way_in(page, registry_path, tmp_path, live_server):
    """Inspector mode: an anonymous page is the login form, which brings the
    inspector back to that page with Log out in the menu. Public mode's menu
    has no Log in (issue 11, item 10)."""
    import shutil as files

    from datasette_auth_passwords.utils import hash_password

    from .conftest import start_server, stop_server

    page.goto(live_server + "/")
    page.locator("details.nav-menu summary").click()
    menu = page.locator("details.nav-menu .nav-menu-inner").inner_text()
    assert "Overview charts" in menu and "Log in" not in menu
    copy = tmp_path / "registry.db"
    files.copyfile(registry_path, copy)
    password = "browser inspector password"
    process, base = start_server(
        copy,
        "--inspector",
        env={"OFSTED_HOMES_INSPECTOR_PASSWORD_HASH": hash_password(password)},
    )
    try:
        context = page.context.browser.new_context(
            viewport={"width": 1280, "height": 900}
        )
        inspector = context.new_page()
        response = inspector.goto(base + "/home/SC100001")
        assert response.status == 403
        assert inspector.locator("h1").inner_text() == "Log in"
        assert inspector.locator(".ofsted-login-needed").is_visible()
        shot(inspector, "14-inspector-login-needed")
        inspector.fill("#id_username", "inspector")
        inspector.fill("#id_password", password)
        inspector.locator("form.password-login input[type=submit]").click()
        inspector.wait_for_url("**/home/SC100001")
        assert inspector.locator("h1").inner_text() == "Children's home SC100001"
        inspector.locator("details.nav-menu summary").click()
        assert "Log out" in inspector.locator("details.nav-menu").inner_text()
        shot(inspector, "15-inspector-back-on-the-page")
        context.close()
    finally:
        stop_server(process)
