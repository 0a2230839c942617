"""Per-home missing-incident evidence: load FOI, police and inspectors' counts,
match each row to a home (``registry.matching``), and keep people's decisions
about matches (``registry.reviews``).

Every row of a file lands in ``incident_counts`` as **matched** (to a URN),
**queued** (candidates in ``match_candidates`` await ``ofsted-homes review``)
or **unmatched** (kept, visible, never dropped).

Addresses and postcodes in the input are used for matching only: they are
hashed into ``row_key`` and never stored. A ``--private`` load goes to a
separate database (only ``serve --inspector`` attaches it); nothing of it is
written to the registry.

Small numbers: a per-home count of children from 1 to 4 is shown as ``<5``;
so is an incident count when the home has fewer than 5 places (or an unknown
number). The public registry does not keep the suppressed number at all.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database, Migrations

from extract.errors import StrictModeError
from extract.incidents import IncidentFile, IncidentRecord, read_incidents
from registry.errors import RegistryError
from registry.incidents.matching import Matcher
from registry.incidents.police import sync_police_force_areas
from registry.provenance import (
    FileResult,
    Source,
    record_problem,
    record_source,
    sha256_of,
    utc_now,
)

logger = logging.getLogger(__name__)

SUPPRESS_BELOW = 5

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

migrations = Migrations("ofsted-homes-incidents")


@migrations()
def m001_incidents(db: Database) -> None:
    db.executescript(_INCIDENT_TABLES + _POLICE_TABLES)
    sync_police_force_areas(db)


# The private database (inspectors' Annex A counts, unpublished FOI material)
# holds only these tables; it never holds the registry's.
private_migrations = Migrations("ofsted-homes-incidents-private")


@private_migrations()
def m001_private_incidents(db: Database) -> None:
    db.executescript(_PRIVATE_PROVENANCE + _INCIDENT_TABLES)


def open_private(path: str | Path) -> Database:
    """Open (creating if needed) the private incidents database."""
    db = Database(path)
    db.execute("PRAGMA foreign_keys = ON")
    private_migrations.apply(db)
    return db


def default_private_path(registry_path: str | Path) -> Path:
    path = Path(registry_path)
    return path.with_name(f"{path.stem}.private.db")


@dataclass
class IncidentLoad:
    """What one call of :func:`load_incidents` did."""

    result: FileResult
    matched: int = 0
    queued: int = 0
    unmatched: int = 0


def load_incidents(
    registry: Database,
    path: Path,
    *,
    source_name: str,
    licence: str | None = None,
    url: str | None = None,
    private_db: Database | None = None,
    mapping: Mapping[str, str] | None = None,
    default_kind: str | None = None,
    strict: bool = False,
    auto_fuzzy: bool = True,
) -> IncidentLoad:
    """Load one incident file, matching its rows against ``registry``'s homes.

    With ``auto_fuzzy=False`` only URNs and remembered decisions match
    automatically; every other likely home waits for review.
    With ``private_db``, everything (counts, candidates, decisions, the file's
    provenance) goes there and nothing into ``registry``. One transaction:
    a failure leaves nothing behind.

    Example::

        load = load_incidents(open_registry("registry.db"), Path("foi.csv"),
                              source_name="Kent Police FOI 2023/0412")
    """
    path = Path(path)
    target = private_db if private_db is not None else registry
    try:
        source = Source(path, sha256_of(path), url)
    except OSError as error:
        raise RegistryError(f"{path}: cannot read it ({error.strerror})") from None
    if target["incident_sources"].count_where("source_id = ?", [source.sha256]):
        return IncidentLoad(
            FileResult(
                path,
                True,
                f"{path.name}: already loaded (same SHA-256), skipped",
                skipped=True,
                kind="incidents",
            )
        )
    parsed = read_incidents(path, mapping=mapping, default_kind=default_kind)
    if strict and parsed.problems:
        row, column, message, value = parsed.problems[0]
        raise StrictModeError(
            f"{path.name} row {row}, {column}: {message} ({value!r}); fix the cell or load without --strict"
        )
    matcher = Matcher(registry, decisions=target, auto_fuzzy=auto_fuzzy)
    private = private_db is not None
    with target.atomic():
        load = _write(target, matcher, source, parsed, source_name, licence, private)
    return load


def _write(
    db: Database,
    matcher: Matcher,
    source: Source,
    parsed: IncidentFile,
    source_name: str,
    licence: str | None,
    private: bool,
) -> IncidentLoad:
    counts = {"matched": 0, "queued": 0, "unmatched": 0}
    rows = []
    candidates = []
    for record in parsed.records:
        match = matcher.match(record)
        counts[match.status] += 1
        key = record.identity_key()
        home = matcher.homes.get(match.urn) if match.urn else None
        rows.append(
            _count_row(source, source_name, licence, record, match, home, key, private)
        )
        summary = _row_summary(record, source.file_name)
        candidates.extend(
            {
                "row_key": key,
                "urn": c.urn,
                "score": c.score,
                "reasons": c.reasons,
                "row_summary": summary,
                "home_summary": c.home_summary,
                "status": "open",
            }
            for c in match.candidates
            if match.status == "queued"
        )
    record_source(
        db,
        source,
        kind="incidents",
        description=source_name,
        rows_read=parsed.rows_read,
        rows_loaded=len(rows),
        problems_count=len(parsed.problems),
    )
    db["incident_sources"].insert(
        {
            "source_id": source.sha256,
            "name": source_name,
            "file_name": source.file_name,
            "licence": licence,
            "url": source.url,
            "is_private": int(private),
            "shape": parsed.shape,
            "sheet": parsed.sheet,
            "header_row": parsed.header_row,
            "columns": ", ".join(f"{k}={v}" for k, v in parsed.columns.items()),
            "rows_read": parsed.rows_read,
            "records_count": len(rows),
            "matched_count": counts["matched"],
            "queued_count": counts["queued"],
            "unmatched_count": counts["unmatched"],
            "loaded_at": utc_now(),
        }
    )
    db["incident_counts"].upsert_all(rows, pk="id")
    # INSERT OR IGNORE: a candidate already reviewed keeps its status.
    db["match_candidates"].insert_all(candidates, ignore=True)
    for row, column, message, value in parsed.problems:
        record_problem(
            db,
            source,
            message,
            sheet=parsed.sheet,
            row=row,
            column=column,
            value=None if column in ("address", "postcode") else value,
        )
    summary = (
        f"{source.file_name}: {len(rows)} counts from {parsed.rows_read} rows "
        f"({parsed.shape}) — {counts['matched']} matched, {counts['queued']} queued "
        f"for review, {counts['unmatched']} unmatched"
        + (f", {len(parsed.problems)} problems" if parsed.problems else "")
        + (" [private]" if private else "")
    )
    return IncidentLoad(
        FileResult(source.path, True, summary, kind="incidents", counts=counts),
        **counts,
    )


def _row_summary(record: IncidentRecord, file_name: str) -> str:
    """What a reviewer sees of a row: never the address or the home's name."""
    parts = [f"{file_name} row {record.rows[0]}"]
    if record.urn_as_published:
        parts.append(f"URN {record.urn_as_published}")
    if record.provider:
        parts.append(f"provider {record.provider!r}")
    if record.local_authority:
        parts.append(f"LA {record.local_authority!r}")
    if record.places is not None:
        parts.append(f"{record.places} places")
    if record.home_name or record.address or record.postcode:
        parts.append("name/address: see the file")
    return ", ".join(parts)


