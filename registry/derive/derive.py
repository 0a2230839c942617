"""Observations in, derived tables out.

Every file's view of a home or an inspection is kept as an observation
(`home_snapshots`, `home_observations`, `inspection_observations`); every
link between an inspection and its report PDF is kept in `inspection_reports`;
every listing of the register in `home_snapshots` and `crawl_listings`. The
public `homes` and `inspections` tables are derived from those alone, field by
field, taking the value from the best-ranked source that gives one (one order
of sources: ``registry.derive.rank``). That makes the registry the same
whatever order files are loaded in, lets a refresh add observations (a crawled
provider page, a report) without overwriting what a newer official file says,
and means deleting the derived tables and calling :func:`rebuild` gives them
back exactly.

Derived columns: every column of `homes` (status, ``missing_since``,
``status_note``, ``last_listed`` and ``status_changed_at`` from the listings:
``registry.derive.status``); every column of `inspections`
(``report_sha256`` from `inspection_reports`; the previous full inspection
and ``judgement_change``: ``registry.derive.summaries``);
``reports.inspection_id``; `owner_councils`, `owner_groups` and
`owner_snapshots`.

Loading marks the homes a file observed in `derive_pending` (in the file's own
transaction) and derives them once per batch of files (:func:`derive_pending`),
so a batch costs one derivation of what it touched, and an interrupted batch
is finished by the next writer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from sqlite_utils import Database

from extract.normalise import FULL, framework_for, owner_id, parse_date
from registry.derive.groups import derive_owner_groups
from registry.derive.rank import rank_sql, source_rank
from registry.derive.status import derive_status
from registry.derive.summaries import (
    derive_judgement_changes,
    derive_pending_lists,
    mark_list,
)
from registry.la import derive_owner_councils
from registry.provenance import Source
from registry.upsert import upsert_rows

HOME_FIELDS = (
    "provision_type",
    "sector",
    "is_independent",
    "local_authority",
    "la_code",
    "ofsted_region",
    "region",
    "places",
    "registration_date",
    "registration_status",
    "is_short_break_only",
    "owner",
    "region_is_derived",
)
INSPECTION_FIELDS = (
    "urn",
    "event_number",
    "inspection_date",
    "publication_date",
    "event_type",
    "event_type_as_published",
    "judgement",
    "judgement_as_published",
    "helped_and_protected",
    "leaders_and_managers",
    "outcomes_in_education",
    "health_services",
    "framework",
)
_BATCH = 500


def ensure_owners(db: Database, names: Iterable[str | None]) -> None:
    """Add an `owners` row for each owner name; the id is a stable slug so a
    page per owner keeps its URL across spellings (``Ltd``/``Limited``)."""
    spellings: dict[str, str] = {}
    for name in names:
        if name:
            key = owner_id(name)
            spellings[key] = min(spellings.get(key, name), name)
    # Of several spellings the same one always wins, whatever the load order.
    rows = [{"id": key, "name": name} for key, name in sorted(spellings.items())]
    upsert_rows(db, "owners", rows, ("id",), when="excluded.name < owners.name")


def add_home_snapshots(
    db: Database, source: Source, rows: list[dict], *, as_at: str
) -> set[str]:
    """Rows of a providers-at-date table. Two files giving the same home at the
    same date (a workbook and a CSV saved from it): the larger source id wins,
    so the outcome does not depend on load order."""
    ensure_owners(db, (r.get("owner_as_published") for r in rows))
    columns = [
        "urn",
        "as_at",
        *HOME_FIELDS,
        "owner_as_published",
        "latest_full_inspection_date",
        "latest_judgement",
        "latest_judgement_as_published",
        "source_id",
    ]
    prepared = [{**row, "as_at": as_at, "source_id": source.sha256} for row in rows]
    _ensure_homes(db, {r["urn"] for r in prepared})
    upsert_rows(
        db,
        "home_snapshots",
        prepared,
        ("urn", "as_at"),
        columns=columns,
        when="excluded.source_id >= home_snapshots.source_id",
    )
    if prepared:
        mark_list(db, as_at)
    return {r["urn"] for r in prepared}


def add_home_observations(
    db: Database, source: Source, rows: list[dict], *, as_at: str
) -> set[str]:
    """A home's attributes as seen in some other source (an in-year inspections
    table, a crawled provider page)."""
    ensure_owners(db, (r.get("owner_as_published") for r in rows))
    prepared = []
    for row in rows:
        record = {k: row.get(k) for k in HOME_FIELDS}
        if row.get("owner_as_published"):
            record["owner"] = owner_id(row["owner_as_published"])
        prepared.append(
            {"urn": row["urn"], "source_id": source.sha256, "as_at": as_at, **record}
        )
    _ensure_homes(db, {r["urn"] for r in prepared})
    upsert_rows(db, "home_observations", prepared, ("urn", "source_id"))
    return {r["urn"] for r in prepared}


def add_inspection_observations(
    db: Database,
    source: Source,
    rows: list[dict],
    *,
    as_at: str,
    source_kind: str | None = None,
) -> set[str]:
    """Inspection events as one source reports them; rows carry the columns of
    `inspection_observations` (``inspection_id`` included). ``source_kind`` is
    the `sources.kind` the file will have (default: as recorded already)."""
    if source_kind is None:
        found = db.execute(
            "select kind from sources where sha256 = ?", [source.sha256]
        ).fetchone()
        source_kind = found[0] if found else None
    rank = source_rank(as_at, source.sha256, source_kind)
    prepared = [
        {
            **row,
            "source_id": source.sha256,
            "source_rank": rank,
            "framework": framework_for(parse_date(row["inspection_date"])),
        }
        for row in rows
    ]
    _ensure_homes(db, {r["urn"] for r in prepared})
    upsert_rows(db, "inspection_observations", prepared, ("inspection_id", "source_id"))
    return {r["urn"] for r in prepared}


def _ensure_homes(db: Database, urns: set[str]) -> None:
    """A bare `homes` row for each URN, so observations can point at it, and
    the URN marked for derivation."""
    params = [(u,) for u in sorted(urns)]
    db.conn.executemany(
        "INSERT INTO homes (urn) VALUES (?) ON CONFLICT(urn) DO NOTHING", params
    )
    db.conn.executemany(
        "INSERT INTO derive_pending (urn) VALUES (?) ON CONFLICT(urn) DO NOTHING",
        params,
    )


def derive_pending(db: Database) -> int:
    """Derive every home marked by the loads since the last derivation (and
    every home's status); the caller holds the transaction. Returns how many
    homes were derived."""
    urns = [r[0] for r in db.execute("select urn from derive_pending")]
    if urns:
        rebuild(db, urns)
    else:
        derive_pending_lists(db)
    return len(urns)


def observed_urns(db: Database) -> set[str]:
    """Every URN of a home or of any observation of one."""
    sql = (
        "select urn from homes union select urn from home_snapshots "
        "union select urn from home_observations "
        "union select urn from inspection_observations"
    )
    return {r[0] for r in db.execute(sql)}


def rebuild(db: Database, urns: Iterable[str] | None = None) -> None:
    """Re-derive `homes` and `inspections` (and the inspections' reports) for
    these URNs (all when None), then every home's status: a new list can
    change the status of homes it does not mention (they are no longer
    listed); then the owners on the lists loads wrote rows of (every list
    when None). The caller holds the transaction."""
    everything = urns is None
    urns = observed_urns(db) if everything else set(urns)
    urns = sorted(urns)
    db.conn.executemany(
        "INSERT INTO homes (urn) VALUES (?) ON CONFLICT(urn) DO NOTHING",
        [(u,) for u in urns],
    )
    for start in range(0, len(urns), _BATCH):
        chunk = urns[start : start + _BATCH]
        inspections = _derive_inspections(db, chunk)
        derive_judgement_changes(db, chunk)
        _derive_homes(db, chunk, inspections)
        derive_report_links(db, chunk)
        db.execute(
            "delete from derive_pending where urn in (select value from json_each(?))",
            [_json(chunk)],
        )
    derive_status(db)
    derive_owner_councils(db)
    derive_owner_groups(db)
    derive_pending_lists(db, every=everything)


def derive_report_links(db: Database, urns: list[str]) -> None:
    """``inspections.report_sha256`` of these homes' inspections: the
    best-ranked report linked to each in `inspection_reports` (NULL when none);
    ``reports.inspection_id`` of their reports: the earliest inspection linked
    to each."""
    if "inspection_reports" not in db.table_names():
        return
    rank = rank_sql("s.as_at", "l.report_sha256", "s.kind")
    best = f"""
        SELECT l.report_sha256 FROM inspection_reports l
        LEFT JOIN sources s ON s.sha256 = l.report_sha256
        WHERE l.inspection_id = inspections.id
        ORDER BY {rank} DESC LIMIT 1
    """  # noqa: S608
    db.execute(
        f"UPDATE inspections SET report_sha256 = ({best}) "  # noqa: S608
        "WHERE urn IN (SELECT value FROM json_each(?)) "
        f"AND report_sha256 IS NOT ({best})",
        [_json(urns)],
    )
    earliest = """
        SELECT i.id FROM inspection_reports l JOIN inspections i ON i.id = l.inspection_id
        WHERE l.report_sha256 = reports.sha256
        ORDER BY i.inspection_date, i.id LIMIT 1
    """
    db.execute(
        f"UPDATE reports SET inspection_id = ({earliest}) "  # noqa: S608
        "WHERE urn IN (SELECT value FROM json_each(?)) "
        f"AND inspection_id IS NOT ({earliest})",
        [_json(urns)],
    )


def _json(values: list) -> str:
    return json.dumps(values)


def _first_non_null(rows: list[dict], fields: Iterable[str]) -> dict:
    """Field by field, the first value that is not NULL (rows newest first)."""
    if len(rows) == 1:
        return {name: rows[0].get(name) for name in fields}
    merged: dict = {}
    for name in fields:
        merged[name] = next((r[name] for r in rows if r.get(name) is not None), None)
    return merged


def _derive_inspections(db: Database, urns: list[str]) -> dict[str, list[dict]]:
    by_id: dict[str, list[dict]] = defaultdict(list)
    for row in db.query(
        "select * from inspection_observations where urn in (select value from json_each(?)) "
        "order by inspection_id, source_rank desc",
        [_json(urns)],
    ):
        by_id[row["inspection_id"]].append(row)
    derived = []
    per_urn: dict[str, list[dict]] = defaultdict(list)
    for inspection_id, rows in by_id.items():
        record = {"id": inspection_id, **_first_non_null(rows, INSPECTION_FIELDS)}
        record["source_id"] = rows[0]["source_id"]
        derived.append(record)
        per_urn[record["urn"]].append(record)
    if derived:
        upsert_rows(db, "inspections", derived, ("id",))
    return per_urn


def _derive_homes(
    db: Database, urns: list[str], inspections: dict[str, list[dict]]
) -> None:
    sightings: dict[str, list[dict]] = defaultdict(list)
    # best-ranked source first (a snapshot is a list row, whatever its file);
    # a file's snapshot before its own other sightings
    fields = ", ".join(f"x.{f}" for f in HOME_FIELDS)
    snapshot = rank_sql("x.as_at", "x.source_id", "'providers'")
    sighting = rank_sql("x.as_at", "x.source_id", "s.kind")
    for row in db.query(
        f"select x.urn, x.as_at, {fields}, {snapshot} as rank, 0 as priority "  # noqa: S608
        "from home_snapshots x where x.urn in (select value from json_each(:u)) "
        f"union all select x.urn, x.as_at, {fields}, {sighting} as rank, 1 "
        "from home_observations x left join sources s on s.sha256 = x.source_id "
        "where x.urn in (select value from json_each(:u)) "
        "order by urn, rank desc, priority",
        {"u": _json(urns)},
    ):
        sightings[row["urn"]].append(row)
    homes = []
    for urn in urns:
        rows = sightings.get(urn, [])
        record = {"urn": urn, **_first_non_null(rows, HOME_FIELDS)}
        dates = [r["as_at"] for r in rows]
        record["first_seen"] = min(dates) if dates else None
        record["last_seen"] = max(dates) if dates else None
        events = sorted(
            inspections.get(urn, []), key=lambda e: (e["inspection_date"], e["id"])
        )
        latest = events[-1] if events else None
        full = [e for e in events if e["event_type"] == FULL]
        record["latest_inspection_date"] = latest["inspection_date"] if latest else None
        record["latest_inspection_type"] = latest["event_type"] if latest else None
        record["latest_full_inspection_date"] = (
            full[-1]["inspection_date"] if full else None
        )
        record["latest_judgement"] = full[-1]["judgement"] if full else None
        homes.append(record)
    upsert_rows(db, "homes", homes, ("urn",))
