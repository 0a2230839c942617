"""The public server is read-only, bounded and escapes what it shows
(reliability.md §1.5: D1, D2, D3, D5, D6; §5.2 Q9)."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import re
import resource
import sqlite3
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from datasette.utils import tilde_encode

from registry.publish.serve import PUBLIC_SETTINGS, make_datasette

ROOT = Path(__file__).resolve().parents[2]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_plugin(name: str):
    path = ROOT / "datasette" / "plugins" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"plugin_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------ D1 configuration


async def test_public_settings_and_immutable_databases(ds, registry_path):
    settings = (await ds.client.get("/-/settings.json")).json()
    for key, value in PUBLIC_SETTINGS.items():
        assert settings[key] == value, key
    assert settings["suggest_facets"] is False
    assert settings["allow_csv_stream"] is True
    databases = (await ds.client.get("/-/databases.json")).json()
    assert [(d["name"], d["is_mutable"]) for d in databases] == [("registry", False)]
    # /-/plugins is a 404 in public mode (tests/security/test_server_ways_in.py)
    plugins = {p["name"] for p in ds._plugins()}
    assert {
        "ofsted_guard.py",
        "ofsted_limits.py",
        "ofsted_pages.py",
        "datasette-block-robots",
    } <= plugins


async def test_robots_are_blocked(ds):
    response = await ds.client.get("/robots.txt")
    assert response.status_code == 200
    assert "Disallow: /" in response.text.splitlines()


# ---------------------------------------------------------------- D2 writes

WRITES = [
    "insert into owners (id, name) values ('x', 'x')",
    "update homes set places = 99",
    "delete from inspections",
    "replace into owners (id, name) values ('x', 'x')",
    "insert or replace into owners (id, name) values ('x', 'x')",
    "create table evil (x)",
    "create view evil as select 1",
    "create trigger evil after insert on owners begin delete from homes; end",
    "create index evil on homes(places)",
    "drop table homes",
    "drop view la_missing_stats_latest",
    "alter table homes add column evil text",
    "alter table homes rename to evil",
    "attach database '/tmp/evil.db' as evil",
    "detach database main",
    "vacuum",
    "vacuum into '/tmp/evil-copy.db'",
    "reindex",
    "analyze",
    "pragma writable_schema=1",
    "pragma journal_mode=wal",
    "with x as (select 1) delete from homes",
    "/* comment */ delete from homes",
    "-- comment\ndelete from homes",
    "   \n\tdelete from homes",
    "select 1; delete from homes",
    "select * from homes; drop table homes",
    "begin; delete from homes; commit",
]


@pytest.mark.parametrize("statement", WRITES)
async def test_write_statements_are_refused(ds, registry_path, statement):
    before = sha256(registry_path)
    responses = [
        await ds.client.get("/registry.json", params={"sql": statement}),
        await ds.client.get("/registry", params={"sql": statement}),
        await ds.client.post("/registry", data={"sql": statement}),
        await ds.client.post("/registry/flagged_homes", data={"sql": statement}),
        await ds.client.post("/registry/homes", data={"sql": statement}),
    ]
    for response in responses:
        assert response.status_code in (400, 403, 405), (
            statement,
            response.status_code,
        )
    body = responses[0].json()
    assert body["ok"] is False
    assert sha256(registry_path) == before
    count = (
        await ds.client.get(
            "/registry.json?sql=select+count(*)+as+n+from+homes&_shape=array"
        )
    ).json()
    assert count == [{"n": 7}]


# --------------------------------------------------------- D3 runaway queries

RUNAWAY = [
    "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c",
    "select count(*) from inspections a, inspections b, inspections c, inspections d,"
    " inspections e, inspections f, inspections g, inspections h",
]


@pytest.mark.parametrize("sql", RUNAWAY)
async def test_runaway_query_is_stopped_within_the_limit(ds, sql):
    started = time.monotonic()
    response = await ds.client.get("/registry.json", params={"sql": sql})
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert "took too long" in response.json()["error"]
    assert elapsed < PUBLIC_SETTINGS["sql_time_limit_ms"] / 1000 + 1.0


# ------------------------------------------------------------ D5 blob bombs

BOMBS = [
    "select length(randomblob(900000000))",
    "select length(zeroblob(900000000) || zeroblob(900000000))",
    "select length(replace(hex(zeroblob(50000000)), '0', 'xx'))",
    "select length(printf('%.*c', 900000000, 'x'))",
    "select length(group_concat(hex(randomblob(100000)))) from"
    " (with recursive c(x) as (select 1 union all select x + 1 from c limit 1000) select x from c)",
    # 6 MB of random bytes is quick to make; its hex (12 MB) passes the cap
    "select length(substr(hex(randomblob(6000000)), 1, 10))",
]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("sql", BOMBS)
async def test_blob_bombs_are_stopped_by_the_length_cap(ds, sql):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    response = await ds.client.get("/registry.json", params={"sql": sql})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    # printf's cap is a Python function: SQLite reports its refusal generically.
    # stopped by the cap, not by the time limit (which a slow machine hits)
    assert "too big" in error or "user-defined function raised" in error
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert grown_mb < 100


def test_length_cap_is_what_stops_the_bomb():
    """Control: without the plugin's limits the same statement succeeds."""
    limits = load_plugin("ofsted_limits")
    conn = sqlite3.connect(":memory:")
    assert conn.execute("select length(zeroblob(20000000))").fetchone() == (20000000,)
    limits.apply_limits(conn)
    with pytest.raises(sqlite3.DataError, match="too big"):
        conn.execute("select length(zeroblob(20000000))").fetchone()
    long_sql = "select " + " + ".join(["1"] * 60000)
    with pytest.raises(sqlite3.DataError):
        conn.execute(long_sql)


