"""Fast bulk upserts: ``INSERT … ON CONFLICT DO UPDATE`` through executemany.

An upsert changes the row in place, so rows that point at it keep their
foreign keys; never the insert-or-replace form (which deletes first, and cascades).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlite_utils import Database


def upsert_rows(
    db: Database,
    table: str,
    rows: Sequence[dict],
    key: Sequence[str],
    *,
    columns: Sequence[str] | None = None,
    when: str | None = None,
) -> None:
    """Insert ``rows`` into ``table``, updating the row with the same ``key``.

    ``columns`` defaults to the first row's keys. ``when`` is an SQL condition
    on ``excluded`` (the incoming row) and the table's current row that must
    hold for an update to happen, e.g. ``excluded.source_id >= t.source_id``
    (the table is aliased as its own name).
    """
    if not rows:
        return
    columns = list(columns or rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c not in key)
    conflict = ", ".join(f'"{c}"' for c in key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT({conflict}) {action}'  # noqa: S608
    if when and updates:
        sql += f" WHERE {when}"
    db.conn.executemany(sql, [tuple(row.get(c) for c in columns) for row in rows])
