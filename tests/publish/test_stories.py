"""The stories journalists quote first: dates as people type them and the
list that answered, the market over time, who runs a council's homes, owner
groups, what evidence a story had, and complete CSV exports."""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pytest

from registry.derive.groups import GroupsFileError, load_groups
from registry.publish.serve import make_datasette
from registry.schema.db import open_registry


async def run(ds, query, **params):
    response = await ds.client.get(
        f"/registry/{query}.json", params={**params, "_shape": "array"}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("typed", "list_used"),
    [
        ("2025-03-31", "2025-03-31"),
        ("31/03/2025", "2025-03-31"),
        ("31 March 2025", "2025-03-31"),
        ("2025", "2025-03-31"),  # a year: the newest list that year
        ("2024", "2024-03-31"),
        ("1/4/2024", "2024-03-31"),  # the list in force that day
        ("", "2025-03-31"),  # blank: the newest
    ],
)
async def test_as_at_accepts_the_forms_people_type(ds, typed, list_used):
    rows = await run(ds, "market_snapshot", as_at=typed)
    assert rows and {r["snapshot_as_at"] for r in rows} == {list_used}


@pytest.mark.parametrize("typed", ["yesterday", "31/13/2025", "2025-02-30", "20155"])
async def test_as_at_that_is_not_a_date_answers_for_no_list(ds, typed):
    assert await run(ds, "market_snapshot", as_at=typed) == []
    html = (
        await ds.client.get("/registry/market_snapshot", params={"as_at": typed})
    ).text
    assert "is not a date this story understands" in html


async def test_the_heading_says_which_list_answered(ds):
    html = (
        await ds.client.get("/registry/market_snapshot", params={"as_at": "2015"})
    ).text
    assert (
        "Answered from: No Ofsted list held is dated on or before 31 December 2015"
        in html
    )
    html = (
        await ds.client.get("/registry/regional_snapshot", params={"as_at": "1/6/2024"})
    ).text
    assert (
        "Answered from: Ofsted&#39;s list at 31 March 2024: the list in force on "
        "1 June 2024 (there is no list of that exact date)"
    ) in html
    # the dates held, as links
    assert 'href="?as_at=2025-03-31" aria-current="true"' not in html
    assert 'href="?as_at=2024-03-31" aria-current="true">2024-03-31</a>' in html
    assert 'href="?as_at=2025-03-31">2025-03-31</a>' in html


async def test_market_trend_has_every_list_date(ds):
    rows = await run(ds, "market_trend", breakdown="sector")
    by = {(r["as_at"], r["name"]): r for r in rows}
    assert {r["as_at"] for r in rows} == {"2024-03-31", "2025-03-31"}
    assert (
        by[("2025-03-31", "Private")]["homes"],
        by[("2025-03-31", "Private")]["share_of_homes"],
    ) == (4, 66.7)
    assert by[("2024-03-31", "Local Authority")]["share_of_homes"] == round(100 / 6, 1)
    assert sum(r["homes"] for r in rows if r["as_at"] == "2025-03-31") == 6
    regions = await run(ds, "market_trend", breakdown="region")
    assert {r["breakdown"] for r in regions} == {"region"}
    assert {r["name"] for r in regions if r["as_at"] == "2025-03-31"} == {
        "London",
        "West Midlands",
        "North East",
        "North West",
    }


async def test_overview_draws_the_market_trend(ds):
    html = (await ds.client.get("/overview")).text
    assert 'id="market-trend"' in html
    assert "Share of children&#39;s homes by sector at each Ofsted list date" in html
    assert '<th data-label="List date">2024-03-31</th>' in html


@pytest.fixture
def council_registry(registry_path, tmp_path) -> Path:
    """The fixture registry, plus a home Hartlepool's council runs in
    Birmingham and one Birmingham's children's trust runs (sector Voluntary)."""
    path = tmp_path / "registry.db"
    shutil.copy(registry_path, path)
    db = open_registry(path)
    from registry.la import derive_owner_councils

    with db.conn:
        db["owners"].insert_all(
            [
                {
                    "id": "hartlepool-borough-council",
                    "name": "Hartlepool Borough Council",
                },
                {
                    "id": "birmingham-childrens-trust-cic",
                    "name": "Birmingham Children's Trust Community Interest Company",
                },
            ]
        )
        base = db.execute(
            "select * from home_snapshots where urn = '1000003' and as_at = '2025-03-31'"
        ).fetchone()
        columns = [c[1] for c in db.execute("pragma table_info(home_snapshots)")]
        row = dict(zip(columns, base, strict=True))
        db["homes"].insert_all([{"urn": "SC200001"}, {"urn": "SC200002"}])
        db["home_snapshots"].insert_all(
            [
                {**row, "urn": "SC200001", "owner": "hartlepool-borough-council"},
                {
                    **row,
                    "urn": "SC200002",
                    "sector": "Voluntary",
                    "la_code": "E09000012",
                    "owner": "birmingham-childrens-trust-cic",
                },
            ]
        )
        derive_owner_councils(db)
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path