def test_fts_query_quotes_every_word():
    limits = load_plugin("ofsted_limits")
    assert limits.fts_query('went "missing from" care-home') == (
        '"went" "missing from" "care-home"'
    )
    assert limits.fts_query('say "hi') == '"say" "hi"'
    assert limits.fts_query("") == '""'


# ------------------------------------------------------------------- D6 XSS

PAYLOADS = [
    '<script>alert("x1")</script>',
    '"><img src=x onerror=alert("x2")>',
    "'><svg onload=alert('x3')>",
    'javascript:alert("x4")',
    "<a href=\"javascript:alert('x5')\">click</a>",
    '</script><script>alert("x6")</script>',
    '<svg><script>alert("x7")</script></svg>',
    "<iframe src=\"javascript:alert('x8')\"></iframe>",
    '&lt;script&gt;alert("x9")&lt;/script&gt;',
    '<body onload=alert("x10")>',
    "\" onmouseover=\"alert('x11')",
    'data:text/html,<script>alert("x12")</script>',
    '<details open ontoggle=alert("x13")>',
    '[[<script>alert("x14")</script>]]',
    "]]<img src=x onerror=alert('x15')>[[",
    '<style>body{display:none}</style><b>x16 alert("x16")</b>',
    '{"a": "</script><script>alert(\\"x17\\")</script>"}',
]
# Columns the canned queries filter on keep their values in the "queries"
# variant, so that rows carrying payloads still come back from the stories.
VOCABULARY = {
    "event_type",
    "judgement",
    "latest_judgement",
    "sector",
    "geographic_level",
    "measure",
    "kind",
    "status",
    "as_at",
    "inspection_date",
    "latest_full_inspection_date",
    "release",
    "valid_from",
    "valid_to",
    "symbol",
}


