"""What our plugins add to a story page, kept small (issue 14), shown by
behaviour and by counting: one render_cell among our plugins, the same links
as before; the story context (list dates held, evidence counts) worked out
once per published file and worked out again when a new file is published
through the write path; and a complete CSV export that runs out of time
answers 503 naming the story, not a 500 with its SQL."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shutil
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasette.database import Database

from datasette.plugins import pm
from registry.cli.main import cli
from registry.publish.serve import make_datasette
from registry.writes import writer

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "datasette" / "plugins"

DOWNGRADES_EVIDENCE = (
    "select count(*) from inspections where event_type = 'Full inspection' "
    "and judgement is not null"
)
LIST_DATES = "select as_at from list_dates order by 1"
GROUPS_CSV = (
    "owner,pattern,group,source\n"
    "Sunrise Care Limited,,Dawn Group,Sample claim: not about a real company\n"
    ",bright*,Dawn Group,Sample claim: not about a real company\n"
)


def load_plugin(name: str):
    spec = importlib.util.spec_from_file_location(f"plugin_{name}", PLUGINS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def published(tmp_path, registry_path) -> Path:
    """A copy of the fixture registry this test may publish new files over."""
    path = tmp_path / "registry.db"
    shutil.copy(registry_path, path)
    return path


@pytest.fixture
def executed(monkeypatch) -> list[str]:
    """Every SQL statement any Datasette database runs from now on."""
    seen: list[str] = []
    original = Database.execute

    async def counted(self, sql, *args, **kwargs):
        seen.append(sql)
        return await original(self, sql, *args, **kwargs)

    monkeypatch.setattr(Database, "execute", counted)
    return seen


def page_of(html: str) -> str:
    """A page without the time its queries took (different every time)."""
    return re.sub(r"took [\d.]+ ?ms", "took (time)", html)


def evidence_of(html: str) -> str:
    found = re.search(r'<p class="ofsted-evidence[^"]*">(.*?)</p>', html, re.S)
    assert found, "no evidence paragraph on the story page"
    return " ".join(found[1].split())


def list_dates_of(html: str) -> list[str]:
    nav = re.search(r'<nav class="ofsted-list-dates".*?</nav>', html, re.S)
    assert nav, "no list dates on the story page"
    return re.findall(r">(\d{4}-\d{2}-\d{2})</a>", nav[0])


# ------------------------------------------------------- one render_cell


def test_our_plugins_have_one_render_cell(registry_path):
    make_datasette(registry_path)  # loads the plugins directory
    ours = [
        impl
        for impl in pm.hook.render_cell.get_hookimpls()
        if "ofsted_" in impl.plugin_name
    ]
    assert [Path(impl.plugin_name).stem for impl in ours] == ["ofsted_pages"]


@pytest.mark.parametrize(
    ("column", "value", "href"),
    [
        ("group_id", "dawn-group", "/group/dawn-group"),
        ("group_id", "Dawn Group", None),  # not a group id
        ("group_id", 7, None),  # group ids are text
        ("group_id", None, None),
        ("urn", "SC100001", "/home/SC100001"),
        ("la_code", "E09000012", "/la/E09000012"),
        ("owner_id", "bright-futures-ltd", "/owner/bright-futures-ltd"),
        ("owner", "bright-futures-ltd", None),  # a column that never links
        ("places", 4, None),
    ],
)
def test_link_for_covers_group_ids(column, value, href):
    assert load_plugin("ofsted_pages.py").link_for(column, value) == href


def test_render_cell_links_as_before():
    pages = load_plugin("ofsted_pages.py")
    cell = pages.render_cell
    # query results: the pages' links, and group ids
    assert str(cell("SC100001", "urn", None)) == (
        '<a href="/home/SC100001">SC100001</a>'
    )
    assert str(cell("dawn-group", "group_id", None)) == (
        '<a href="/group/dawn-group">dawn-group</a>'
    )
    # table pages keep Datasette's own links, except for a group id
    assert cell("SC100001", "urn", "homes") is None
    assert str(cell("dawn-group", "group_id", "owner_groups")) == (
        '<a href="/group/dawn-group">dawn-group</a>'
    )
    assert cell("anything", "name", None) is None
    assert cell({"value": "SC100001", "label": "x"}, "urn", None) is None
    assert cell(b"SC100001", "urn", None) is None
    # asked again (the answer kept): the same link
    assert str(cell("SC100001", "urn", None)) == (
        '<a href="/home/SC100001">SC100001</a>'
    )
    assert cell(100001, "urn", None) is None  # not a URN, however it is typed
    assert cell(None, "snippet", None) is None
    assert str(cell("a [[missing]] child", "snippet", None)) == (
        "a <mark>missing</mark> child"
    )
    # the group page accepts exactly the ids that link to it
    stories = load_plugin("ofsted_stories.py")
    assert pages.GROUP_ID.pattern == stories.GROUP_ID.pattern


async def test_group_ids_link_on_the_story_page(published):
    result = CliRunner().invoke(
        cli, ["load-groups", str(published), str(write(published, GROUPS_CSV))]
    )
    assert result.exit_code == 0, result.output
    ds = make_datasette(published)
    story = await ds.client.get("/registry/groups")
    assert story.status_code == 200
    assert '<a href="/group/dawn-group">dawn-group</a>' in story.text
    # on the table page a group id is a foreign key: Datasette's own link to
    # the group's row, labelled with its name, as before
    table = await ds.client.get("/registry/owner_groups")
    assert table.status_code == 200
    assert '<a href="/registry/groups/dawn-group">Dawn Group</a>' in table.text
    assert "/group/dawn-group" not in table.text


def write(db_path: Path, text: str) -> Path:
    mapping = db_path.with_name("groups.csv")
    mapping.write_text(text, encoding="utf-8")
    return mapping


# ------------------------------------------- story context, once per file


async def test_story_context_is_worked_out_once_per_published_file(published, executed):
    ds = make_datasette(published)
    first = await ds.client.get("/registry/downgrades")
    assert first.status_code == 200
    assert executed.count(DOWNGRADES_EVIDENCE) == 1
    again = await ds.client.get("/registry/downgrades")
    assert page_of(again.text) == page_of(first.text)
    assert executed.count(DOWNGRADES_EVIDENCE) == 1  # kept, not asked again
    for _ in range(2):
        assert (await ds.client.get("/registry/market_snapshot")).status_code == 200
    assert executed.count(LIST_DATES) == 1
    # other parameters, same facts: only the answer for the date changes
    dated = await ds.client.get("/registry/market_snapshot", params={"as_at": "2024"})
    assert "Answered from: Ofsted&#39;s list at 31 March 2024" in dated.text
    assert executed.count(LIST_DATES) == 1


async def test_a_new_publish_is_reflected_on_the_story_pages(published, executed):
    ds = make_datasette(published)
    before = (await ds.client.get("/registry/downgrades")).text
    count = int(re.search(r"([\d,]+) full inspections", evidence_of(before))[1])
    market = (await ds.client.get("/registry/market_snapshot")).text
    assert list_dates_of(market) == ["2025-03-31", "2024-03-31"]
    assert "(the newest held)" in market and "31 March 2025" in market
    groups = (await ds.client.get("/registry/groups")).text
    assert "0 owner-to-group rules loaded" in evidence_of(groups)

    # a new file, through the write path: one more full inspection with a
    # judgement, a newer Ofsted list, and an owner-to-group mapping
    with writer(published, "test: a newer registry") as db:
        inspection = dict(
            next(
                db.query(
                    "select * from inspections where event_type = 'Full inspection'"
                    " and judgement is not null order by id limit 1"
                )
            )
        )
        inspection.update(
            id=inspection["id"] + "-later",
            inspection_date="2025-09-01",
            report_sha256=None,
        )
        db["inspections"].insert(inspection)
        snapshot = dict(
            next(
                db.query(
                    "select * from home_snapshots where as_at = '2025-03-31'"
                    " order by urn limit 1"
                )
            )
        )
        db["home_snapshots"].insert({**snapshot, "as_at": "2026-03-31"})
    result = CliRunner().invoke(
        cli, ["load-groups", str(published), str(write(published, GROUPS_CSV))]
    )
    assert result.exit_code == 0, result.output

    after = (await ds.client.get("/registry/downgrades")).text
    assert f"{count + 1:,} full inspections" in evidence_of(after)
    assert executed.count(DOWNGRADES_EVIDENCE) == 2  # once per file
    market = (await ds.client.get("/registry/market_snapshot")).text
    assert list_dates_of(market) == ["2026-03-31", "2025-03-31", "2024-03-31"]
    assert "Answered from: Ofsted&#39;s list at 31 March 2026 (the newest held)" in (
        market
    )
    groups = (
        await ds.client.get("/registry/groups", params={"as_at": "2025-03-31"})
    ).text
    assert re.search(r"[1-9]\d* owner-to-group rules loaded", evidence_of(groups))
    assert '<a href="/group/dawn-group">dawn-group</a>' in groups


async def test_kept_context_says_what_a_fresh_server_says(published):
    """Every story page, asked twice of one server (the second answer from
    what was kept), is the page a fresh server gives for the same file."""
    ds = make_datasette(published)
    names = sorted(
        ds.metadata("databases")["registry"]["queries"],
    )
    assert len(names) > 10
    for name in names:
        path = f"/registry/{name}"
        first = await ds.client.get(path)
        kept = await ds.client.get(path)
        fresh = await make_datasette(published).client.get(path)
        assert first.status_code == kept.status_code == fresh.status_code == 200
        assert page_of(kept.text) == page_of(first.text) == page_of(fresh.text), name


# ------------------------------------------------------------- exports


def loaded_plugin(name: str):
    """The plugin module Datasette loaded from the plugins directory."""
    return next(p for p in pm.get_plugins() if getattr(p, "__name__", "") == name)


@pytest.fixture
async def stories_plugin(registry_path):
    ds = make_datasette(registry_path)
    assert (await ds.client.get("/-/versions.json")).status_code == 200
    return ds, loaded_plugin("ofsted_stories.py")


@pytest.mark.parametrize(
    ("story", "params"),
    [("downgrades", "from_date, to_date"), ("owners", "min_homes, as_at")],
)
async def test_export_out_of_time_is_503_naming_the_story(
    stories_plugin, monkeypatch, story, params
):
    ds, plugin = stories_plugin
    monkeypatch.setattr(plugin, "EXPORT_TIME_LIMIT_MS", 0)  # every export runs out
    response = await ds.client.get(f"/registry/{story}.csv")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    text = response.text
    assert text.count("\n") == 1 and text.endswith("\n")  # one line
    assert text.startswith(f"The {story} export took too long")
    assert "try again in a few seconds" in text
    assert "select" not in text.lower()  # never the SQL
    assert f"narrow it with its parameters ({params})" in text
    monkeypatch.undo()
    assert (await ds.client.get(f"/registry/{story}.csv")).status_code == 200


async def test_export_in_time_still_answers_every_row(registry_path):
    ds = make_datasette(registry_path)
    response = await ds.client.get("/registry/downgrades.csv")
    assert response.status_code == 200
    rows = int(response.headers["x-ofsted-rows"])
    assert rows > 0
    assert response.text.count("\r\n") == rows + 1


async def test_an_export_is_bounded_by_its_csv_not_by_the_page_budget(
    stories_plugin, monkeypatch
):
    """The byte budget of ofsted_limits bounds pages; an export is bounded by
    the CSV it writes: a page budget of 100 bytes leaves exports whole, a CSV
    bound of 100 characters answers one plain line naming the story."""
    ds, plugin = stories_plugin
    limits = loaded_plugin("ofsted_limits.py")
    count_row = limits.count_row
    monkeypatch.setattr(
        limits, "count_row", lambda cursor, row: count_row(cursor, row, limit=100)
    )
    whole = await ds.client.get("/registry/downgrades.csv")
    assert whole.status_code == 200 and len(whole.text) > 100
    assert (await ds.client.get("/registry/downgrades.json")).status_code == 413
    monkeypatch.setattr(plugin, "EXPORT_MAX_CHARACTERS", 100)
    response = await ds.client.get("/registry/downgrades.csv")
    assert response.status_code == 413
    text = response.text
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.startswith("The downgrades export has more than 100 characters")
    assert "narrow it with its parameters (from_date, to_date)" in text


async def test_exports_asked_at_once_wait_their_turn(stories_plugin, monkeypatch):
    """Eight exports asked at the same moment are built one at a time and
    every one is answered in full; none is refused for the others."""
    ds, plugin = stories_plugin
    assert plugin.EXPORT_AT_ONCE == 1
    alone = await ds.client.get("/registry/owners.csv")
    building, most = [0], [0]
    write_export = plugin.write_export
    lock = threading.Lock()

    def counted(conn, sql, params):
        with lock:
            building[0] += 1
            most[0] = max(most[0], building[0])
        try:
            time.sleep(0.02)  # long enough for the others to arrive
            return write_export(conn, sql, params)
        finally:
            with lock:
                building[0] -= 1

    monkeypatch.setattr(plugin, "write_export", counted)
    replies = await asyncio.gather(
        *(ds.client.get("/registry/owners.csv") for _ in range(8))
    )
    assert [r.status_code for r in replies] == [200] * 8
    assert {r.text for r in replies} == {alone.text}
    assert most[0] == 1


async def test_an_export_that_waits_too_long_is_503(stories_plugin, monkeypatch):
    ds, plugin = stories_plugin
    monkeypatch.setattr(plugin, "EXPORT_WAIT_S", 0.05)
    turns = plugin._turns()
    await turns.acquire()  # another export holds the only turn
    try:
        response = await ds.client.get("/registry/owners.csv")
    finally:
        turns.release()
    assert response.status_code == 503
    assert response.text.startswith("The owners export took too long")
    assert (await ds.client.get("/registry/owners.csv")).status_code == 200


async def test_the_published_file_is_read_through_a_memory_map(registry_path):
    """The immutable published file is read in place (mmap); what every page
    answers is unchanged by it (the pages above are compared with a fresh
    server's)."""
    ds = make_datasette(registry_path)
    assert (await ds.client.get("/registry/owners")).status_code == 200
    reload = loaded_plugin("ofsted_reload.py")
    db = ds.get_database("registry")
    assert isinstance(db, reload.PublishedDatabase)
    (size,) = (await db.execute("pragma mmap_size")).first()
    assert size == reload.MMAP_BYTES
