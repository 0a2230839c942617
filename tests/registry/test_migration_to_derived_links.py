"""A registry built before inspections' reports were derived from
`inspection_reports` (tests/fixtures/registries/before-link-table.db: the
fixture spreadsheets, a two-row inspections sheet and the fixture report PDFs,
loaded by the code of that time) migrates in place, keeps every link and
every derived value, loads and serves."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from registry_support import FIXTURES, run_load

from registry.publish.serve import make_datasette
from registry.schema.db import open_registry

BEFORE = FIXTURES.parent / "registries" / "before-link-table.db"
SHEET = (FIXTURES / "inspections-2017-18-layout.csv").open().readline()
NEW_ROW = (
    "Ofsted Social Care Provider Webpage,SC123456,,Children's home,Active,REDACTED,"
    "REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,North West,North West,Lancashire,"
    "Lancaster,Private,4,Some Care Ltd,Full inspection,05/02/2025,05/02/2025,10049999,"
    "Outstanding,,,Outstanding,Outstanding\n"
)


def _rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_the_old_registry_has_links_set_by_update():
    tables = {r[0] for r in _rows(BEFORE, "select name from sqlite_master")}
    assert "inspection_reports" not in tables and "derive_pending" not in tables
    linked = _rows(
        BEFORE,
        "select id, report_sha256 from inspections where report_sha256 is not null",
    )
    assert len(linked) == 2


async def test_an_old_registry_migrates_loads_and_serves(tmp_path):
    path = tmp_path / "registry.db"
    shutil.copy(BEFORE, path)
    inspections = _rows(path, "select * from inspections order by id")
    homes = _rows(path, "select * from homes where urn != 'SC123456' order by urn")
    links = _rows(
        path,
        "select id, report_sha256 from inspections "
        "where report_sha256 is not null order by id",
    )
    report_ids = _rows(path, "select sha256, inspection_id from reports order by 1")

    sheet = tmp_path / "inspections-2024-25.csv"
    sheet.write_text(SHEET + NEW_ROW)
    result = run_load(path, sheet)
    assert result.exit_code == 0, result.output

    db = open_registry(path)
    # the links it held are evidence now, and the columns derive from them
    assert [
        (r["inspection_id"], r["report_sha256"], r["linked_by"])
        for r in db.query("select * from inspection_reports order by 1")
    ] == [(i, sha, "urn-and-date") for i, sha in links]
    assert db["derive_pending"].count == 0  # every home re-derived by the load
    # every old inspection and home is as it was (under the one ranking);
    # columns added since are checked where they are derived
    columns = [
        c[1] for c in sqlite3.connect(BEFORE).execute("pragma table_info(inspections)")
    ]
    old_ids = {row[0] for row in inspections}
    now = [
        tuple(r[c] for c in columns)
        for r in db.query("select * from inspections order by id")
        if r["id"] in old_ids
    ]
    assert now == inspections
    home_columns = [
        c[1] for c in sqlite3.connect(BEFORE).execute("pragma table_info(homes)")
    ]
    assert (
        db.execute(
            f"select {', '.join(home_columns)} from homes "
            "where urn != 'SC123456' order by urn"
        ).fetchall()
        == homes
    )
    assert db.execute(
        "select sha256, inspection_id from reports order by 1"
    ).fetchall() == (report_ids)
    # the new file's inspection is there, and the home's latest inspection
    home = db["homes"].get("SC123456")
    assert (home["latest_inspection_date"], home["latest_judgement"]) == (
        "2025-02-05",
        "Outstanding",
    )
    assert db.execute("pragma foreign_key_check").fetchall() == []
    db.close()

    ds = make_datasette(path)
    response = await ds.client.get("/registry/inspection_reports.json?_shape=array")
    assert response.status_code == 200
    assert sorted(
        (r["inspection_id"], r["report_sha256"]) for r in response.json()
    ) == (links)
    response = await ds.client.get(
        "/registry/inspections.json?_shape=array&report_sha256__notblank=1"
    )
    assert response.status_code == 200
    assert sorted((r["id"], r["report_sha256"]) for r in response.json()) == links
    response = await ds.client.get("/registry/homes/SC123456.json?_shape=array")
    assert response.status_code == 200
    assert response.json()[0]["latest_judgement"] == "Outstanding"
