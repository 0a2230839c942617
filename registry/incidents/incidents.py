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

from sqlite_utils import Database

from extract.errors import StrictModeError
from extract.incidents import (
    IncidentFile,
    IncidentRecord,
    parse_incident_count,
    read_incidents,
)
from registry.errors import RegistryError
from registry.incidents.matching import Matcher, keyed, row_key
from registry.incidents.rekey import ROWS_NOT_SHOWN, public_problems
from registry.provenance import (
    FileResult,
    Source,
    record_problem,
    record_source,
    sha256_of,
    utc_now,
)
from registry.schema.incidents import (
    PRIVATE_SET,
    apply_private_migrations,
    pending_private_steps,
)
from registry.schema.migrations import SET_NAME, pending_steps

logger = logging.getLogger(__name__)

SUPPRESS_BELOW = 5
# The sets the keyed-row-keys step was recorded under: the registry's one set,
# the incidents set of earlier versions, the private database's set.
_KEYED_SETS = (SET_NAME, "ofsted-homes-incidents", PRIVATE_SET)

__all__ = ["ROWS_NOT_SHOWN", "load_incidents", "open_private", "unmigrated_reason"]


def unmigrated_reason(path: str | Path) -> str | None:
    """Why ``path`` must not be served as it is, or None: its incident tables
    were written before row keys were keyed (plain hashes of addresses,
    row ranges of suppressed counts), or its schema is behind this version's
    (steps of ``registry.schema.migrations`` not applied yet: tables and views
    the stories and pages read would be missing). ``serve`` opens databases
    read-only, so it migrates such a file first through the write path, as
    ``ofsted-homes migrate`` and any command that writes do. Reads without
    changing the file."""
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
            if "_sqlite_migrations" not in tables:
                return None
            applied = {
                r[0]
                for r in conn.execute(
                    "select name from _sqlite_migrations where migration_set in (?, ?, ?)",
                    list(_KEYED_SETS),
                )
            }
            private = "homes" not in tables and (
                "incident_counts" in tables
                or conn.execute(
                    "select 1 from _sqlite_migrations where migration_set = ?",
                    [PRIVATE_SET],
                ).fetchone()
                is not None
            )
    except sqlite3.Error:
        return None  # not a database: the caller says so in its own words
    keyed = {"m002_keyed_row_keys_and_hidden_rows", "m002_private_keyed_row_keys"}
    if "incident_counts" in tables and not applied & keyed:
        return (
            f"{path.name}: its incident tables were written by an older ofsted-homes "
            "(row keys that are plain hashes of addresses, row ranges that reveal "
            f"suppressed counts). Run `ofsted-homes migrate {path}` first."
        )
    pending = (pending_private_steps if private else pending_steps)(path)
    if pending:
        return (
            f"{path.name}: written by an older ofsted-homes (schema "
            f"{'steps' if len(pending) > 1 else 'step'} not applied: "
            f"{', '.join(pending)}). "
            f"Run `ofsted-homes migrate {path}` first."
        )
    return None


def open_private(path: str | Path) -> Database:
    """Open (creating if needed) the private incidents database."""
    db = Database(path)
    db.execute("PRAGMA foreign_keys = ON")
    apply_private_migrations(db)
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
    problems = public_problems(parsed.problems) if hide_rows else parsed.problems
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
