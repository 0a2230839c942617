"""What keeps pages fast on a big registry (issue 14), shown by behaviour:
the local authority page comes in pages of 100 with the same counts and the
same order as before, /overview counts in SQL and says the same, a page whose
query runs out of time answers 503 (not 500), and Datasette's table
permission check is worked out once per table, not on every request."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

from registry.publish.serve import datasette_options, make_datasette
from registry.schema.db import open_registry

ROOT = Path(__file__).resolve().parents[2]
SOURCE_A = "a" * 64  # the fixture's 2025 providers list (conftest.py)
CROWDED_LA = "E09000012"  # Hackney: 2 homes in the fixture, 245 more here
ADDED = 245
SECTORS = ["Private", "Voluntary", "Local Authority", None]
JUDGEMENTS = [
    "Good",
    "Outstanding",
    "Requires improvement to be good",
    None,
    "Adequate",
]


def plugin():
    path = ROOT / "datasette" / "plugins" / "ofsted_pages.py"
    spec = importlib.util.spec_from_file_location("plugin_ofsted_pages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def crowded_path(tmp_path_factory, registry_path) -> Path:
    """The fixture registry with 245 more homes in Hackney: most on the
    newest list (2025-03-31), every seventh not; sectors, places and
    judgements varied, some missing."""
    path = tmp_path_factory.mktemp("crowded") / "registry.db"
    shutil.copy(registry_path, path)
    db = open_registry(path)
    homes, snapshots = [], []
    for i in range(ADDED):
        urn = f"SC2{i:05d}"
        sector = SECTORS[i % len(SECTORS)]
        common = {
            "urn": urn,
            "provision_type": "Children's home",
            "sector": sector,
            "is_independent": 1 if sector in ("Private", "Voluntary") else 0,
            "local_authority": "Hackney",
            "la_code": CROWDED_LA,
            "region": "London",
            "places": None if i % 11 == 0 else i % 6 + 1,
            "owner": "bright-futures-ltd",
        }
        homes.append(
            {
                **common,
                "latest_judgement": JUDGEMENTS[i % len(JUDGEMENTS)],
                "status": "active" if i % 7 else "inactive",
            }
        )
        if i % 7:
            snapshots.append(
                {
                    **common,
                    "as_at": "2025-03-31",
                    "latest_judgement": JUDGEMENTS[i % len(JUDGEMENTS)],
                    "source_id": SOURCE_A,
                }
            )
    with db.conn:
        db["homes"].upsert_all(homes, pk="urn")
        db["home_snapshots"].upsert_all(snapshots, pk=("urn", "as_at"))
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path


@pytest.fixture(scope="module")
def crowded(crowded_path) -> Datasette:
    return make_datasette(crowded_path)


def chart_specs_of(html: str) -> dict[str, dict]:
    found = re.findall(
        r'<figure class="ofsted-chart" id="([^"]+)">.*?'
        r'<script type="application/json" class="ofsted-chart-data">(.*?)</script>',
        html,
        re.S,
    )
    return {chart_id: json.loads(data) for chart_id, data in found}


def expected_la_homes(path: Path, code: str) -> list[dict]:
    """Every home of the LA as the page used to list them all: on the
    newest list first, then by sector (blank first) and URN."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    newest = conn.execute("select max(as_at) from home_snapshots").fetchone()[0]
    found = [
        dict(row)
        for row in conn.execute(
            "select urn, sector, places, latest_judgement, exists(select 1 from"
            " home_snapshots s where s.urn = h.urn and s.as_at = ?) as is_listed"
            " from homes h where la_code = ?",
            [newest, code],
        )
    ]
    conn.close()
    return sorted(
        found,
        key=lambda h: (
            -h["is_listed"],
            h["sector"] is not None,
            h["sector"] or "",
            h["urn"],
        ),
    )


def urns_on(html: str) -> list[str]:
    table = html[html.index('<h2 id="homes">') :]
    return re.findall(r'<a href="/home/([^"]+)">', table)


async def test_la_page_lists_every_home_once_100_a_page(crowded, crowded_path):
    expected = expected_la_homes(crowded_path, CROWDED_LA)
    assert len(expected) == ADDED + 2
    seen = []
    for page in (1, 2, 3):
        response = await crowded.client.get(f"/la/{CROWDED_LA}?page={page}")
        assert response.status_code == 200
        seen.append(urns_on(response.text))
    assert [len(p) for p in seen] == [100, 100, ADDED + 2 - 200]
    assert [u for p in seen for u in p] == [h["urn"] for h in expected]
    # page 1 without ?page= is page 1
    first = (await crowded.client.get(f"/la/{CROWDED_LA}")).text
    assert urns_on(first) == seen[0]


async def test_la_page_links_between_pages(crowded):
    first = (await crowded.client.get(f"/la/{CROWDED_LA}")).text
    assert "Homes 1 to 100 of 247 (page 1 of 3" in first
    assert f'href="/la/{CROWDED_LA}?page=2#homes" rel="next"' in first
    assert f'href="/la/{CROWDED_LA}?page=3#homes" rel="last"' in first
    assert 'rel="prev"' not in first
    last = (await crowded.client.get(f"/la/{CROWDED_LA}?page=3")).text
    assert "Homes 201 to 247 of 247 (page 3 of 3" in last
    assert f'href="/la/{CROWDED_LA}?page=2#homes" rel="prev"' in last
    assert f'href="/la/{CROWDED_LA}?page=1#homes" rel="first"' in last
    assert 'rel="next"' not in last