def _shown(
    count: int | None, published: str | None, suppress: bool
) -> tuple[str | None, bool]:
    if count is None:
        return published, False
    if suppress and 0 < count < SUPPRESS_BELOW:
        return f"<{SUPPRESS_BELOW}", True
    return str(count), False


def _count_row(source, source_name, licence, record, match, home, key, private) -> dict:
    places = home.places if home and home.places is not None else record.places
    small_home = places is None or places < SUPPRESS_BELOW
    incidents_shown, incidents_hidden = _shown(
        record.incidents, record.incidents_as_published, small_home
    )
    children_shown, children_hidden = _shown(
        record.children, record.children_as_published, True
    )
    period = record.period
    ident = hashlib.sha1(
        "|".join(
            [
                source.sha256,
                key,
                record.kind,
                period.label if period else "",
                str(record.rows[0]),
            ]
        ).encode()
    ).hexdigest()[:20]
    return {
        "id": ident,
        "source_id": source.sha256,
        "source_name": source_name,
        "licence": licence,
        "file_rows": _rows_text(record.rows),
        "row_key": key,
        "urn": match.urn,
        "match_status": match.status,
        "match_method": match.method,
        "match_score": match.score,
        "match_note": match.note,
        "urn_as_published": record.urn_as_published,
        "provider_as_published": record.provider,
        "local_authority_as_published": record.local_authority,
        "la_code": match.la_code,
        "places_as_published": record.places,
        "kind": record.kind,
        "period_kind": period.kind if period else None,
        "period_label": period.label if period else None,
        "period_start": period.start.isoformat() if period else None,
        "period_end": period.end.isoformat() if period else None,
        # The public registry never holds a suppressed number; the private one does.
        "incidents_count": record.incidents
        if (private or not incidents_hidden)
        else None,
        "incidents_shown": incidents_shown,
        "children_count": record.children if (private or not children_hidden) else None,
        "children_shown": children_shown,
        "is_suppressed": int(incidents_hidden or children_hidden),
        "is_per_incident": int(record.is_per_incident),
    }


def _rows_text(rows: tuple[int, ...]) -> str:
    """(5, 6, 7, 9) → "5-7, 9"."""
    spans: list[list[int]] = []
    for number in sorted(rows):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
