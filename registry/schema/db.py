"""Open a registry database and bring its schema up to date."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from registry.schema.migrations import apply_migrations


def open_registry(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the registry at ``path`` with foreign keys on.

    Example::

        db = open_registry("registry.db")
        db["homes"].count
    """
    db = Database(path)
    db.execute("PRAGMA foreign_keys = ON")
    if migrate:
        # a copy being written (registry.writes); ``migrate=False`` is a look
        # at a published file, which must stay byte for byte as it is
        if str(path) != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
        apply_migrations(db)
    return db


__all__ = ["apply_migrations", "open_registry"]