async def test_small_la_page_has_no_page_links(ds):
    html = (await ds.client.get("/la/E06000001")).text
    assert "ofsted-pager" not in html
    assert len(urns_on(html)) == 2


@pytest.mark.parametrize("page", ["0", "4", "abc", "-1", "1.5"])
async def test_la_page_out_of_range_is_404(crowded, page):
    response = await crowded.client.get(f"/la/{CROWDED_LA}?page={page}")
    assert response.status_code == 404


async def test_la_page_counts_every_home_not_only_the_page(crowded, crowded_path):
    expected = expected_la_homes(crowded_path, CROWDED_LA)
    listed = [h for h in expected if h["is_listed"]]
    places = sum(h["places"] or 0 for h in listed)
    for page in (1, 3):
        html = (await crowded.client.get(f"/la/{CROWDED_LA}?page={page}")).text
        assert (
            f"<strong>{len(listed)}</strong> children's homes in its area on Ofsted's"
            f" latest list, <strong>{places}</strong> places"
        ) in html
        assert (
            f"({len(expected) - len(listed)} more in the registry no longer listed)"
            in html
        )
        mix = chart_specs_of(html)["rating-mix"]
        assert dict(zip(mix["labels"], mix["datasets"][0]["data"], strict=True)) == (
            plugin().rating_mix(listed)
        )


async def test_overview_counts_match_the_rows(crowded, crowded_path):
    """The sector mix counted in SQL equals rating_mix over every row, as
    the page used to count them in Python."""
    conn = sqlite3.connect(crowded_path)
    conn.row_factory = sqlite3.Row
    snapshot = [
        dict(r)
        for r in conn.execute(
            "select coalesce(sector, 'Unknown') as sector, latest_judgement,"
            " region, places from home_snapshots"
            " where as_at = (select max(as_at) from home_snapshots)"
        )
    ]
    conn.close()
    sectors = sorted({r["sector"] for r in snapshot})
    mixes = {
        s: plugin().rating_mix([r for r in snapshot if r["sector"] == s])
        for s in sectors
    }
    charts = chart_specs_of((await crowded.client.get("/overview")).text)
    by_sector = charts["rating-by-sector"]
    assert by_sector["labels"] == sectors
    for dataset in by_sector["datasets"]:
        assert dataset["data"] == [mixes[s][dataset["label"]] for s in sectors]
    regions = charts["homes-per-region"]
    counted = {}
    for row in snapshot:
        counted[row["region"]] = counted.get(row["region"], 0) + 1
    assert dict(
        zip(regions["labels"], regions["datasets"][0]["data"], strict=True)
    ) == (counted)


def test_rating_mix_counts_equals_rating_mix_of_the_rows():
    pages = plugin()
    rows = [
        {"latest_judgement": j} for j in JUDGEMENTS * 3 + ["Inadequate", "Adequate"]
    ]
    grouped = {}
    for row in rows:
        grouped[row["latest_judgement"]] = grouped.get(row["latest_judgement"], 0) + 1
    counted = [{"latest_judgement": j, "homes": n} for j, n in grouped.items()]
    assert pages.rating_mix_counts(counted) == pages.rating_mix(rows)


# ------------------------------------------------------- out of time: 503


@pytest.fixture
async def out_of_time(registry_path) -> Datasette:
    """Every query the pages run runs out of time at once (a 0 ms limit,
    set once Datasette has started): what a page does when the server is
    too busy to finish a query."""
    ds = make_datasette(registry_path)
    assert (await ds.client.get("/-/versions.json")).status_code == 200
    ds.sql_time_limit_ms = 0
    return ds


@pytest.mark.parametrize("path", ["/overview", "/la/E06000001", "/la/E06000001?page=1"])
async def test_page_out_of_time_is_503_not_500(out_of_time, path):
    response = await out_of_time.client.get(path)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "Try again in a few seconds" in response.text


# ------------------------------------------- permission checks, worked out once


def counting_permissions(monkeypatch) -> list:
    calls = []
    original = Datasette._table_permission_allows

    def counted(self, database, table):
        calls.append((database, table))
        return original(self, database, table)

    monkeypatch.setattr(Datasette, "_table_permission_allows", counted)
    return calls


async def test_index_works_out_table_permissions_once(monkeypatch, registry_path):
    calls = counting_permissions(monkeypatch)
    ds = make_datasette(registry_path)
    first = await ds.client.get("/")
    assert first.status_code == 200
    tables = len(calls)
    assert tables > 10  # one per table the index lists
    second = await ds.client.get("/")
    assert second.text == first.text
    assert len(calls) == tables  # none again


async def test_cached_permissions_still_deny_and_follow_new_metadata(
    monkeypatch, registry_path
):
    calls = counting_permissions(monkeypatch)
    options = datasette_options(registry_path)
    denied = copy.deepcopy(options["metadata"])
    denied["databases"]["registry"]["tables"]["local_authorities"]["allow"] = False
    ds = Datasette(**{**options, "metadata": denied})
    for _ in range(2):
        assert (await ds.client.get("/registry/local_authorities")).status_code == 403
    assert calls.count(("registry", "local_authorities")) == 1
    ds._metadata_local = options["metadata"]  # the metadata object replaced
    assert (await ds.client.get("/registry/local_authorities")).status_code == 200
    assert calls.count(("registry", "local_authorities")) == 2