def poison(path: Path, *, keep: set[str]) -> Path:
    """Put the payloads in every text column (but primary and foreign keys
    and ``keep``) of every table."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA ignore_check_constraints = ON")
    tables = [
        name
        for (name,) in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like"
            " 'sqlite_%' and name not like '%_fts%' and sql not like 'CREATE VIRTUAL%'"
            # the schema's own record: poisoned, the registry would look
            # unmigrated and public serve would (rightly) refuse it
            " and name != '_sqlite_migrations'"
        )
    ]
    for table in tables:
        info = conn.execute(f"pragma table_info([{table}])").fetchall()
        fks = {row[3] for row in conn.execute(f"pragma foreign_key_list([{table}])")}
        columns = [
            c[1]
            for c in info
            if c[2].upper() in ("TEXT", "") and not c[5] and c[1] not in fks | keep
        ]
        rowids = [r[0] for r in conn.execute(f"select rowid from [{table}]")]
        for n, rowid in enumerate(rowids):
            for m, column in enumerate(columns):
                payload = PAYLOADS[(n + m) % len(PAYLOADS)]
                conn.execute(
                    f"update [{table}] set [{column}] = ? where rowid = ?",
                    (payload, rowid),
                )
    # A row whose key itself is a payload.
    conn.execute(
        "insert into owners (id, name) values (?, ?)", (PAYLOADS[0], PAYLOADS[1])
    )
    conn.execute(
        "insert into problems (id, message) values (?, ?)", (PAYLOADS[5], PAYLOADS[2])
    )
    conn.commit()
    if conn.execute(
        "select 1 from sqlite_master where name = 'report_pages_fts'"
    ).fetchone():
        conn.execute("insert into report_pages_fts(report_pages_fts) values('rebuild')")
        conn.commit()
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    return path


class Audit(HTMLParser):
    """Collects anything in a page that a browser would execute."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self.script: dict | None = None
        self.style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if value and re.match(r"\s*(javascript|data):", value, re.I):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self.script = dict(attrs)
        if tag == "style":
            self.style = True

    def handle_endtag(self, tag):
        if tag == "script":
            self.script = None
        if tag == "style":
            self.style = False

    def handle_data(self, data):
        if self.script is not None:
            if self.script.get("type") == "application/json":
                json.loads(data)  # must still be one JSON document
            elif "alert(" in data:
                self.problems.append(f"script: {data[:80]!r}")
        if self.style and "body{display:none}" in data.replace(" ", ""):
            self.problems.append("injected <style>")


def audit(html: str) -> list[str]:
    parser = Audit()
    parser.feed(html)
    return parser.problems


@pytest.fixture(scope="module")
def xss_all(tmp_path_factory, registry_path):
    path = tmp_path_factory.mktemp("xss") / "registry.db"
    path.write_bytes(registry_path.read_bytes())
    return poison(path, keep=set())


@pytest.fixture(scope="module")
def xss_queries(tmp_path_factory, registry_path):
    path = tmp_path_factory.mktemp("xssq") / "registry.db"
    path.write_bytes(registry_path.read_bytes())
    return poison(path, keep=VOCABULARY)


def text_columns(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    found = {}
    for (table,) in conn.execute(
        "select name from sqlite_master where type in ('table', 'view')"
        " and name not like 'sqlite_%' and name not like '%_fts%'"
    ):
        cols = [
            c[1]
            for c in conn.execute(f"pragma table_info([{table}])")
            if c[2].upper() in ("TEXT", "")
        ]
        found[table] = cols
    conn.close()
    return found


async def pages_for(ds, path: Path) -> list[str]:
    urls = ["/", "/registry", "/-/metadata", "/nope/<script>alert(1)</script>"]
    for table, columns in text_columns(path).items():
        urls.append(f"/registry/{table}")
        for column in columns[:6]:
            urls.append(f"/registry/{table}?_facet={column}")
        rows = (
            await ds.client.get(f"/registry/{table}.json?_shape=objects&_size=3")
        ).json()
        for row in rows.get("rows", [])[:2]:
            pks = rows.get("primary_keys") or []
            if pks and all(row.get(pk) is not None for pk in pks):
                key = ",".join(tilde_encode(str(row[pk])) for pk in pks)
                urls.append(f"/registry/{table}/{key}")
    urls += [
        "/registry/report_pages?_search=alert",
        "/registry/search_reports?q=alert",
        "/registry?sql=select+*+from+owners",
    ]
    return urls


async def test_xss_corpus_is_escaped_on_table_row_facet_and_search_pages(xss_all):
    ds = make_datasette(xss_all)
    urls = await pages_for(ds, xss_all)
    assert len(urls) > 60
    seen_payload = 0
    for url in urls:
        response = await ds.client.get(url)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        if response.status_code == 302:
            location = response.headers["location"]
            assert location.startswith("/") and not location.startswith("//"), url
        seen_payload += "alert(" in response.text
        assert audit(response.text) == [], url
    assert seen_payload > 40  # the payloads really were on the pages


async def test_xss_corpus_is_escaped_on_canned_query_and_own_pages(xss_queries):
    ds = make_datasette(xss_queries)
    urls = [
        "/registry/flagged_homes?min_incidents=1&months=60",
        "/registry/market_snapshot",
        "/registry/regional_snapshot",
        "/registry/las_without_la_homes",
        "/registry/la_scorecard?year=2024",
        "/registry/owners",
        "/registry/home_history?urn=SC100001",
        "/registry/downgrades",
        "/registry/missing_trend",
        "/registry/problems",
        "/registry/search_reports?q=alert",
        "/home/SC100001",
        "/home/SC100004",
        "/owner/sunrise-care-ltd",
        "/la/E06000001",
        "/overview",
        "/search?q=alert",
        "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/search?q=x16",
    ]
    with_payload = 0
    for url in urls:
        response = await ds.client.get(url)
        assert response.status_code == 200, url
        with_payload += "alert(" in response.text
        assert audit(response.text) == [], url
    assert with_payload >= 10


def test_audit_catches_unescaped_payloads():
    """Control: the audit fails on pages that did not escape."""
    dangerous = [
        p for p in PAYLOADS if "&lt;" not in p and "x16" not in p and "{" not in p
    ]
    for payload in dangerous:
        as_text = audit(f"<html><body><p>{payload}</p></body></html>")
        as_link = audit(f'<html><body><a href="{payload}">x</a></body></html>')
        assert as_text or as_link, payload
    assert audit("<style>body{display:none}</style>")


# ---------------------------------------------------------- Q9 postcodes

POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2})\b", re.I)
# The registered provider's company office address, from a report, is the one
# labelled exception.
ALLOWED = re.compile(r"provider.*(address|office)|(office|address).*provider")


