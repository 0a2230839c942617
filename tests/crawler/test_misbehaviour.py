"""Each misbehaviour of the sample site gives the right outcome."""

from __future__ import annotations

import json

import pytest
from sqlite_utils import Database

from registry.lock import RefreshLocked, refresh_lock
from registry.refresh.crawls import Thresholds
from sample_site.server import SampleSite

from .conftest import copy_baseline, file_digest, run, table_digest


def _reports_full(db_path, site, thresholds=None, **extra):
    return run(
        db_path,
        site,
        mode="full",
        spiders=("reports",),
        extra=extra,
        thresholds=thresholds,
    )


def test_429_waits_at_least_retry_after_then_merges(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    target = f"/ofsted/provider/2/{site.population.homes[0].urn}"
    site.faults.add("429", target, count=1, retry_after="2")
    result = _reports_full(db_path, site)
    assert result.ok, result.reasons
    hits = site.hits_for(target)
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 2.0
    assert result.crawls[0].summary["stats"]["ofsted/retry/retry_after"] == 1


def test_503_burst_is_retried_with_backoff_and_merges(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    site.faults.add("503", "/ofsted/provider/", count=4)
    result = _reports_full(db_path, site)
    assert result.ok, result.reasons
    assert site.count("/ofsted/provider/", status=503) == 4
    assert result.crawls[0].summary["retries"] == 4


def test_endless_503_gives_up_and_merges_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.faults.add("503", f"/ofsted/provider/2/{site.population.homes[1].urn}")
    result = _reports_full(db_path, site, RETRY_TIMES="2")
    assert not result.ok and not result.published
    assert any("gave up retrying 1 request" in r for r in result.reasons)
    assert file_digest(db_path) == before


def test_dropped_connections_are_retried(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    site.faults.add("drop", "/ofsted/provider/", count=2)
    result = _reports_full(db_path, site)
    assert result.ok, result.reasons
    assert site.count("/ofsted/provider/", status=-1) == 2
    # Twisted itself re-sends once on a dropped keep-alive connection; the
    # rest is our retry middleware
    assert result.crawls[0].summary["retries"] >= 1
    assert Database(db_path)["homes"].count == len(site.population.homes)


def test_slow_responses_time_out_and_merge_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.faults.add("slow", "/ofsted/search", seconds=1.5)
    result = _reports_full(db_path, site, DOWNLOAD_TIMEOUT="1", RETRY_TIMES="1")
    assert not result.ok
    assert any("gave up retrying" in r for r in result.reasons)
    assert file_digest(db_path) == before


def test_changed_layout_merges_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.layout = "changed"
    result = _reports_full(db_path, site)
    assert not result.ok
    assert any(
        "unexpected layout (ofsted/layout/search=1)" in r for r in result.reasons
    )
    assert any("yielded no items" in r for r in result.reasons)
    assert file_digest(db_path) == before


def test_robots_disallow_blocks_the_crawl_and_merges_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.robots_disallow = ["/ofsted/"]
    result = _reports_full(db_path, site)
    assert not result.ok
    assert any("robots.txt forbade 1 request" in r for r in result.reasons)
    assert site.count("/ofsted/") == 0
    assert file_digest(db_path) == before


def test_404_provider_page_marks_home_not_found_without_deleting(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    urn = site.population.homes[2].urn
    db = Database(db_path)
    inspections = db.execute(
        "select count(*) from inspections where urn = ?", [urn]
    ).fetchone()[0]
    db.close()
    site.faults.add("404", f"/ofsted/provider/2/{urn}")
    result = _reports_full(db_path, site)
    assert result.ok, result.reasons
    db = Database(db_path)
    home = db["homes"].get(urn)
    assert home["status"] == "not found"
    assert home["missing_since"] is not None
    assert (
        db.execute("select count(*) from inspections where urn = ?", [urn]).fetchone()[
            0
        ]
        == inspections
    )
    observation = db.execute(
        "select observation, http_status from crawl_observations where urn = ?", [urn]
    ).fetchall()
    assert observation == [("not-found", 404)]
    history = db.execute(
        "select status, previous_status, crawl_id from home_status_history where urn = ?",
        [urn],
    ).fetchall()
    assert history == [("not found", "active", result.crawls[0].id)]
    assert db["homes"].count == len(site.population.homes)


def test_html_instead_of_pdf_is_classified_not_loaded(tmp_path):
    with SampleSite(homes=4, seed=5) as site:
        db_path = tmp_path / "registry.db"
        victim = site.population.inspections[0]
        site.faults.add("html-for-pdf", f"/files/v1/file/{victim.file_id}")
        # one PDF in about 14 missing is below the default 95 % floor
        lenient = Thresholds(min_report_share=0.9)
        result = run(db_path, site, spiders=("reports",), thresholds=lenient)
        assert result.ok, result.reasons
        manifest = [
            json.loads(line)
            for line in (tmp_path / "data" / "manifests")
            .glob("reports-*.jsonl")
            .__next__()
            .read_text()
            .splitlines()
        ]
        entry = next(e for e in manifest if e["url"].endswith(f"/{victim.file_id}"))
        assert entry["status"] == "content-type-mismatch" and entry["path"] is None
        db = Database(db_path)
        assert db.execute(
            "select observation from crawl_observations where url = ?", [entry["url"]]
        ).fetchall() == [("content-type-mismatch",)]
        assert (
            db.execute(
                "select count(*) from sources where url = ?", [entry["url"]]
            ).fetchone()[0]
            == 0
        )
        assert (
            result.crawls[0].summary["stats"]["ofsted/download/unexpected_content_type"]
            == 1
        )
        # once the site serves the PDF, the next full crawl fetches it (it was never known)
        site.faults.clear()
        site.reset_counters()
        assert run(db_path, site, mode="full", spiders=("reports",)).ok
        assert [h.path for h in site.hits_for("/files/v1/file/")] == [
            f"/files/v1/file/{victim.file_id}"
        ]


def test_removed_homes_go_missing_then_inactive_and_are_never_deleted(tmp_path):
    with SampleSite(homes=40, seed=9) as site:
        db_path = tmp_path / "registry.db"
        no_pdfs = {"OFSTED_DOWNLOAD_REPORTS": "0"}
        # a status walk: no PDFs, so the report monitors are turned off
        walk = Thresholds(min_report_share=0)
        assert run(
            db_path, site, spiders=("reports",), extra=no_pdfs, thresholds=walk
        ).ok
        assert site.count("/files/") == 0
        removed = site.remove_homes(0.05)
        assert len(removed) == 2
        first = _reports_full(db_path, site, walk, **no_pdfs)
        assert first.ok, first.reasons
        db = Database(db_path)
        statuses = {r["urn"]: r for r in db.query("select * from homes")}
        assert len(statuses) == 40
        assert {u for u, r in statuses.items() if r["status"] == "missing"} == set(
            removed
        )
        assert all(statuses[u]["missing_since"] for u in removed)
        db.close()
        second = _reports_full(db_path, site, walk, **no_pdfs)
        assert second.ok, second.reasons
        db = Database(db_path)
        assert {
            r["urn"]
            for r in db.query("select urn from homes where status = 'inactive'")
        } == set(removed)
        assert db["homes"].count == 40
        history = db.execute(
            "select urn, previous_status, status, crawl_id from home_status_history order by id"
        ).fetchall()
        assert sorted(history) == sorted(
            [(u, "active", "missing", first.crawls[0].id) for u in removed]
            + [(u, "missing", "inactive", second.crawls[0].id) for u in removed]
        )
        db.close()
        # they come back: active again, missing_since cleared
        site.restore_homes()
        assert _reports_full(db_path, site, walk, **no_pdfs).ok
        db = Database(db_path)
        assert (
            db.execute(
                "select count(*) from homes where status = 'active' and missing_since is null"
            ).fetchone()[0]
            == 40
        )


def test_far_fewer_homes_than_last_time_merges_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = table_digest(db_path)
    removed = site.remove_homes(0.25)
    try:
        result = _reports_full(db_path, site)
    finally:
        site.restore_homes(removed)
    assert not result.ok
    assert any("fewer than 90%" in r for r in result.reasons)
    assert table_digest(db_path) == before


def test_a_second_refresh_cannot_overlap(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    with (
        refresh_lock(db_path),
        pytest.raises(RefreshLocked, match="another refresh or load is writing to it"),
    ):
        run(db_path, site)
