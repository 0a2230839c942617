"""The stories on the real official files (REAL_DATA_DIR): the counts a
journalist quotes first."""

from __future__ import annotations

import csv
import io

import pytest

from registry.publish.serve import make_datasette
from registry.schema.db import open_registry

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def real_ds(real_registry_path):
    return make_datasette(real_registry_path)


async def rows_of(ds, query, **params):
    response = await ds.client.get(
        f"/registry/{query}.json", params={**params, "_shape": "array", "_size": "max"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_homes_link_counts_the_homes_on_the_2025_list(real_ds):
    index = (await real_ds.client.get("/")).text
    assert 'href="/registry/homes?status=active">Homes on the newest list</a>' in index
    active = (
        await real_ds.client.get("/registry/homes.json?status=active&_size=0")
    ).json()
    assert active["filtered_table_rows_count"] == 4009
    private = (
        await real_ds.client.get(
            "/registry/homes.json?status=active&sector=Private&_size=0"
        )
    ).json()
    assert private["filtered_table_rows_count"] == 3354


async def test_market_trend_2021_and_2025(real_ds):
    rows = await rows_of(real_ds, "market_trend", breakdown="sector")
    got = {
        (r["as_at"], r["name"]): (r["homes"], r["places"], r["share_of_homes"])
        for r in rows
    }
    assert got == {
        ("2021-03-31", "Private"): (2104, 8902, 77.8),
        ("2021-03-31", "Local Authority"): (435, 2451, 16.1),
        ("2021-03-31", "Voluntary"): (158, 1326, 5.8),
        ("2021-03-31", "Health Authority"): (9, 53, 0.3),
        ("2025-03-31", "Private"): (3354, 12000, 83.7),
        ("2025-03-31", "Local Authority"): (483, 2462, 12.0),
        ("2025-03-31", "Voluntary"): (165, 1245, 4.1),
        ("2025-03-31", "Health Authority"): (7, 35, 0.2),
    }
    assert {r["all_homes"] for r in rows if r["as_at"] == "2025-03-31"} == {4009}
    regions = await rows_of(real_ds, "market_trend", breakdown="region")
    assert sum(r["homes"] for r in regions if r["as_at"] == "2021-03-31") == 2706
    assert all(r["name"] != "Unknown" for r in regions)


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("2021", "2021-03-31"),
        ("31/03/2021", "2021-03-31"),
        ("2021-03-31", "2021-03-31"),
        ("2024", "2021-03-31"),  # no 2024 list: the one in force
        ("31/03/2025", "2025-03-31"),
        ("", "2025-03-31"),
        ("2015", None),  # no list that early: nothing, said in the heading
        ("31/03/2015", None),
    ],
)
async def test_as_at_forms_on_the_real_lists(real_ds, typed, answer):
    rows = await rows_of(real_ds, "market_snapshot", as_at=typed)
    assert {r["snapshot_as_at"] for r in rows} == ({answer} if answer else set())
    html = (
        await real_ds.client.get("/registry/market_snapshot", params={"as_at": typed})
    ).text
    if answer is None:
        assert "Answered from: No Ofsted list held is dated on or before" in html
    else:
        day = {"2021-03-31": "31 March 2021", "2025-03-31": "31 March 2025"}[answer]
        assert f"Answered from: Ofsted&#39;s list at {day}" in html


async def test_councils_without_homes_by_both_definitions(real_ds):
    rows = await rows_of(real_ds, "las_without_la_homes")
    by = {r["local_authority"]: r for r in rows}
    by_operator = sorted(r["local_authority"] for r in rows if r["runs_no_home"])
    by_location = sorted(
        r["local_authority"] for r in rows if r["no_council_home_in_area"]
    )
    assert (len(by_operator), len(by_location)) == (35, 44)
    # councils that run homes through a trust Ofsted classes as Voluntary, or
    # in another authority's area, run homes though none of their area's
    # homes is of sector Local Authority
    for name, runs in (
        ("Birmingham", 5),
        ("Bradford", 9),
        ("North Northamptonshire", 5),
        ("West Northamptonshire", 5),
        ("Wolverhampton", 1),
    ):
        assert (
            by[name]["homes_run_by_council"],
            by[name]["runs_no_home"],
            by[name]["no_council_home_in_area"],
        ) == (runs, 0, 1), name
    assert set(by_operator) < set(by_location)


async def test_a_story_csv_is_complete(real_ds, real_registry_path):
    response = await real_ds.client.get("/registry/owners.csv?_size=max&_stream=on")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text)))
    db = open_registry(real_registry_path, migrate=False)
    owners = db.execute(
        "select count(distinct owner) from home_snapshots where as_at = '2025-03-31'"
    ).fetchone()[0]
    assert owners > 1000
    assert len(rows) - 1 == owners


async def test_pages_without_reports_say_so(real_ds, real_registry_path):
    db = open_registry(real_registry_path, migrate=False)
    urn = db.execute(
        "select urn from homes where status = 'active' order by urn limit 1"
    ).fetchone()[0]
    gone = db.execute(
        "select urn, missing_since from homes where status = 'inactive' order by urn limit 1"
    ).fetchone()
    home = (await real_ds.client.get(f"/home/{urn}")).text
    assert "None of this home's inspection reports is loaded (0 reports" in home
    assert "No sentences about children going missing were found" not in home
    assert "listed: on Ofsted&#39;s list of providers at 2025-03-31" in home
    other = (await real_ds.client.get(f"/home/{gone[0]}")).text
    assert f"no longer listed as of {gone[1]}" in other
    search = (await real_ds.client.get("/search?q=missing")).text
    assert "No inspection reports are loaded, so no report text was searched" in search
    story = (await real_ds.client.get("/registry/flagged_homes")).text
    assert "0 inspection reports read" in story
    assert "ofsted-homes load registry.db reports/*.pdf" in story