def postcode_hits(path: Path) -> list[tuple[str, str, str]]:
    """Postcodes in published text. A report's own text may repeat the
    registered provider's office address printed in that report (the labelled
    exception), so in tables with a ``report`` column a postcode is allowed
    when it is the one in that report's ``registered_provider_address``."""
    conn = sqlite3.connect(path)
    office = {}
    if conn.execute("select 1 from sqlite_master where name = 'reports'").fetchone():
        office = {
            sha: {p.upper().replace(" ", "") for p in POSTCODE.findall(address or "")}
            for sha, address in conn.execute(
                "select sha256, registered_provider_address from reports"
            )
        }
    hits = []
    for table, columns in text_columns(path).items():
        has_report = "report" in columns
        for column in columns:
            if ALLOWED.search(column):
                continue
            report = "report" if has_report else "null"
            for value, sha in conn.execute(
                f"select [{column}], {report} from [{table}]"
            ):
                if not isinstance(value, str):
                    continue
                found = {p.upper().replace(" ", "") for p in POSTCODE.findall(value)}
                if found - office.get(sha, set()):
                    hits.append((table, column, value[:60]))
    conn.close()
    return hits


def test_no_postcode_in_any_published_text_column(any_registry_path):
    assert postcode_hits(any_registry_path) == []


def test_postcode_scan_finds_a_planted_postcode(registry_path, tmp_path):
    path = tmp_path / "planted.db"
    path.write_bytes(registry_path.read_bytes())
    conn = sqlite3.connect(path)
    conn.execute(
        "update owners set name = 'Flat 2, 1 High St, Hartlepool TS24 7AB' where id = 'sunrise-care-ltd'"
    )
    conn.commit()
    conn.close()
    assert postcode_hits(path) == [
        ("owners", "name", "Flat 2, 1 High St, Hartlepool TS24 7AB")
    ]


def test_no_home_level_table_has_an_address_column(any_registry_path):
    conn = sqlite3.connect(any_registry_path)
    for (table,) in conn.execute("select name from sqlite_master where type = 'table'"):
        for column in conn.execute(f"pragma table_info([{table}])"):
            name = column[1].lower()
            if ALLOWED.search(name):
                continue
            assert not re.search(
                r"address|postcode|latitude|longitude|easting|northing", name
            ), (
                table,
                name,
            )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_printf_is_capped_and_otherwise_unchanged():
    limits = load_plugin("ofsted_limits")
    conn = sqlite3.connect(":memory:")
    limits.prepare_connection(conn)
    assert conn.execute(
        "select printf('%5.2f|%-4d|%s|%%|%*d', 3.14159, 7, 'x', 3, 5)"
    ).fetchone() == (" 3.14|7   |x|%|  5",)
    assert conn.execute("select format('%03d', 7)").fetchone() == ("007",)
    for sql in (
        "select printf('%.*c', 900000000, 'x')",
        "select printf('%900000000d', 1)",
        "select printf('%s %*d', 'a', 200000, 1)",
    ):
        started = time.monotonic()
        with pytest.raises(
            sqlite3.OperationalError, match="user-defined function raised"
        ):
            conn.execute(sql).fetchone()
        assert time.monotonic() - started < 0.1


