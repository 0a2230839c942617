"""The published registry built by the real loaders (spreadsheet and report
fixtures of tests/fixtures): every story runs, its figures agree with the
tables, and every home, owner and local authority page renders."""

from __future__ import annotations

import sqlite3

import pytest

from registry.publish.serve import load_metadata, make_datasette

QUERIES = load_metadata("registry")["databases"]["registry"]["queries"]


@pytest.fixture(scope="module")
def loaded(loaded_registry_path):
    return make_datasette(loaded_registry_path)


@pytest.fixture(scope="module")
def conn(loaded_registry_path):
    connection = sqlite3.connect(loaded_registry_path)
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()


async def rows_of(ds, query, **params):
    response = await ds.client.get(
        f"/registry/{query}.json", params={**params, "_shape": "array"}
    )
    assert response.status_code == 200, (query, response.text[:500])
    return response.json()


@pytest.mark.parametrize("query", sorted(QUERIES))
async def test_every_story_runs_on_loaded_data(loaded, query):
    defaults = {"urn": "SC064050", "q": "missing"}
    params = {p: defaults.get(p, "") for p in QUERIES[query].get("params", [])}
    await rows_of(loaded, query, **params)
    page = await loaded.client.get(f"/registry/{query}", params=params)
    assert page.status_code == 200
    assert "ofsted-sample-banner" in page.text


async def test_market_snapshot_adds_up(loaded, conn):
    newest = conn.execute("select max(as_at) from home_snapshots").fetchone()[0]
    expected = conn.execute(
        "select count(*), sum(places) from home_snapshots where as_at = ?", [newest]
    ).fetchone()
    rows = await rows_of(loaded, "market_snapshot")
    assert sum(r["homes"] for r in rows) == expected[0]
    assert sum(r["places"] for r in rows) == expected[1]
    assert abs(sum(r["share_of_homes"] for r in rows) - 100) < 0.5
    assert {r["snapshot_as_at"] for r in rows} == {newest}
    regions = await rows_of(loaded, "regional_snapshot")
    assert sum(r["homes"] for r in regions) == expected[0]


async def test_la_scorecard_matches_dfe_rows(loaded, conn):
    year, la_code, value = conn.execute(
        "select year, la_code, value from la_missing_stats_latest"
        " where geographic_level = 'Local authority' and measure = 'missing_incidents'"
        " and value is not null order by year desc, la_code limit 1"
    ).fetchone()
    rows = await rows_of(loaded, "la_scorecard", year=str(year))
    by_code = {r["la_code"]: r for r in rows}
    assert by_code[la_code]["missing_incidents"] == value


async def test_national_trend_matches_dfe(loaded, conn):
    expected = dict(
        conn.execute(
            "select year, value from la_missing_stats_latest where geographic_level ="
            " 'National' and measure = 'missing_incidents'"
        ).fetchall()
    )
    rows = await rows_of(loaded, "missing_trend")
    national = {
        r["year"]: r["missing_incidents"] for r in rows if r["area"] == "England"
    }
    assert national == expected
    assert national  # the fixtures do carry national rows


async def test_home_history_has_every_inspection(loaded, conn):
    urn = conn.execute(
        "select urn from inspections group by urn order by count(*) desc limit 1"
    ).fetchone()[0]
    count = conn.execute(
        "select count(*) from inspections where urn = ?", [urn]
    ).fetchone()[0]
    rows = await rows_of(loaded, "home_history", urn=urn)
    assert sum(1 for r in rows if r["event"] != "Listed by Ofsted") == count


async def test_report_search_finds_loaded_report_text(loaded, conn):
    rows = await rows_of(loaded, "search_reports", q="occasions")
    expected = conn.execute(
        "select count(*) from report_pages where text like '%occasions%'"
    ).fetchone()[0]
    assert len(rows) == expected > 0
    assert all("[[occasions]]" in r["snippet"].lower() for r in rows)


async def test_every_home_owner_and_la_page_renders(loaded, conn):
    urns = [r[0] for r in conn.execute("select urn from homes")]
    owners = [r[0] for r in conn.execute("select id from owners")]
    las = [
        r[0]
        for r in conn.execute(
            "select distinct la_code from homes where la_code is not null"
        )
    ]
    assert len(urns) > 10 and owners and las
    for path in (
        [f"/home/{u}" for u in urns]
        + [f"/owner/{o}" for o in owners]
        + [f"/la/{code}" for code in las]
        + ["/overview"]
    ):
        response = await loaded.client.get(path)
        assert response.status_code == 200, path
        assert "ofsted-sample-banner" in response.text, path


async def test_home_page_shows_report_mentions_from_loaded_pdfs(loaded, conn):
    urn, quote = conn.execute(
        "select m.urn, m.quote from report_mentions m join homes h on h.urn = m.urn"
        " where m.is_current = 1 and m.kind = 'missing' limit 1"
    ).fetchone() or (None, None)
    # the fixture PDFs include reports of homes in the fixture spreadsheets
    assert urn is not None, "no loaded report mentions a home of the fixture registry"
    html = (await loaded.client.get(f"/home/{urn}")).text
    assert quote.replace("'", "&#39;")[:40] in html.replace("&#34;", '"')
