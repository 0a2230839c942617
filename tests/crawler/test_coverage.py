"""Coverage monitors, dead pages, the first-pages check and resume, on real
crawls of the sample site (Scrapy in subprocesses, real SQLite files)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from registry.cli.main import cli
from registry.refresh.crawls import start_spider
from sample_site.population import build_population
from sample_site.server import SampleSite

from .conftest import FAST, copy_baseline, file_digest, run, settings_for


def _monitors(db_path: Path, crawl_id: str | None = None) -> dict[str, dict]:
    db = Database(db_path)
    if crawl_id is None:
        crawl_id = db.execute(
            "select id from crawls where spider = 'reports' and outcome = 'merged' "
            "order by started_at desc limit 1"
        ).fetchone()[0]
    rows = {
        r["monitor"]: r
        for r in db.query("select * from crawl_monitors where crawl_id = ?", [crawl_id])
    }
    db.close()
    return rows


def _refused(result, monitor: str) -> str:
    assert not result.ok and not result.published
    found = [r for r in result.reasons if f"monitor {monitor}:" in r]
    assert found, result.reasons
    return found[0]


def test_a_confirmed_markup_crawl_fetches_and_reads_every_linked_report(baseline):
    site, root = baseline
    assert site.layout == "confirmed"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    published = [
        i
        for i in site.population.inspections
        if i.publication_date.isoformat() <= today
    ]
    db = Database(root / "registry.db")
    # every linked report read, and every inspection known with the PDF's date
    assert db["reports"].count == len(published)
    got = {
        (r["urn"], r["inspection_date"])
        for r in db.query("select urn, inspection_date from inspections")
    }
    assert got == {(i.urn, i.inspection_date.isoformat()) for i in published}
    monitors = _monitors(root / "registry.db")
    assert {m["verdict"] for m in monitors.values()} == {"ok"}
    figures = {name: (m["count"], m["seen"]) for name, m in monitors.items()}
    homes = len(site.population.homes)
    assert figures["provider.fetched"] == (homes, homes)
    assert figures["provider.understood"] == (homes, homes)
    assert figures["report.fetched"] == (len(published), len(published))
    assert figures["report.read"] == (len(published), len(published))
    assert figures["timeline.understood"] == (len(published), len(published))
    assert figures["event.publication_date"] == (len(published), len(published))
    # an optional extra the confirmed markup lacks is counted, not needed
    assert figures["event.inspection_date"] == (0, len(published))
    db.close()


def test_links_but_no_downloads_trips_report_fetched(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.publish_new_reports(5)
    try:
        result = run(db_path, site, extra={"OFSTED_DOWNLOAD_REPORTS": "False"})
    finally:
        site.population = build_population(seed=3, homes=20)  # undo
    reason = _refused(result, "report.fetched")
    assert "0 of 5 new report links whose PDF was fetched (0%)" in reason
    assert "below the floor of 95% (min_report_share)" in reason
    assert site.count("/files/v1/file/") == 0
    assert file_digest(db_path) == before


def test_a_vanishing_field_trips_its_floor_and_the_fall_since_the_last_crawl(
    baseline, tmp_path
):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    # the links' hidden "Type, pdf - date" text disappears: no publication date
    site.omit = {"nonvisual"}
    result = run(db_path, site, mode="full", spiders=("reports",))
    reason = _refused(result, "event.publication_date")
    assert "(0%), below the floor of 90% (min_field_fill)" in reason
    assert file_digest(db_path) == before
    # an optional extra has no floor, but a fall from 100 % to 0 % still trips
    site.omit = {"latest"}
    result = run(db_path, site, mode="full", spiders=("reports",))
    reason = _refused(result, "listing.latest_report_date")
    assert "down from 100% in the last good crawl" in reason
    assert "a fall of more than 25% (max_fill_drop)" in reason
    assert file_digest(db_path) == before
    site.omit = set()


def test_report_not_found_with_status_200_is_not_found_and_trips(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.faults.add("not-found-200", "/ofsted/provider/")
    result = run(db_path, site, mode="full", spiders=("reports",))
    reason = _refused(result, "provider.not_found")
    assert "above the ceiling of 5% (max_not_found_share)" in reason
    pages = result.crawls[0].of_kind("provider-page")
    assert pages and {(p["status"], p["http_status"]) for p in pages} == {
        ("not-found", 200)
    }
    assert file_digest(db_path) == before
    # the same page for report links: the new PDFs count as not found
    site.faults.clear()
    site.publish_new_reports(3)
    site.faults.add("not-found-200", "/files/v1/file/")
    try:
        result = run(db_path, site)
    finally:
        site.faults.clear()
        site.population = build_population(seed=3, homes=20)
    reason = _refused(result, "report.not_found")
    assert "3 of 3 new report links that were 404/410" in reason
    reports = result.crawls[-1].of_kind("report")
    assert {(r["status"], r["http_status"]) for r in reports} == {("not-found", 200)}
    assert file_digest(db_path) == before


def test_a_search_page_that_lists_nothing_is_refused(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.faults.add("empty-search", "/ofsted/search")
    result = run(db_path, site, mode="full", spiders=("reports",))
    reason = _refused(result, "search.homes_listed")
    assert "listed 0 homes, fewer than the floor of 1 (min_homes_listed)" in reason
    assert any("first-pages check failed: search results" in r for r in result.reasons)
    assert site.count("/ofsted/provider/") == 0
    assert file_digest(db_path) == before


def test_refresh_stops_after_its_first_provider_pages_when_they_are_not_understood(
    baseline, tmp_path
):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.omit = {"link"}  # timeline items without report links
    result = run(db_path, site, mode="full", spiders=("reports",))
    site.omit = set()
    crawl = result.crawls[0]
    assert crawl.summary["finish_reason"] == "layout_check_failed"
    assert any(
        "first-pages check failed: report link (a.publication-link[href])" in r
        for r in result.reasons
    )
    # it stopped early: far fewer than the 20 provider pages
    assert site.count("/ofsted/provider/") < len(site.population.homes)
    assert file_digest(db_path) == before


def test_a_tripped_monitor_exits_1_naming_it_on_the_command_line(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.omit = {"nonvisual"}
    options = ["--site", site.url, "--sample", "--spider", "reports", "--full"]
    for name, value in FAST.items():
        options += ["-s", f"{name}={value}"]
    result = CliRunner().invoke(
        cli, ["refresh", str(db_path), *options, "--min-field-fill", "0.5"]
    )
    site.omit = set()
    assert result.exit_code == 1, result.output
    assert "monitor event.publication_date:" in result.output
    assert "below the floor of 50% (min_field_fill)" in result.output
    assert file_digest(db_path) == before


# ------------------------------------------------------------------ resume

_COMPARED = {
    "homes": "urn, status, latest_inspection_date, latest_judgement",
    "inspections": "id, urn, inspection_date, publication_date, event_type, judgement, report_sha256",
    "reports": "sha256, urn, url, inspection_date, inspection_type, judgement",
    "sources": "sha256, kind, url",
}


def _content(db_path: Path) -> dict[str, list]:
    db = Database(db_path)
    out = {
        table: [tuple(r) for r in db.execute(f"select {cols} from {table} order by 1")]
        for table, cols in _COMPARED.items()
    }
    db.close()
    return out


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_crawl_resumes_and_ends_like_an_uninterrupted_one(tmp_path, how):
    with SampleSite(homes=20, seed=5) as site:
        for inspection in site.population.inspections:
            site.report_pdf(inspection.file_id)  # render first: a steady pace
        whole = tmp_path / "whole" / "registry.db"
        assert run(whole, site, spiders=("reports",)).ok
        pdfs = site.count("/files/v1/file/", status=200)
        site.reset_counters()
        # the same crawl, killed once the server has answered 15 report PDFs
        db_path = tmp_path / "killed" / "registry.db"
        data_dir = db_path.parent / "data"
        settings = {**settings_for(site), "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
        process, crawl_id = start_spider(
            "reports", data_dir=data_dir, settings=settings
        )
        deadline = time.monotonic() + 120
        while site.count("/files/v1/file/", status=200) < 15:
            assert process.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        process.send_signal(how)
        process.wait(timeout=60)
        before_resume = site.count("/files/v1/file/", status=200)
        assert before_resume < pdfs  # it really was interrupted
        result = run(db_path, site, spiders=("reports",), data_dir=data_dir)
        assert result.ok, result.reasons
        assert [c.id for c in result.crawls] == [crawl_id]  # resumed, not restarted
        assert _content(db_path) == _content(whole)
        # nothing fetched twice but what was in flight when it was killed
        assert pdfs <= site.count("/files/v1/file/", status=200) <= pdfs + 2
        summary = json.loads((data_dir / "crawls" / f"{crawl_id}.json").read_text())
        assert summary["outcome"] == "merged" and summary["resumed"] == 1
        monitors = _monitors(db_path, crawl_id)
        assert monitors["report.fetched"]["count"] == monitors["report.fetched"]["seen"]


# ------------------------------------------------------------------ canary


def _canary(site: SampleSite, *extra: str):
    return CliRunner().invoke(
        cli, ["canary", "--site", site.url, "--delay", "0", *extra]
    )


def test_canary_understands_the_confirmed_and_the_rich_markup():
    with SampleSite(homes=12, seed=3) as site:
        result = _canary(site)
        assert result.exit_code == 0, result.output
        assert "provider title" in result.output
        assert "FAIL" not in result.output
        lines = {line.split("  ")[0]: line for line in result.output.splitlines()}
        assert " ok " in lines["report link gives a PDF"]
        assert "0 of" in lines["inspection date (extra)"]
        # robots.txt was read and every request named the project
        assert site.count("/robots.txt") == 1
        assert all(h.user_agent.startswith("ofsted-homes/") for h in site.hits)
        site.layout = "rich"
        result = _canary(site, "--urn", site.population.homes[0].urn, "--pages", "1")
        assert result.exit_code == 0, result.output
        lines = {line.split("  ")[0]: line for line in result.output.splitlines()}
        assert "0 of" not in lines["inspection date (extra)"]


@pytest.mark.parametrize(
    ("layout", "omit", "failed"),
    [
        ("changed", set(), "search results (ul.results-list > li): found 0"),
        ("confirmed", {"nonvisual"}, "publication date (span.nonvisual"),
        ("confirmed", {"title", "link"}, "provider title (h1.heading--title): found 0"),
    ],
)
def test_canary_fails_on_a_changed_layout(layout, omit, failed):
    with SampleSite(homes=12, seed=3, layout=layout) as site:
        site.omit = omit
        result = _canary(site)
        assert result.exit_code == 1, result.output
        assert f"failed: {failed}" in result.output
        assert "NOT UNDERSTOOD" in result.output


def test_canary_takes_urns_from_the_registry_and_finds_dead_pages(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    result = _canary(site, "--db", str(db_path), "--pages", "2")
    assert result.exit_code == 0, result.output
    asked = [h.path for h in site.hits_for("/ofsted/provider/")]
    db = Database(db_path)
    expected = [
        r[0]
        for r in db.execute(
            "select urn from homes where status = 'active' "
            "order by latest_inspection_date desc, urn limit 2"
        )
    ]
    assert [p.rsplit("/", 1)[-1] for p in asked] == expected
    site.faults.add("not-found-200", "/ofsted/provider/")
    result = _canary(site, "--db", str(db_path), "--pages", "2")
    site.faults.clear()
    assert result.exit_code == 1
    assert "provider pages that are not dead" in result.output


async def test_the_last_crawl_s_coverage_is_shown_in_datasette(baseline, tmp_path):
    from registry.publish.serve import make_datasette

    _site, db_path = copy_baseline(baseline, tmp_path)
    ds = make_datasette(db_path)
    name = db_path.stem
    rows = (await ds.client.get(f"/{name}/crawl_coverage.json?_shape=array")).json()
    by_monitor = {r["monitor"]: r for r in rows}
    assert by_monitor["report.fetched"]["percent"] == 100.0
    assert by_monitor["report.fetched"]["floor_percent"] == 95.0
    assert by_monitor["report.read"]["verdict"] == "ok"
    assert {r["outcome"] for r in rows} == {"merged"}
    html = (await ds.client.get(f"/{name}/crawl_monitors")).text
    assert "How complete each crawl was" in html