def test_postcode_scan_allows_only_the_reports_own_provider_office(
    loaded_registry_path, tmp_path
):
    path = tmp_path / "planted.db"
    path.write_bytes(loaded_registry_path.read_bytes())
    conn = sqlite3.connect(path)
    sha, text = conn.execute(
        "select p.report, p.text from report_pages p join reports r on r.sha256 = p.report"
        " where r.registered_provider_address is not null limit 1"
    ).fetchone()
    conn.execute(
        "update report_pages set text = ? where report = ? and text = ?",
        (text + " The home is at 3 Elm Close, Hartlepool TS24 7AB.", sha, text),
    )
    conn.commit()
    conn.close()
    hits = postcode_hits(path)
    assert len(hits) == 1
    assert hits[0][:2] == ("report_pages", "text")


# ------------------------------------------------------------ D4 flood


async def test_sql_flood_gets_429_and_pages_stay_fast(ds):
    await ds.client.get(
        "/"
    )  # start-up done (Datasette races concurrent first requests)
    runaway = ds.client.get("/registry.json", params={"sql": RUNAWAY[0]})

    async def page():
        await asyncio.sleep(0.2)  # while the flood is running
        started = time.monotonic()
        response = await ds.client.get("/home/SC100001")
        return response, time.monotonic() - started

    results = await asyncio.gather(
        *[
            ds.client.get("/registry.json", params={"sql": RUNAWAY[0]})
            for _ in range(7)
        ],
        runaway,
        page(),
    )
    statuses = sorted(r.status_code for r in results[:-1])
    assert statuses == [400, 400] + [429] * 6
    assert all(
        r.headers["retry-after"] == "2" for r in results[:-1] if r.status_code == 429
    )
    home, elapsed = results[-1]
    assert home.status_code == 200
    assert elapsed < 1.0  # without the gate it waits 2-3 s behind the flood
    # Canned queries are never held back.
    assert (await ds.client.get("/registry/market_snapshot.json")).status_code == 200


def test_sql_gate_recognises_arbitrary_sql():
    gate = load_plugin("ofsted_guard")
    assert gate.carries_sql(b"sql=select+1")
    assert gate.carries_sql(b"_where=1%3D1&_size=10")
    assert not gate.carries_sql(b"as_at=2025-03-31")
    assert not gate.carries_sql(b"_facet=sector&_sort=urn")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/registry/homes",
        "/registry/homes.json",
        "/registry/inspections.csv",
        "/registry.db",
        "/home/SC100001",
        "/registry/market_snapshot",
        "/assets/charts.js",
        "/nope",
    ],
)
async def test_security_headers_on_every_kind_of_response(ds, path):
    response = await ds.client.get(path)
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


async def test_json_is_served_as_json(ds):
    response = await ds.client.get("/registry/homes.json")
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "path",
    ["//evil.example/", "/\\evil.example/", "/%5Cevil.example/", "/\\/evil.example"],
)
async def test_no_open_redirect(ds, path):
    response = await ds.client.get(path)
    location = response.headers.get("location", "/")
    assert response.status_code in (200, 302, 404)
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "evil.example" not in location.split("/")[2:3]


async def test_no_cors_and_no_internal_database(ds):
    response = await ds.client.get("/registry/homes.json")
    assert "access-control-allow-origin" not in response.headers
    assert (await ds.client.get("/_internal")).status_code in (403, 404)
    assert (await ds.client.get("/_internal.json")).status_code in (403, 404)


def test_same_origin_rewrites_off_site_redirects():
    readonly = load_plugin("ofsted_guard")
    assert readonly.same_origin(b"/\\evil.example") == b"/%5Cevil.example"
    assert readonly.same_origin(b"//evil.example/x") == b"/evil.example/x"
    assert (
        readonly.same_origin(b"/registry/homes?_sort=urn")
        == b"/registry/homes?_sort=urn"
    )
