"""The incident tables: the registry's (steps of its one migration set,
``registry.schema.migrations``) and the private incidents database's own small
set, ``ofsted-homes-incidents-private`` (a different database: inspectors'
Annex A counts and unpublished FOI material; it never holds the registry's
tables, and public serving never opens it).

Append a step at the end to change a table; never edit one that has shipped.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database, Migrations

from registry.incidents.police import sync_police_force_areas
from registry.incidents.rekey import rekey, vacuum_old_keys
from registry.schema import writes
from registry.schema.steps import Steps, not_recorded, relabel

_INCIDENT_TABLES = """
CREATE TABLE incident_sources (
    source_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    file_name TEXT NOT NULL,
    licence TEXT,
    url TEXT,
    is_private INTEGER NOT NULL DEFAULT 0,
    shape TEXT,
    sheet TEXT,
    header_row INTEGER,
    columns TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    records_count INTEGER NOT NULL DEFAULT 0,
    matched_count INTEGER NOT NULL DEFAULT 0,
    queued_count INTEGER NOT NULL DEFAULT 0,
    unmatched_count INTEGER NOT NULL DEFAULT 0,
    loaded_at TEXT NOT NULL
) STRICT;

CREATE TABLE incident_counts (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES incident_sources(source_id),
    source_name TEXT NOT NULL,
    licence TEXT,
    file_rows TEXT NOT NULL,
    row_key TEXT NOT NULL,
    urn TEXT,
    match_status TEXT NOT NULL CHECK (match_status IN ('matched', 'queued', 'unmatched')),
    match_method TEXT CHECK (match_method IS NULL OR match_method IN ('urn', 'fuzzy', 'review')),
    match_score REAL,
    match_note TEXT,
    urn_as_published TEXT,
    provider_as_published TEXT,
    local_authority_as_published TEXT,
    la_code TEXT,
    places_as_published INTEGER,
    kind TEXT NOT NULL CHECK (kind IN ('missing', 'away', 'missing or away')),
    period_kind TEXT,
    period_label TEXT,
    period_start TEXT,
    period_end TEXT,
    incidents_count INTEGER,
    incidents_shown TEXT,
    children_count INTEGER,
    children_shown TEXT,
    is_suppressed INTEGER NOT NULL DEFAULT 0,
    is_per_incident INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE match_candidates (
    row_key TEXT NOT NULL,
    urn TEXT NOT NULL,
    score REAL NOT NULL,
    reasons TEXT,
    row_summary TEXT,
    home_summary TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    PRIMARY KEY (row_key, urn)
) STRICT;

CREATE TABLE match_decisions (
    row_key TEXT NOT NULL,
    urn TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    decided_at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (row_key, urn)
) STRICT;

CREATE INDEX idx_incident_counts_urn ON incident_counts(urn);
CREATE INDEX idx_incident_counts_row_key ON incident_counts(row_key);
CREATE INDEX idx_incident_counts_source ON incident_counts(source_id);
"""

_POLICE_TABLES = """
CREATE TABLE police_force_areas (
    la_code TEXT PRIMARY KEY,
    la_name TEXT NOT NULL,
    police_force TEXT NOT NULL
) STRICT;

CREATE TABLE police_missing_stats (
    year TEXT NOT NULL,
    year_ending INTEGER NOT NULL,
    police_force TEXT NOT NULL,
    measure TEXT NOT NULL,
    value REAL,
    symbol TEXT,
    force_as_published TEXT NOT NULL,
    footnotes TEXT,
    source_id TEXT NOT NULL REFERENCES sources(sha256),
    PRIMARY KEY (year, police_force, measure, source_id)
) STRICT;

CREATE INDEX idx_police_force_areas_force ON police_force_areas(police_force);
"""

_PRIVATE_PROVENANCE = """
CREATE TABLE sources (
    sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL, kind TEXT NOT NULL,
    description TEXT, as_at TEXT, year TEXT, release TEXT, url TEXT, fetched_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0, rows_loaded INTEGER NOT NULL DEFAULT 0,
    rows_skipped INTEGER NOT NULL DEFAULT 0, problems_count INTEGER NOT NULL DEFAULT 0,
    is_sample INTEGER NOT NULL DEFAULT 0, loaded_at TEXT NOT NULL
) STRICT;
CREATE TABLE problems (
    id TEXT PRIMARY KEY, source_id TEXT REFERENCES sources(sha256), file_name TEXT,
    sheet TEXT, row INTEGER, "column" TEXT, value TEXT, message TEXT NOT NULL
) STRICT;
"""


steps = Steps("registry/schema/incidents.py")


@steps()
def m001_incidents(db: Database) -> None:
    db.executescript(_INCIDENT_TABLES + _POLICE_TABLES)
    sync_police_force_areas(db)


@steps()
def m002_keyed_row_keys_and_hidden_rows(db: Database) -> None:
    """Registries built before row keys were keyed: see
    ``registry.incidents.rekey.rekey``."""
    rekey(db, private=False)


@steps(transactional=False)
def m003_vacuum_old_keys(db: Database) -> None:
    """No copy of the old keys or row ranges left in free pages or the WAL."""
    vacuum_old_keys(db)


# The private database holds only these tables (and its own log of writes).
# Its set keeps its name: ``serve`` recognises a private database by it.
PRIVATE_SET = "ofsted-homes-incidents-private"
private_migrations = Migrations(PRIVATE_SET)


@private_migrations()
def m001_private_incidents(db: Database) -> None:
    db.executescript(_PRIVATE_PROVENANCE + _INCIDENT_TABLES)


@private_migrations()
def m002_private_keyed_row_keys(db: Database) -> None:
    rekey(db, private=True)


@private_migrations(transactional=False)
def m003_private_vacuum(db: Database) -> None:
    vacuum_old_keys(db)


# the `writes` table (registry.writes), under the name it shipped with
private_migrations(name="m001_writes")(writes.m001_writes)

# Earlier versions recorded the private database's `writes` step under the
# set ``ofsted-homes-writes``: relabelled to this set before applying.
PRIVATE_OLD_SETS = {"ofsted-homes-writes": ("m001_writes",)}
PRIVATE_STEPS = [
    "m001_private_incidents",
    "m002_private_keyed_row_keys",
    "m003_private_vacuum",
    "m001_writes",
]


def apply_private_migrations(db: Database) -> None:
    """Bring a private incidents database up to date (old labels first)."""
    relabel(db, PRIVATE_OLD_SETS, PRIVATE_SET)
    private_migrations.apply(db)


def pending_private_steps(path: str | Path) -> list[str] | None:
    """The private set's steps the database at ``path`` has not applied yet
    (None: no record of migrations). Reads without changing the file."""
    return not_recorded(path, PRIVATE_STEPS, {PRIVATE_SET, *PRIVATE_OLD_SETS})
