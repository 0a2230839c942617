"""The acceptance path: first crawl, unchanged second crawl, new reports."""

from __future__ import annotations

import datetime as dt
import json

from sqlite_utils import Database

from sample_site.server import SampleSite

from .conftest import (
    LISTING_DAY_COLUMNS,
    copy_baseline,
    crawl_days,
    run,
    table_digest,
)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_first_crawl_loads_every_home_inspection_and_report(baseline):
    site, root = baseline
    db = Database(root / "registry.db")
    population = site.population
    published = [i for i in population.inspections if i.publication_date <= _today()]
    assert db["homes"].count == len(population.homes)
    ids = {r["urn"] for r in db.query("select urn from homes")}
    assert ids == {h.urn for h in population.homes}
    assert db["inspections"].count == len(published)
    # the timeline's report links: every report stored once, content-addressed
    manifest_lines = [
        json.loads(line)
        for path in (root / "data" / "manifests").glob("reports-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    stored = [
        e for e in manifest_lines if e["kind"] == "report" and e["status"] == "stored"
    ]
    assert len(stored) == len(published)
    assert all(
        (root / "data" / e["path"]).read_bytes().startswith(b"%PDF-") for e in stored
    )
    assert {e["url"].rsplit("/", 1)[-1] for e in stored} == {
        str(i.file_id) for i in published
    }
    # workbooks and DfE files came through the releases spider and were loaded
    kinds = {r["kind"] for r in db.query("select kind from sources")}
    assert "provider-page" in kinds
    assert db["la_missing_stats"].count > 0
    crawls = list(db.query("select spider, outcome, mode from crawls order by spider"))
    assert crawls == [
        {"spider": "releases", "outcome": "merged", "mode": "full"},
        {"spider": "reports", "outcome": "merged", "mode": "full"},
    ]
    assert (
        db.execute("select count(*) from sources where is_sample = 0").fetchone()[0]
        == 0
    )
    loaded = db.execute(
        "select count(*) from sources where url like '%/files/v1/file/%'"
    )
    assert loaded.fetchone()[0] == len(published)
    # every inspection is linked to its report, and every report keeps its URL
    linked = db.execute(
        "select count(*), count(report_sha256) from inspections"
    ).fetchone()
    assert linked == (len(published), len(published))
    assert db.execute("select count(*) from reports where url is null").fetchone() == (
        0,
    )
    db.close()


def test_unchanged_site_second_crawl_fetches_no_pdf_and_changes_no_row(
    baseline, tmp_path
):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = table_digest(db_path)
    undated = table_digest(db_path, without=LISTING_DAY_COLUMNS)
    result = run(db_path, site)  # incremental: a good crawl exists
    assert result.ok, result.reasons
    assert site.count("/files/v1/file/") == 0
    assert site.count("/ofsted/provider/") == 0
    assert table_digest(db_path) == before
    # a full walk of the unchanged site changes nothing either (but the day
    # the homes were last listed, when it runs on a later day than the
    # baseline: a suite that runs through midnight UTC)
    result = run(db_path, site, mode="full", spiders=("reports",))
    assert result.ok, result.reasons
    assert site.count("/files/v1/file/") == 0
    assert site.count("/ofsted/provider/") == len(site.population.homes)
    if len(crawl_days(db_path)) == 1:
        assert table_digest(db_path) == before
    else:
        assert table_digest(db_path, without=LISTING_DAY_COLUMNS) == undated
    modes = [
        r[0]
        for r in Database(db_path).execute(
            "select mode from crawls where spider='reports' order by started_at"
        )
    ]
    assert modes == ["full", "incremental", "full"]


def test_new_reports_are_fetched_exactly_once_and_shown(tmp_path):
    with SampleSite(homes=15, seed=11) as site:
        db_path = tmp_path / "registry.db"
        assert run(db_path, site).ok
        before = Database(db_path)["inspections"].count
        new_urls = site.publish_new_reports(5)
        site.reset_counters()
        result = run(db_path, site)
        assert result.ok, result.reasons
        fetched = [h.path for h in site.hits_for("/files/v1/file/") if h.status == 200]
        assert len(fetched) == 5
        assert {f"{site.url}{p}" for p in fetched} == set(new_urls)
        # only the homes with new reports were visited
        assert site.count("/ofsted/provider/") == 5
        db = Database(db_path)
        assert db["inspections"].count == before + 5
        today = _today().isoformat()
        rows = list(
            db.query("select urn from inspections where publication_date = ?", [today])
        )
        new_urns = {i.urn for i in site.population.inspections if i.is_new}
        assert {r["urn"] for r in rows} == new_urns
        latest = {
            r["urn"]: r["latest_inspection_date"]
            for r in db.query("select * from homes")
        }
        for inspection in (i for i in site.population.inspections if i.is_new):
            assert latest[inspection.urn] == inspection.inspection_date.isoformat()
        # and a further crawl fetches nothing again
        site.reset_counters()
        assert run(db_path, site).ok
        assert site.count("/files/v1/file/") == 0
