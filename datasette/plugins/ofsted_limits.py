"""Cap what one SQL statement can allocate, on every connection Datasette opens.

Datasette's time limit cannot interrupt a single slow function call:
``randomblob(900000000)`` otherwise runs for seconds and takes a gigabyte
(reliability.md §0.1). With SQLITE_LIMIT_LENGTH at 10 MB it fails at once with
"string or blob too big". Also registers ``fts_query(text)``, which turns
what a person types into a safe FTS5 query (each word quoted), so a stray
quote or hyphen in a search box is not an SQL error.
"""

import re
import sqlite3

from datasette import hookimpl

MAX_LENGTH = 10_000_000  # bytes in any one string or blob
MAX_SQL_LENGTH = 100_000  # characters in one SQL statement

_WORD = re.compile(r'"[^"]*"|[^\s"]+')


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


def apply_limits(conn):
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_LENGTH)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_LENGTH)


@hookimpl
def prepare_connection(conn):
    apply_limits(conn)
    conn.create_function("fts_query", 1, fts_query, deterministic=True)