async def test_councils_are_counted_by_who_runs_the_home(council_registry):
    ds = make_datasette(council_registry)
    rows = await run(ds, "las_without_la_homes", as_at="2025-03-31")
    by = {r["local_authority"]: r for r in rows}
    # Hartlepool runs a home (in Birmingham) but has none in its own area
    assert (
        by["Hartlepool"]["homes_run_by_council"],
        by["Hartlepool"]["runs_no_home"],
        by["Hartlepool"]["council_sector_homes_in_area"],
        by["Hartlepool"]["no_council_home_in_area"],
    ) == (1, 0, 0, 1)
    # Birmingham: its own home and its trust's (Voluntary, in Hackney): not listed
    assert "Birmingham" not in by
    # Hackney has a council-sector home in its area by neither definition;
    # the trust's home there is Birmingham's
    assert (
        by["Hackney"]["runs_no_home"],
        by["Hackney"]["no_council_home_in_area"],
    ) == (1, 1)
    assert [r["local_authority"] for r in rows if r["runs_no_home"]] == [
        "Hackney",
        "Cumberland",
    ]
    assert sorted(
        r["local_authority"] for r in rows if r["no_council_home_in_area"]
    ) == [
        "Cumberland",
        "Hackney",
        "Hartlepool",
    ]


# ------------------------------------------------------------ owner groups

MAPPING = (
    "owner,pattern,group,source\n"
    "Sunrise Care Limited,,Dawn Group,Companies House PSC register (sample)\n"
    ",bright*,Dawn Group,Annual report 2024 (sample)\n"
    ",*council*,Councils,Sample claim\n"
)


@pytest.fixture
def groups_registry(registry_path, tmp_path) -> Path:
    path = tmp_path / "registry.db"
    shutil.copy(registry_path, path)
    mapping = tmp_path / "groups.csv"
    mapping.write_text(MAPPING, encoding="utf-8")
    db = open_registry(path)
    loaded, summary = load_groups(db, mapping, is_sample=True)
    assert loaded
    assert summary == (
        "groups.csv: 3 rules, 3 owners in 2 groups; 0 rules matched no owner "
        "(SAMPLE mapping)"
    )
    assert load_groups(db, mapping, is_sample=True) == (
        False,
        "groups.csv: already loaded (same SHA-256), skipped",
    )
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path


async def test_groups_story_counts_homes_places_and_ratings(groups_registry):
    ds = make_datasette(groups_registry)
    rows = await run(ds, "groups", as_at="2025-03-31")
    assert [
        (r["group_id"], r["owners"], r["homes"], r["places"], r["share_of_homes"])
        for r in rows
    ] == [("dawn-group", 2, 5, 19, 83.33), ("councils", 1, 1, 5, 16.67)]
    dawn = rows[0]
    assert (
        dawn["good"],
        dawn["outstanding"],
        dawn["inadequate"],
        dawn["not_yet_judged"],
    ) == (2, 1, 1, 1)
    assert sorted(dawn["claim_sources"].split(",")) == [
        "Annual report 2024 (sample)",
        "Companies House PSC register (sample)",
    ]
    assert dawn["mapping_is_sample"] == 1
    page = await ds.client.get("/group/dawn-group")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Dawn Group" in html and "Sample mapping." in html
    assert "Companies House PSC register (sample)" in html
    assert 'href="/owner/sunrise-care-ltd"' in html
    assert 'href="/home/SC100001"' in html
    assert (await ds.client.get("/group/no-such-group")).status_code == 404


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "owner,group\nX,Y\n",
            "the header must have the columns owner (or pattern), group and source",
        ),
        ("owner,pattern,group,source\nX,X*,G,S\n", "row 2: give either owner"),
        ("owner,group,source\nX,G,\n", "row 2: the source is empty"),
        ("pattern,group,source\n*,G,S\n", "row 2: the pattern '*' matches every owner"),
    ],
)
def test_a_bad_mapping_is_refused_with_the_row_and_the_fix(tmp_path, text, message):
    path = tmp_path / "groups.csv"
    path.write_text(text, encoding="utf-8")
    db = open_registry(tmp_path / "registry.db")
    with pytest.raises(GroupsFileError, match=re.escape(message)):
        load_groups(db, path)
    assert db["owner_group_rules"].count == 0


