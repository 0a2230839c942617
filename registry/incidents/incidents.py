"""Per-home missing-incident evidence: load FOI, police and inspectors' counts,
match each row to a home (``registry.incidents.matching``), and keep people's decisions
about matches (``registry.incidents.reviews``).

Every row of a file lands in ``incident_counts`` as **matched** (to a URN),
**queued** (candidates in ``match_candidates`` await ``ofsted-homes review``)
or **unmatched** (kept, visible, never dropped).

Addresses and postcodes in the input are used for matching only: they enter
``row_key`` through an HMAC under a secret key kept outside every database
(``registry.incidents.matching``), and are never stored. A ``--private`` load goes to a
separate database (only ``serve --inspector`` attaches it); nothing of it is
written to the registry.

Small numbers: a per-home count of children from 1 to 4 is shown as ``<5``;
so is an incident count when the home has fewer than 5 places (or an unknown
number). The public registry does not keep the suppressed number at all,
nor anything that would let a reader count it: for a file of one row per
incident, it keeps no row numbers (``file_rows``, the reviewer's row summary),
no number of rows read, and no per-row problems (one line per kind of problem
instead). The private database keeps all of them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from sqlite_utils import Database, Migrations

from extract.errors import StrictModeError
from extract.incidents import (
    IncidentFile,
    IncidentRecord,
    parse_incident_count,
    read_incidents,
)
from registry.errors import RegistryError
from registry.incidents.matching import Matcher, keyed, row_key
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
#: ``file_rows`` of a count made from one row per incident, in the public registry.
ROWS_NOT_SHOWN = "not shown (one row per incident: the rows would give the count)"

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


@migrations()
def m002_keyed_row_keys_and_hidden_rows(db: Database) -> None:
    """Registries built before row keys were keyed: see :func:`rekey`."""
    rekey(db, private=False)


@migrations(transactional=False)
def m003_vacuum_old_keys(db: Database) -> None:
    """No copy of the old keys or row ranges left in free pages or the WAL."""
    _vacuum(db)


# The private database (inspectors' Annex A counts, unpublished FOI material)
# holds only these tables; it never holds the registry's.
private_migrations = Migrations("ofsted-homes-incidents-private")


@private_migrations()
def m001_private_incidents(db: Database) -> None:
    db.executescript(_PRIVATE_PROVENANCE + _INCIDENT_TABLES)


@private_migrations()
def m002_private_keyed_row_keys(db: Database) -> None:
    rekey(db, private=True)


@private_migrations(transactional=False)
def m003_private_vacuum(db: Database) -> None:
    _vacuum(db)


def rekey(db: Database, *, private: bool) -> None:
    """Rewrite a database loaded before row keys were keyed.

    ``row_key`` was a plain SHA-256 prefix of fields including the address
    and postcode; it becomes ``keyed(old row_key)``, which is exactly what a
    load computes now (``registry.incidents.matching.row_key``), so review decisions
    still apply to later loads. ``incident_counts.id`` (a plain hash of the
    row_key and the row number) is keyed the same way. In the public registry,
    per-incident files lose their row numbers, rows-read figures, row-level
    problems and problem values that could count a suppressed figure (see the
    module docstring). Secure delete zeroes the overwritten values."""
    db.execute("PRAGMA secure_delete = ON")
    db.conn.create_function(
        "ofsted_rekey", 1, lambda v: None if v is None else keyed(v)
    )
    db.conn.create_function(
        "ofsted_reid", 1, lambda v: None if v is None else keyed(v, "count")
    )
    for sql in (
        "update incident_counts set row_key = ofsted_rekey(row_key)",
        "update match_candidates set row_key = ofsted_rekey(row_key)",
        "update match_decisions set row_key = ofsted_rekey(row_key)",
    ):
        db.execute(sql)
    db.execute("update incident_counts set id = ofsted_reid(id)")
    if private:
        return
    hidden = [
        r[0]
        for r in db.execute(
            "select source_id from incident_sources where shape = 'per incident'"
        ).fetchall()
    ]
    db.execute(
        "update incident_counts set file_rows = ? where is_per_incident = 1",
        [ROWS_NOT_SHOWN],
    )
    for rowid, summary in db.execute(
        """select rowid, row_summary from match_candidates where row_key in (
               select row_key from incident_counts where is_per_incident = 1)"""
    ).fetchall():
        db.execute(
            "update match_candidates set row_summary = ? where rowid = ?",
            [re.sub(r"^(.*?) row [0-9]+(, |$)", r"\1\2", summary or ""), rowid],
        )
    for source_id in hidden:
        problems = [
            (r["row"], r["column"], r["message"], r["value"])
            for r in db.query(
                "select * from problems where source_id = ? order by rowid", [source_id]
            )
        ]
        db.execute("delete from problems where source_id = ?", [source_id])
        source = db.execute(
            "select sha256, file_name from sources where sha256 = ?", [source_id]
        ).fetchone()
        kept = _public_problems(problems) if source else []
        provenance = SimpleNamespace(
            sha256=source_id, file_name=source[1] if source else ""
        )
        for row, column, message, value in kept:
            record_problem(db, provenance, message, row=row, column=column, value=value)
        db.execute(
            "update sources set rows_read = 0, rows_skipped = 0, problems_count = ? "
            "where sha256 = ?",
            [len(kept), source_id],
        )
        db.execute(
            "update incident_sources set rows_read = 0 where source_id = ?", [source_id]
        )
    # A problem's id was a plain hash of its value too: re-record without it.
    quoted = list(
        db.query(
            """select p.*, s.file_name as source_file from problems p
               join sources s on s.sha256 = p.source_id
               where p.source_id in (select source_id from incident_sources)
               and p.value is not null
               and (p."column" is null or p."column" in ('incidents', 'children'))"""
        )
    )
    for problem in quoted:
        db.execute("delete from problems where id = ?", [problem["id"]])
        provenance = SimpleNamespace(
            sha256=problem["source_id"], file_name=problem["source_file"]
        )
        record_problem(
            db,
            provenance,
            problem["message"],
            sheet=problem["sheet"],
            row=problem["row"],
            column=problem["column"],
        )


def _vacuum(db: Database) -> None:
    """Only where rekey() rewrote something: a registry with no incident rows
    has no old key to erase and may be large."""
    if not db.execute(
        "select exists(select 1 from incident_counts) or exists(select 1 from match_decisions)"
    ).fetchone()[0]:
        return
    db.execute("PRAGMA secure_delete = ON")
    db.execute("VACUUM")
    if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def unmigrated_reason(path: str | Path) -> str | None:
    """Why ``path`` must not be served as it is, or None: its incident tables
    were written before row keys were keyed (plain hashes of addresses,
    row ranges of suppressed counts). ``serve`` opens databases read-only, so
    it cannot migrate them itself; any command that writes does, and so does
    ``ofsted-homes migrate``. Reads without changing the file."""
    import sqlite3
    from contextlib import closing

    path = Path(path)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "select name from sqlite_master where type = 'table'"
                )
            }
            if "incident_counts" not in tables or "_sqlite_migrations" not in tables:
                return None
            applied = {
                r[0]
                for r in conn.execute(
                    "select name from _sqlite_migrations where migration_set in (?, ?)",
                    [migrations.name, private_migrations.name],
                )
            }
    except sqlite3.Error:
        return None  # not a database: the caller says so in its own words
    if applied & {"m002_keyed_row_keys_and_hidden_rows", "m002_private_keyed_row_keys"}:
        return None
    return (
        f"{path.name}: its incident tables were written by an older ofsted-homes "
        "(row keys that are plain hashes of addresses, row ranges that reveal "
        f"suppressed counts). Run `ofsted-homes migrate {path}` first."
    )


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
    # Public: nothing that counts the rows of a per-incident file (see above).
    hide_rows = parsed.shape == "per incident" and not private
    for record in parsed.records:
        match = matcher.match(record)
        counts[match.status] += 1
        key = row_key(record)
        home = matcher.homes.get(match.urn) if match.urn else None
        row = _count_row(
            source, source_name, licence, record, match, home, key, private
        )
        if hide_rows:
            row["file_rows"] = ROWS_NOT_SHOWN
        rows.append(row)
        summary = _row_summary(record, source.file_name, hide_rows=hide_rows)
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
    problems = _public_problems(parsed.problems) if hide_rows else parsed.problems
    rows_read = 0 if hide_rows else parsed.rows_read
    record_source(
        db,
        source,
        kind="incidents",
        description=source_name,
        rows_read=rows_read,
        rows_loaded=len(rows),
        problems_count=len(problems),
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
            "rows_read": rows_read,
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
    for row, column, message, value in problems:
        record_problem(
            db,
            source,
            message,
            sheet=parsed.sheet,
            row=row,
            column=column,
            value=_problem_value(column, value, private),
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


def _public_problems(
    problems: list[tuple[int, str | None, str, object]],
) -> list[tuple[int | None, str | None, str, object]]:
    """Per-row problems of a per-incident file, as the public registry keeps
    them: one line per column and kind of problem, with no row number, no
    value and no number of rows (any of which could count a home's rows)."""
    seen: dict[tuple[str | None, str], None] = {}
    for _row, column, message, _value in problems:
        seen.setdefault((column, message), None)
    return [
        (None, column, f"{message} (on one or more rows; rows not shown)", None)
        for column, message in seen
    ]


def _row_summary(record: IncidentRecord, file_name: str, *, hide_rows: bool) -> str:
    """What a reviewer sees of a row: never the address or the home's name
    (nor, for a per-incident file, a row number)."""
    parts = [file_name if hide_rows else f"{file_name} row {record.rows[0]}"]
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


def _problem_value(column: str | None, value: object, private: bool) -> object:
    """The cell a problem quotes. Never an address; in the public registry not a
    count that could not be read (it may be a small number in words) nor the
    text of a skipped row (a totals line gives the sum of suppressed counts)."""
    if column in ("address", "postcode"):
        return None
    if not private and column in (None, "incidents", "children"):
        return None
    return value


def _shown(
    count: int | None, published: str | None, suppress: bool
) -> tuple[str | None, bool]:
    if count is None:
        if published and re.search(r"[0-9]", published):
            _, _, is_mark = parse_incident_count(published)
            if not is_mark:  # "3 (approx.)": a number we cannot read
                return "not a count (see the file)", suppress
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
    # Keyed too: a plain hash of the row number beside a published row_key
    # could be brute-forced for the row number.
    ident = keyed(
        "|".join(
            [
                source.sha256,
                key,
                record.kind,
                period.label if period else "",
                str(record.rows[0]),
            ]
        ),
        "count",
    )
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
