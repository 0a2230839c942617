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
    assert page.locator("figure.ofsted-chart[data-drawn=true]").count() == 3
    shot(page, "07-overview")

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
