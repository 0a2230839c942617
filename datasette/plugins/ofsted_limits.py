"""Cap what one SQL statement can allocate, on every connection Datasette opens.

Datasette's time limit cannot interrupt a single slow function call:
``randomblob(900000000)`` otherwise runs for seconds and takes a gigabyte
(and a gigabyte for one request is an outage). With SQLITE_LIMIT_LENGTH at 10 MB it fails at once with
"string or blob too big". SQLite's ``printf`` (and its alias ``format``)
builds a huge width before that check, spending seconds of CPU on
``printf('%.*c', 900000000, 'x')``: both are replaced by a version that
refuses widths and precisions over 100,000 and otherwise hands the call to
SQLite's own printf on a private in-memory connection. Also registers ``fts_query(text)``, which turns
what a person types into a safe FTS5 query (each word quoted), so a stray
quote or hyphen in a search box is not an SQL error.

Two more guards on every connection, public and inspector:

* **The size of one result is bounded.** The time limit and the value cap do
  not stop ``select zeroblob(10000000) from <30 rows>``: the query is quick and
  each value is legal, but the rows add up to gigabytes once Python holds them
  and Datasette renders them. Every row Datasette fetches passes through a row
  factory that adds up its size (text and blob lengths, 8 per number, plus the
  column names, which ``_shape=objects`` and HTML repeat on every row); past
  ``MAX_RESULT_BYTES`` the fetch stops with ``ResultTooLarge``, a 413 with a
  one-line message, so at most one row more than the limit is ever held.
* **Functions that must never run are refused** when a statement is prepared,
  by an authorizer: ``fts3_tokenizer`` (enabled in Debian's SQLite; it leaks
  a pointer and with two arguments installs a tokenizer from an address),
  ``load_extension``, and SQLite's compile options
  (``sqlite_compileoption_get``, ``pragma_compile_options``); so is reading
  the ``file`` column of ``pragma_database_list`` (the server's paths).
"""

import re
import sqlite3
import threading
import weakref

from datasette.views.base import DatasetteError

from datasette import hookimpl

MAX_LENGTH = 10_000_000  # bytes in any one string or blob
MAX_SQL_LENGTH = 100_000  # characters in one SQL statement

MAX_WIDTH = 100_000  # printf width or precision
# Text and blob lengths (+ 8 per number, + the column names) in the rows of one
# query. Largest legitimate result: 1,000 report pages of a few KB each, about
# 4-5 MB. A rendered response is at most a few times this (JSON escapes,
# HTML markup), so the process never holds more than a few tens of MB for one.
MAX_RESULT_BYTES = 8_000_000
REFUSED_FUNCTIONS = frozenset(
    {
        "fts3_tokenizer",
        "load_extension",
        "sqlite_compileoption_get",
        "sqlite_compileoption_used",
    }
)
# What a SELECT may not read: the server's file paths and SQLite's build.
# (Datasette's own ``PRAGMA database_list;`` statements are not reads.)
REFUSED_READS = {
    ("pragma_database_list", "file"),
    ("pragma_compile_options", "compile_options"),
}


class ResultTooLarge(DatasetteError):
    """A query's rows passed MAX_RESULT_BYTES while being fetched. Datasette
    answers it as any of its own errors: a 413 with the message (JSON for
    .json, an error page otherwise, a plain 413 for CSV), no traceback."""

    def __init__(self, limit=MAX_RESULT_BYTES):
        super().__init__(
            f"Result too large: this query returns more than {limit:,} bytes. "
            "Select fewer columns or rows (add a LIMIT), or use a filter.",
            title="Result too large",
            status=413,
        )
        self.limit = limit


_budget = threading.local()


def count_row(cursor, row, limit=MAX_RESULT_BYTES):
    """Add ``row``'s size to what ``cursor`` has fetched; raise
    ResultTooLarge past ``limit``."""
    state = getattr(_budget, "state", None)
    if state is None or state[0]() is not cursor:
        names = sum(len(d[0] or "") for d in cursor.description or ())
        state = _budget.state = [weakref.ref(cursor), 0, names]
    size = state[2]
    for value in row:
        size += len(value) if isinstance(value, (str, bytes)) else 8
    state[1] += size
    if state[1] > limit:
        raise ResultTooLarge(limit)


def counting(row_factory):
    """A row factory that counts, then builds the row as ``row_factory``
    would (a plain tuple when it is None)."""

    def factory(cursor, row):
        count_row(cursor, row)
        return row_factory(cursor, row) if row_factory else row

    factory.counts = True
    return factory


def authorizer(action, arg1, arg2, database, source):
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_READ and (
        ((arg1 or "").lower(), (arg2 or "").lower()) in REFUSED_READS
    ):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


_WORD = re.compile(r'"[^"]*"|[^\s"]+')
_CONVERSION = re.compile(
    r"%(?P<flags>[-+ 0#,!]*)(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?(?P<type>.)?"
)
_plain = threading.local()


def fts_query(text):
    """``care leaver "went missing"`` → ``"care" "leaver" "went missing"``."""
    if text is None:
        return None
    words = []
    for word in _WORD.findall(str(text)):
        word = word.strip('"')
        if word:
            words.append('"{}"'.format(word.replace('"', '""')))
    return " ".join(words) or '""'


def check_printf_widths(fmt, args):
    """Raise ValueError if a conversion in ``fmt`` asks for a width or
    precision over MAX_WIDTH (given inline or as a ``*`` argument)."""
    position = 0
    for match in _CONVERSION.finditer(fmt or ""):
        if match["type"] == "%" and not (match["width"] or match["precision"]):
            continue
        for part in ("width", "precision"):
            size = match[part]
            if size == "*":
                size = args[position] if position < len(args) else 0
                position += 1
            try:
                too_big = size is not None and abs(int(size)) > MAX_WIDTH
            except (TypeError, ValueError):
                too_big = False
            if too_big:
                raise ValueError(f"printf {part} over {MAX_WIDTH:,} refused")
        position += 1


def capped_printf(fmt, *args):
    if fmt is None:
        return None
    check_printf_widths(str(fmt), args)
    conn = getattr(_plain, "conn", None)
    if conn is None:
        conn = _plain.conn = sqlite3.connect(":memory:")
        apply_limits(conn)
    placeholders = ", ".join("?" for _ in range(len(args) + 1))
    return conn.execute(f"select printf({placeholders})", (fmt, *args)).fetchone()[0]


def apply_limits(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_LENGTH)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_LENGTH)
    conn.set_authorizer(authorizer)


@hookimpl
def prepare_connection(conn):
    apply_limits(conn)
    # Datasette has just set sqlite3.Row; rows stay sqlite3.Row.
    if not getattr(conn.row_factory, "counts", False):
        conn.row_factory = counting(conn.row_factory)
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
    for name in ("printf", "format"):
        conn.create_function(name, -1, capped_printf, deterministic=True)
