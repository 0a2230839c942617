"""Every derived column comes back from the evidence alone.

A registry is built for real (a refresh of the sample site: releases, provider
pages, report PDFs; the fixture spreadsheets and report PDFs loaded with
``ofsted-homes load``; a second complete crawl in which one provider page is
gone), its derived tables are deleted, and ``registry.derive.derive.rebuild``
must give every row and column back, log no status change twice, and keep
every link between an inspection and its report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_support import run_load

from registry.cli.main import cli
from registry.derive.derive import rebuild
from registry.derive.rank import KIND_ORDER, kind_of, rank_sql, source_rank
from registry.loading.files import load_file
from registry.refresh.refresh import refresh, site_settings
from registry.schema.db import open_registry
from registry.writes import writer
from sample_site.server import SampleSite

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FAST = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "RETRY_BACKOFF_BASE": "0.1",
    "LOG_LEVEL": "INFO",
}
# Derived: recomputed from observations, listings and links.
DERIVED = {
    "homes": "select * from homes order by urn",
    "inspections": "select * from inspections order by id",
    "reports.inspection_id": "select sha256, inspection_id from reports order by 1",
    "owner_councils": "select * from owner_councils order by 1, 2",
    "owner_groups": "select * from owner_groups order by 1, 2",
    "owner_snapshots": "select * from owner_snapshots order by 1, 2",
}
# Evidence and logs: must not change when the derived tables are rebuilt.
KEPT = {
    "home_status_history": "select * from home_status_history order by id",
    "inspection_reports": "select * from inspection_reports order by 1, 2",
}
SHEET = (FIXTURES / "spreadsheets" / "inspections-2017-18-layout.csv").open().readline()


def _row(urn: str, day: str, overall: str, n: int) -> str:
    return (
        f"Ofsted Social Care Provider Webpage,{urn},,Children's home,Active,REDACTED,"
        "REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,North West,North West,Lancashire,"
        f"Lancaster,Private,4,Some Care Ltd,Full inspection,{day},{day},{10040000 + n},"
        f"{overall},,,Good,Good\n"
    )


def _settings(site: SampleSite) -> dict[str, str]:
    return {**FAST, **site_settings(site.url)}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("derivation")
    db_path = root / "registry.db"
    with SampleSite(homes=20, seed=3) as site:
        first = refresh(db_path, settings=_settings(site), is_sample=True)
        assert first.ok, first.reasons
        sheet = root / "inspections-2023-24.csv"
        sheet.write_text(
            SHEET
            + _row("SC123456", "07/11/2023", "Good", 1)
            + _row("2610709", "31/10/2023", "Requires improvement to be good", 2)
        )
        files = sorted((FIXTURES / "spreadsheets").glob("*.csv"))
        pdfs = sorted((FIXTURES / "pdfs").glob("*.pdf"))
        loaded = run_load(db_path, *files, sheet, *pdfs, args=("--silent",))
        assert loaded.exit_code in (0, 1), loaded.output  # a fixture PDF may be refused
        groups = (
            Path(__file__).resolve().parents[2]
            / "registry/data/sample_owner_groups.csv"
        )
        grouped = CliRunner().invoke(
            cli, ["load-groups", str(db_path), str(groups), "--sample"]
        )
        assert grouped.exit_code == 0, grouped.output
        gone = site.population.homes[2].urn
        site.faults.add("404", f"/ofsted/provider/2/{gone}")
        second = refresh(
            db_path,
            settings=_settings(site),
            is_sample=True,
            mode="full",
            spiders=("reports",),
        )
        assert second.ok, second.reasons
    return db_path


def _read(db, queries: dict[str, str]) -> dict[str, list[tuple]]:
    return {name: db.execute(sql).fetchall() for name, sql in queries.items()}


def test_the_registry_holds_every_kind_of_derived_state(built):
    db = open_registry(built)
    statuses = {r[0] for r in db.execute("select distinct status from homes")}
    assert {"active", "inactive", "not found"} <= statuses
    assert db["home_status_history"].count >= 1
    linked = db.execute(
        "select count(*) from inspections where report_sha256 is not null"
    ).fetchone()[0]
    assert linked > 20  # the sample site's reports and the fixture pair
    assert db["inspection_reports"].count >= linked
    assert db.execute(
        "select count(*) from homes where missing_since is not null"
    ).fetchone()[0]
    assert db["derive_pending"].count == 0
    kinds = {r[0] for r in db.execute("select kind from sources")}
    assert {"provider-page", "report"} <= kinds


def test_deleting_the_derived_tables_and_rebuilding_gives_them_back(built, tmp_path):
    path = tmp_path / "copy.db"
    shutil.copy(built, path)
    db = open_registry(path)
    before = _read(db, DERIVED)
    kept = _read(db, KEPT)
    assert all(before.values()), {k: len(v) for k, v in before.items()}
    db.execute("PRAGMA foreign_keys = OFF")
    with db.conn:
        for table in (
            "inspections",
            "homes",
            "owner_councils",
            "owner_groups",
            "owner_snapshots",
        ):
            db.execute(f"delete from {table}")
        db.execute("update reports set inspection_id = null")
    assert db["homes"].count == 0
    db.execute("PRAGMA foreign_keys = ON")
    with db.conn:
        rebuild(db)
    after = _read(db, DERIVED)
    for name in DERIVED:
        assert after[name] == before[name], name
    assert _read(db, KEPT) == kept  # no status change logged twice, no link lost
    assert db.execute("pragma foreign_key_check").fetchall() == []


def test_report_sha256_is_the_best_ranked_linked_report(built, tmp_path):
    path = tmp_path / "copy.db"
    shutil.copy(built, path)
    db = open_registry(path)
    inspection, report = db.execute(
        "select id, report_sha256 from inspections where report_sha256 is not null "
        "order by id limit 1"
    ).fetchone()
    urn = inspection.split("-")[0]
    other = db.execute(
        "select sha256 from reports where sha256 != ? order by sha256 limit 1", [report]
    ).fetchone()[0]
    with db.conn:
        # a second report for the same inspection, dated later: it ranks first
        db.execute("update sources set as_at = '2099-01-01' where sha256 = ?", [other])
        db.execute(
            "insert into inspection_reports values (?, ?, 'urn-and-date', 'now')",
            [inspection, other],
        )
        rebuild(db, [urn])
    assert db["inspections"].get(inspection)["report_sha256"] == other
    with db.conn:
        db.execute("update sources set as_at = '1999-01-01' where sha256 = ?", [other])
        rebuild(db, [urn])
    assert db["inspections"].get(inspection)["report_sha256"] == report


def test_one_ranking_of_sources():
    # newest date first; at one date a list, a table, a page, a report; then SHA
    ranks = [
        source_rank("2025-03-31", "b" * 64, "ofsted-providers"),
        source_rank("2025-03-31", "a" * 64, "ofsted-inspections+providers"),
        source_rank("2025-03-31", "f" * 64, "ofsted-inspections"),
        source_rank("2025-03-31", "f" * 64, "provider-page"),
        source_rank("2025-03-31", "f" * 64, "report"),
        source_rank("2024-03-31", "f" * 64, "ofsted-providers"),
    ]
    assert sorted(ranks, reverse=True) == ranks
    assert [kind_of(k) for k in ("ofsted-providers", "report", "provider-page")] == [
        "list",
        "report",
        "page",
    ]
    assert sorted(KIND_ORDER.values()) == [0, 1, 2, 3]
    # the SQL expression is the same order
    db = open_registry(":memory:")
    for rank in ranks:
        as_at, _order, sha = rank.split("|")
        kind = {
            "3": "ofsted-providers",
            "2": "ofsted-inspections",
            "1": "provider-page",
            "0": "report",
        }[_order]
        sql = rank_sql("?", "?", "?")
        # placeholders are bound in the order they appear in the expression
        (value,) = db.execute(
            f"select {sql}",
            [as_at, kind, kind, kind, sha],
        ).fetchone()
        assert value == rank


def test_files_and_reports_in_any_order_derive_the_same(tmp_path):
    sheet = tmp_path / "inspections-2023-24.csv"
    sheet.write_text(
        SHEET
        + _row("SC123456", "07/11/2023", "Good", 1)
        + _row("2610709", "31/10/2023", "Requires improvement to be good", 2)
    )
    files = [*sorted((FIXTURES / "spreadsheets").glob("*.csv")), sheet]
    pdfs = sorted((FIXTURES / "pdfs").glob("*.pdf"))
    forward, backward = tmp_path / "forward.db", tmp_path / "backward.db"
    assert run_load(forward, *files, *pdfs).exit_code in (0, 1)
    # reports first, then the files one by one, newest first
    assert run_load(backward, *reversed(pdfs)).exit_code in (0, 1)
    for path in reversed(files):
        assert run_load(backward, path).exit_code == 0
    queries = {
        **DERIVED,
        "inspection_reports": "select inspection_id, report_sha256, linked_by "
        "from inspection_reports order by 1, 2",
        "inspection_observations": "select * from inspection_observations "
        "order by inspection_id, source_id",
    }
    one, other = open_registry(forward), open_registry(backward)
    assert one["inspection_reports"].count >= 2
    assert _read(one, queries) == _read(other, queries)


def test_a_batch_stopped_before_deriving_is_derived_by_the_next_load(tmp_path):
    providers = FIXTURES / "spreadsheets" / "providers-at-2025-03-31-layout.csv"
    dfe = FIXTURES / "spreadsheets" / "dfe-la-missing-release-2024.csv"
    stopped = tmp_path / "stopped.db"
    with writer(stopped, "load", per_file=True) as db:
        # the file's own transaction commits; the batch stops before deriving
        assert load_file(db, providers, derive=False).ok
    db = open_registry(stopped)
    assert db["derive_pending"].count == 6
    assert (
        db.execute("select count(*) from homes where sector is not null").fetchone()[0]
        == 0
    )
    db.close()
    assert run_load(stopped, dfe).exit_code == 0  # a file that observes no home
    whole = tmp_path / "whole.db"
    assert run_load(whole, providers, dfe).exit_code == 0
    one, other = open_registry(stopped), open_registry(whole)
    assert one["derive_pending"].count == 0
    assert _read(one, DERIVED) == _read(other, DERIVED)
