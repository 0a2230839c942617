"""Open a registry database and bring its schema up to date."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database, Migrations

from registry.incidents.incidents import migrations as incidents_migrations
from registry.schema import core, crawls, reports, writes

# Every migration set the registry applies, in this order (the reports set
# alters a table the core set creates). Each set keeps its own name in the
# registry's ``_migrations`` table, so registries built before keep working.
MIGRATION_SETS: list[Migrations] = [
    core.migrations,
    incidents_migrations,
    crawls.migrations,
    reports.migrations,
    writes.migrations,
]


def migration_sets() -> list[Migrations]:
    return list(MIGRATION_SETS)


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