# ----------------------------------------------------- evidence and exports


async def test_an_empty_story_says_what_evidence_it_had(groups_registry, tmp_path):
    ds = make_datasette(groups_registry)
    html = (await ds.client.get("/registry/flagged_homes?min_incidents=999")).text
    assert "Evidence this story had:" in html
    assert "inspection reports read" in html
    assert "No rows. The evidence above was searched and nothing matched." in html
    # a registry with no reports at all says so, and what it would need
    empty = tmp_path / "empty.db"
    open_registry(empty).close()
    html = (await make_datasette(empty).client.get("/empty/flagged_homes")).text
    assert (
        "With nothing of that loaded, an empty answer says nothing about the homes"
        in html
    )
    assert "ofsted-homes load registry.db reports/*.pdf" in html


async def test_a_story_csv_has_every_row(ds, monkeypatch):
    # Datasette's own CSV of a canned query stops at max_returned_rows: make
    # that 2 and check the export still has all 6 rows and the page says so.
    ds._settings["max_returned_rows"] = ds.max_returned_rows = 2
    try:
        page = (await ds.client.get("/registry/regional_snapshot")).text
        assert "This page shows the first 2 rows, not all of them" in page
        for url in (
            "/registry/regional_snapshot.csv",
            "/registry/regional_snapshot.csv?_size=max&_stream=on",
        ):
            response = await ds.client.get(url)
            assert response.status_code == 200
            rows = list(csv.reader(io.StringIO(response.text)))
            assert rows[0][:2] == ["region", "homes"]
            assert len(rows) == 1 + 4
            assert response.headers["x-ofsted-rows"] == "4"
        download = await ds.client.get("/registry/owners.csv?_dl=1&min_homes=1")
        assert (
            download.headers["content-disposition"]
            == 'attachment; filename="owners.csv"'
        )
    finally:
        ds._settings["max_returned_rows"] = ds.max_returned_rows = 1000


async def test_a_story_export_past_its_bound_says_so(ds, monkeypatch):
    from datasette.plugins import pm

    plugin = next(
        p for p in pm.get_plugins() if getattr(p, "__name__", "") == "ofsted_stories.py"
    )
    monkeypatch.setattr(plugin, "EXPORT_MAX_ROWS", 3)
    response = await ds.client.get("/registry/regional_snapshot.csv")
    assert response.status_code == 413
    assert "more than 3 rows" in response.text


MARCH_2015 = (
    "Web link,URN,Provision type,Reg Status,Setting Name,Region,Local authority,"
    "Sector,Inspection type,Inspection Date,Inspection ID,Overall effectiveness\n"
    "Ofsted Social Care Provider Webpage,SC064050,Children's Home,Active,REDACTED,"
    "North East,Durham,Local authority,Full inspection,27/03/2015,326436,Good\n"
    "Ofsted Social Care Provider Webpage,SC777001,Children's Home,Active,REDACTED,"
    "South West,Poole,Private,Full inspection,26/03/2015,326600,Good\n"
)


async def test_a_list_without_places_gives_blank_places_and_worked_out_regions(
    tmp_path,
):
    from registry.loading.files import load_files

    path = tmp_path / "registry.db"
    source = tmp_path / "providers_at_31_march_2015.csv"
    source.write_text(MARCH_2015, encoding="utf-8")
    db = open_registry(path)
    assert all(r.ok for r in load_files(db, [source]))
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    ds = make_datasette(path)
    card = await run(ds, "la_scorecard", year="2015")
    durham = next(r for r in card if r["local_authority"] == "County Durham")
    assert (durham["homes"], durham["places"]) == (1, None)
    assert all(r["places"] is None for r in card)  # not 0: the list gives none
    regions = await run(ds, "regional_snapshot", as_at="2015")
    assert sorted((r["region"], r["homes_region_worked_out"]) for r in regions) == [
        ("North East", 1),
        ("South West", 1),
    ]
    assert all(r["places"] is None for r in regions)


async def test_counts_are_whole_numbers_not_decimals(ds):
    card = await run(ds, "la_scorecard")
    figures = [
        r[c]
        for r in card
        for c in ("missing_incidents", "children_missing", "children_looked_after")
        if r[c] is not None
    ]
    assert figures and all(isinstance(v, int) for v in figures)
    trend = await run(ds, "missing_trend")
    assert all(
        isinstance(r["missing_incidents"], int)
        for r in trend
        if r["missing_incidents"] is not None
    )
    text = (await ds.client.get("/registry/missing_trend.csv")).text
    assert "83920" in text and "83920.0" not in text
