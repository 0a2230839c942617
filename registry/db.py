"""Open a registry database and bring its schema up to date."""

from __future__ import annotations

import importlib
from pathlib import Path

from sqlite_utils import Database, Migrations

# Every migration set the registry applies, in order. Each feature that owns
# tables keeps its own set in its own module ("module:attribute").
MIGRATION_SETS = [
    "registry.migrations:migrations",
    "registry.incidents:migrations",
    "registry.refresh:migrations",
    "registry.reports:migrations",
]


def migration_sets() -> list[Migrations]:
    sets = []
    for spec in MIGRATION_SETS:
        module_name, _, attribute = spec.partition(":")
        sets.append(getattr(importlib.import_module(module_name), attribute))
    return sets


def open_registry(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the registry at ``path`` with foreign keys on.

    Example::

        db = open_registry("registry.db")
        db["homes"].count
    """
    db = Database(path)
    db.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
    if migrate:
        apply_migrations(db)
    return db


def apply_migrations(db: Database) -> None:
    for migrations in migration_sets():
        migrations.apply(db)
