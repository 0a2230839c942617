"""Every canned query returns the rows worked out by hand from the fixture
registry (tests/publish/conftest.py), not merely a 200."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from registry.publish.serve import METADATA_PATH, load_metadata


def cells(rows, *columns):
    return [tuple(row[c] for c in columns) for row in rows]


async def run(ds, query, **params):
    response = await ds.client.get(
        f"/registry/{query}.json", params={**params, "_shape": "array"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_flagged_homes_defaults(ds):
    rows = await run(ds, "flagged_homes")
    assert cells(
        rows,
        "urn",
        "latest_judgement",
        "latest_full_inspection_date",
        "incidents_quoted",
    ) == [("SC100001", "Good", "2024-05-10", 14)]
    row = rows[0]
    assert row["sentences_quoted"] == 2
    assert "p. 5: Children went missing from the home on 14 occasions" in row["quotes"]
    assert row["report_url"] == "https://files.ofsted.gov.uk/v1/file/50000000"
    assert (row["owner"], row["owner_id"]) == ("Sunrise Care Ltd", "sunrise-care-ltd")
    # Context, not a per-home figure: the host LA's DfE percentage, newest year
    # up to the year of the inspection.
    assert (row["host_la_percent_children_missing"], row["host_la_year"]) == (7.5, 2024)


async def test_flagged_homes_parameters(ds):
    lower = await run(ds, "flagged_homes", min_incidents="2")
    # SC100002 (Outstanding, 2 quoted) joins; 1000003 (20 quoted) never does:
    # it is rated Requires improvement.
    assert [r["urn"] for r in lower] == ["SC100001", "SC100002"]
    longer = await run(ds, "flagged_homes", months="36")
    # SC100006's report of 2021-10-01 is 25 months before its inspection.
    assert cells(longer, "urn", "incidents_quoted") == [
        ("SC100001", 14),
        ("SC100006", 9),
    ]
    # SC100001's FOI count (17, matched by URN, 2023-24) is the larger
    # evidence; nothing reaches 18.
    above_quoted = await run(ds, "flagged_homes", min_incidents="15")
    assert cells(
        above_quoted, "urn", "incidents", "imported_incidents", "incidents_quoted"
    ) == [("SC100001", 17, 17, 14)]
    assert above_quoted[0]["imported_source"] == "Cleveland Police FOI 123/24"
    assert await run(ds, "flagged_homes", min_incidents="18") == []


async def test_market_snapshot(ds):
    rows = await run(ds, "market_snapshot", as_at="2025-03-31")
    assert cells(
        rows, "sector", "homes", "places", "share_of_homes", "share_of_places"
    ) == [
        ("Private", 4, 13, 66.7, 54.2),
        ("Local Authority", 1, 5, 16.7, 20.8),
        ("Voluntary", 1, 6, 16.7, 25.0),
    ]
    assert {r["snapshot_as_at"] for r in rows} == {"2025-03-31"}


async def test_market_snapshot_uses_list_in_force_on_the_date(ds):
    rows = await run(ds, "market_snapshot", as_at="2024-06-01")
    assert cells(rows, "sector", "homes", "places", "snapshot_as_at")[0] == (
        "Private",
        4,
        14,
        "2024-03-31",
    )
    assert await run(ds, "market_snapshot", as_at="2020-01-01") == []
    newest = await run(ds, "market_snapshot")  # default: the newest list
    assert newest[0]["snapshot_as_at"] == "2025-03-31"


async def test_regional_snapshot(ds):
    rows = await run(ds, "regional_snapshot", as_at="2025-03-31")
    assert cells(
        rows, "region", "homes", "places", "share_of_homes", "independent_share"
    ) == [
        ("London", 2, 8, 33.3, 100.0),
        ("West Midlands", 2, 8, 33.3, 50.0),
        ("North East", 1, 4, 16.7, 100.0),
        ("North West", 1, 4, 16.7, 100.0),
    ]


async def test_las_without_la_homes(ds):
    rows = await run(ds, "las_without_la_homes", as_at="2025-03-31")
    # Birmingham has a council-run home; Cumbria no longer exists.
    assert cells(
        rows, "la_code", "local_authority", "homes_in_area", "places_in_area"
    ) == [
        ("E09000012", "Hackney", 2, 8),
        ("E06000001", "Hartlepool", 1, 4),
        ("E06000063", "Cumberland", 1, 4),
    ]
    before = await run(ds, "las_without_la_homes", as_at="2022-06-01")
    # No Ofsted list that early: every authority existing then is listed, and
    # Cumbria existed, Cumberland did not.
    assert {r["local_authority"] for r in before} == {
        "Hartlepool",
        "Birmingham",
        "Hackney",
        "Cumbria",
    }


async def test_la_scorecard(ds):
    rows = await run(ds, "la_scorecard", year="2024")
    by_code = {r["la_code"]: r for r in rows}
    assert set(by_code) == {"E06000001", "E08000025", "E09000012", "E06000063"}
    hartlepool = by_code["E06000001"]
    assert (hartlepool["homes"], hartlepool["places"], hartlepool["good"]) == (2, 7, 2)
    assert hartlepool["independent_share"] == 100.0
    assert hartlepool["missing_incidents"] == 120
    assert hartlepool["children_missing"] == 30
    assert hartlepool["children_missing_per_100_looked_after"] == 7.5
    assert hartlepool["incidents_per_100_looked_after"] == 30.0
    assert hartlepool["incidents_change_on_previous_year"] == 20
    assert by_code["E08000025"]["incidents_change_on_previous_year"] == -100
    assert by_code["E08000025"]["independent_share"] == 50.0
    hackney = by_code["E09000012"]
    # Suppressed, not zero: blank with its symbol, and no change computed.
    assert hackney["missing_incidents"] is None
    assert hackney["missing_incidents_symbol"] == "c"
    assert hackney["incidents_change_on_previous_year"] is None
    assert hackney["children_missing_per_100_looked_after"] == 8.0
    assert by_code["E06000063"]["missing_incidents"] is None
    assert {r["snapshot_as_at"] for r in rows} == {"2024-03-31"}


async def test_owners(ds):
    rows = await run(ds, "owners")
    assert cells(
        rows,
        "owner_id",
        "homes",
        "places",
        "share_of_homes",
        "share_of_places",
        "outstanding",
        "good",
        "inadequate",
        "not_yet_judged",
        "below_good_share",
    ) == [
        ("sunrise-care-ltd", 3, 11, 50.0, 45.83, 1, 2, 0, 0, 0.0),
        ("bright-futures-ltd", 2, 8, 33.33, 33.33, 0, 0, 1, 1, 100.0),
        ("birmingham-city-council", 1, 5, 16.67, 20.83, 0, 0, 0, 0, 100.0),
    ]
    bigger = await run(ds, "owners", min_homes="2")
    assert [r["owner_id"] for r in bigger] == ["sunrise-care-ltd", "bright-futures-ltd"]
    # On the 2024 list: 1000007 (closed since) still counts for Bright Futures,
    # SC100005 (registered later) does not; everything was judged Good then.
    earlier = await run(ds, "owners", as_at="2024-06-01")
    assert cells(earlier, "owner_id", "homes", "places", "good", "snapshot_as_at") == [
        ("sunrise-care-ltd", 3, 11, 3, "2024-03-31"),
        ("bright-futures-ltd", 2, 9, 2, "2024-03-31"),
        ("birmingham-city-council", 1, 5, 1, "2024-03-31"),
    ]


async def test_home_history(ds):
    rows = await run(ds, "home_history", urn=" sc100001 ")
    assert cells(rows, "date", "event", "judgement") == [
        ("2021-06-01", "Full inspection", "Outstanding"),
        ("2023-02-01", "Full inspection", "Good"),
        ("2024-03-31", "Listed by Ofsted", "Good"),
        ("2024-05-10", "Full inspection", "Good"),
        ("2025-03-31", "Listed by Ofsted", "Good"),
    ]
    assert rows[2]["owner"] == "SUNRISE CARE LTD"  # as that file spelled it


async def test_downgrades(ds):
    rows = await run(ds, "downgrades")
    assert cells(
        rows, "urn", "previous_judgement", "judgement", "steps_down", "inspection_date"
    ) == [
        ("SC100004", "Good", "Inadequate", 2, "2025-01-15"),
        ("1000003", "Good", "Requires improvement to be good", 1, "2024-07-01"),
        ("SC100001", "Outstanding", "Good", 1, "2023-02-01"),
    ]
    window = await run(ds, "downgrades", from_date="2024-01-01", to_date="2024-12-31")
    assert [r["urn"] for r in window] == ["1000003"]


async def test_missing_trend(ds):
    rows = await run(ds, "missing_trend")
    assert cells(
        rows,
        "year",
        "area",
        "missing_incidents",
        "away_incidents",
        "children_missing",
        "release",
    ) == [
        # 2023 as revised in the 2025 release (81,890 in the 2024 release).
        (2023, "England", 82110, 10520, 12790, "2025"),
        (2024, "England", 83920, 10780, 13010, "2025"),
        (2024, "North East", 3000, 400, 500, "2025"),
    ]
    assert [r["year"] for r in await run(ds, "missing_trend", from_year="2024")] == [
        2024,
        2024,
    ]


async def test_problems(ds):
    rows = await run(ds, "problems")
    assert cells(rows, "file_name", "problems") == [("providers_2025.csv", 2)]
    assert set(rows[0]["messages"].split(",")) == {
        "Places is not a number",
        "Not a URN",
    }
    assert await run(ds, "problems", file="la_missing") == []


async def test_search_reports(ds):
    rows = await run(ds, "search_reports", q="occasions")
    assert sorted(cells(rows, "urn", "inspection_date", "page")) == [
        ("SC100001", "2023-02-01", 4),
        ("SC100001", "2024-05-10", 5),
    ]
    assert all("[[occasions]]" in r["snippet"] for r in rows)
    # What people type is never an SQL error: quotes and hyphens are words.
    assert await run(ds, "search_reports", q='"went missing') != []
    assert await run(ds, "search_reports", q="risk-of exploitation AND") == []


async def test_canned_query_results_link_to_pages(ds):
    html = (await ds.client.get("/registry/flagged_homes")).text
    assert '<a href="/home/SC100001">SC100001</a>' in html
    assert '<a href="/owner/sunrise-care-ltd">sunrise-care-ltd</a>' in html
    assert '<a href="/la/E06000001">E06000001</a>' in html
    assert 'href="https://files.ofsted.gov.uk/v1/file/50000000"' in html
    search = (await ds.client.get("/registry/search_reports?q=occasions")).text
    assert "14 <mark>occasions</mark>" in search


def test_every_canned_query_has_a_test():
    metadata = yaml.safe_load(METADATA_PATH.read_text())
    queries = set(metadata["databases"]["registry"]["queries"])
    tests = Path(__file__).resolve().parents[1]
    source = "\n".join(p.read_text() for p in tests.rglob("test_*.py"))
    untested = {q for q in queries if f'"{q}"' not in source and f"/{q}" not in source}
    assert not untested, f"canned queries no test names: {sorted(untested)}"


@pytest.mark.parametrize(
    "query",
    sorted(
        yaml.safe_load(METADATA_PATH.read_text())["databases"]["registry"]["queries"]
    ),
)
def test_canned_query_is_documented(query):
    spec = load_metadata("registry")["databases"]["registry"]["queries"][query]
    assert spec.get("title"), f"{query}: no title"
    assert spec.get("description") or spec.get("description_html"), (
        f"{query}: no description"
    )
    for param in spec.get("params", []):
        assert f":{param}" in spec["sql"], f"{query}: parameter {param} unused"
