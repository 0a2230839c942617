"""Cap what one SQL statement can allocate, on every connection Datasette opens.

Datasette's time limit cannot interrupt a single slow function call:
``randomblob(900000000)`` otherwise runs for seconds and takes a gigabyte
(reliability.md §0.1). With SQLITE_LIMIT_LENGTH at 10 MB it fails at once with
"string or blob too big". SQLite's ``printf`` (and its alias ``format``)
builds a huge width before that check, spending seconds of CPU on
``printf('%.*c', 900000000, 'x')``: both are replaced by a version that
refuses widths and precisions over 100,000 and otherwise hands the call to
SQLite's own printf on a private in-memory connection. Also registers ``fts_query(text)``, which turns
what a person types into a safe FTS5 query (each word quoted), so a stray
quote or hyphen in a search box is not an SQL error.
"""

import re
import sqlite3
import threading

from datasette import hookimpl

MAX_LENGTH = 10_000_000  # bytes in any one string or blob
MAX_SQL_LENGTH = 100_000  # characters in one SQL statement

MAX_WIDTH = 100_000  # printf width or precision

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


@hookimpl
def prepare_connection(conn):
    apply_limits(conn)
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
    for name in ("printf", "format"):
        conn.create_function(name, -1, capped_printf, deterministic=True)
