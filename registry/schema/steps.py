"""Migration steps written by topic, before they join the one ordered list.

Each topic module of ``registry.schema`` (core, incidents, crawls, reports,
writes) marks its migration functions with ``@steps()``; the registry's one
migration set, ``registry.schema.migrations``, lists every marked step of every
topic in the one order they are applied in. A step marked but not listed there
stops the registry from opening (``registry.schema.migrations.check_listed``),
so a new step cannot be forgotten, nor run in an order nobody wrote down.

Also here, for every set: :func:`relabel` (steps an earlier version recorded
under another set name count as applied) and :func:`not_recorded` (which steps
a database file has not applied, read without changing it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlite_utils import Database

Step = Callable[[Database], None]


class Steps:
    """The migration functions of one topic, in the order they were written.

    Example::

        steps = Steps("registry/schema/crawls.py")

        @steps()
        def m003_crawl_notes(db): ...
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.functions: list[Step] = []
        self.transactional: dict[Step, bool] = {}

    def __call__(self, *, transactional: bool = True) -> Callable[[Step], Step]:
        def mark(function: Step) -> Step:
            self.functions.append(function)
            self.transactional[function] = transactional
            return function

        return mark


def relabel(db: Database, old_sets: dict[str, tuple[str, ...]], new_set: str) -> int:
    """Record steps an earlier version applied under ``old_sets`` (set name →
    the step names it recorded) as applied under ``new_set``, with the same
    names, so they never run again. One transaction; a database with no
    record of migrations is left alone. Returns how many rows changed."""
    if not db["_sqlite_migrations"].exists():
        return 0
    changed = 0
    with db.atomic():
        for old_set, names in old_sets.items():
            marks = ", ".join("?" for _ in names)
            cursor = db.execute(
                f"update _sqlite_migrations set migration_set = ? "  # noqa: S608
                f"where migration_set = ? and name in ({marks})",
                [new_set, old_set, *names],
            )
            changed += cursor.rowcount
    return changed


def not_recorded(
    path: str | Path, names: list[str], sets: set[str]
) -> list[str] | None:
    """The step ``names`` the database at ``path`` has no record of under any
    of ``sets`` (old labels count), in order; None when it is not a database
    with a record of migrations. Reads without changing the file."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute(
                "select 1 from sqlite_master where name = '_sqlite_migrations'"
            ).fetchone()
            if not found:
                return None
            marks = ", ".join("?" for _ in sets)
            recorded = {
                row[0]
                for row in conn.execute(
                    "select name from _sqlite_migrations "  # noqa: S608
                    f"where migration_set in ({marks})",
                    sorted(sets),
                )
            }
    except sqlite3.Error:
        return None
    return [name for name in names if name not in recorded]
