"""Observations in, derived tables out.

Every file's view of a home or an inspection is kept as an observation
(`home_snapshots`, `home_observations`, `inspection_observations`). The public
`homes` and `inspections` tables are derived from them, field by field, taking
the value from the newest source that gives one. That makes the registry the
same whatever order files are loaded in, and lets a refresh add observations
(a crawled provider page, a report) without overwriting what a newer official
file says.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable

from sqlite_utils import Database

from extract.normalise import FULL, framework_for, owner_id, parse_date
from registry.derive.groups import derive_owner_groups
from registry.derive.status import derive_status
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


def source_rank(as_at: str, source_id: str) -> str:
    """Sorts newest first when compared as text in descending order."""
    return f"{as_at}|{source_id}"


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
    db: Database, source: Source, rows: list[dict], *, as_at: str
) -> set[str]:
    """Inspection events as one source reports them; rows carry the columns of
    `inspection_observations` (``inspection_id`` included)."""
    rank = source_rank(as_at, source.sha256)
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
    """A bare `homes` row for each URN, so observations can point at it."""
    db.conn.executemany(
        "INSERT INTO homes (urn) VALUES (?) ON CONFLICT(urn) DO NOTHING",
        [(u,) for u in sorted(urns)],
    )


def rebuild(db: Database, urns: Iterable[str] | None = None) -> None:
    """Re-derive `homes` and `inspections` for these URNs (all when None),
    then every home's status: a new list can change the status of homes it
    does not mention (they are no longer listed)."""
    if urns is None:
        urns = [r["urn"] for r in db.query("select urn from homes")]
    urns = sorted(set(urns))
    for start in range(0, len(urns), _BATCH):
        chunk = urns[start : start + _BATCH]
        inspections = _derive_inspections(db, chunk)
        _derive_homes(db, chunk, inspections)
    derive_status(db)
    derive_owner_councils(db)
    derive_owner_groups(db)


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
    # snapshots before other observations at the same date
    fields = ", ".join(HOME_FIELDS)
    for row in db.query(
        f"select urn, as_at, {fields}, 0 as priority, source_id from home_snapshots "  # noqa: S608
        "where urn in (select value from json_each(:u)) "
        f"union all select urn, as_at, {fields}, 1 as priority, source_id "
        "from home_observations where urn in (select value from json_each(:u)) "
        "order by urn, as_at desc, priority, source_id desc",
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
