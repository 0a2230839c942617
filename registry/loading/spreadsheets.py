"""Load tabular files: Ofsted's providers and inspections tables, DfE's
missing-from-care files, and (through ``registry.incidents.police``) police
tables. What a file is comes from ``extract.kinds.parse_tabular``."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import Future

from sqlite_utils import Database

from extract import dfe, ofsted
from extract.errors import StrictModeError
from extract.kinds import parse_tabular
from extract.normalise import inspection_id, is_independent, owner_id
from registry.derive.derive import (
    add_home_observations,
    add_home_snapshots,
    add_inspection_observations,
)
from registry.incidents.police import load_police_table
from registry.la import canonical_region, ensure_reference_data, match_la
from registry.provenance import FileResult, Source, record_problem, record_source
from registry.upsert import upsert_rows

logger = logging.getLogger(__name__)


def load_tabular(
    db: Database,
    source: Source,
    *,
    as_at: dt.date | None = None,
    strict: bool = False,
    parsed: Future | None = None,
) -> FileResult:
    """Load a CSV or workbook. ``parsed`` is the (future) result of
    :func:`parse_tabular` when a worker has already read the file."""
    content = (
        parsed.result()
        if parsed is not None
        else parse_tabular(source.path, as_at=as_at)
    )
    if content.kind == "ofsted":
        return _load_ofsted(db, source, content.ofsted, strict=strict)
    if content.kind == "dfe":
        return _load_dfe(db, source, content.dfe, strict=strict)
    return load_police_table(db, source, rows=content.rows, strict=strict)


# -------------------------------------------------------------------- Ofsted


def _load_ofsted(
    db: Database, source: Source, parsed: ofsted.OfstedFile, *, strict: bool
) -> FileResult:
    ensure_reference_data(db)
    homes: set[str] = set()
    inspections = problems = rows_read = other = 0
    parts = []
    kind = "ofsted-" + "+".join(sorted({t.kind for t in parsed.tables}))
    for table in parsed.tables:
        problems += _record_problems(db, source, table, strict=strict)
        la_problems = _la_problems(db, source, table, strict=strict)
        problems += la_problems
        home_rows = [_home_row(row.home, table.as_at) for row in table.rows]
        as_at_text = table.as_at.isoformat()
        if table.kind == ofsted.PROVIDERS:
            snapshot_rows = []
            for row, home in zip(table.rows, home_rows, strict=True):
                latest = next(iter(row.inspections), None)
                snapshot_rows.append(
                    {
                        **home,
                        "latest_full_inspection_date": latest.inspection_date
                        if latest
                        else None,
                        "latest_judgement": latest.judgement if latest else None,
                        "latest_judgement_as_published": latest.judgement_as_published
                        if latest
                        else None,
                    }
                )
            add_home_snapshots(db, source, snapshot_rows, as_at=as_at_text)
            if "places" in table.columns_not_given:
                counted = f"{len(table.rows):,} homes, places not given"
            else:
                places = sum(r.home.places or 0 for r in table.rows)
                counted = f"{len(table.rows):,} homes with {places:,} places"
            parts.append(
                f"providers at {as_at_text}, {counted}{_not_given(table, home_rows)}"
            )
        else:
            add_home_observations(db, source, home_rows, as_at=as_at_text)
            parts.append(
                f"inspections in {table.year}, {table.inspections_count:,} inspection "
                f"events at {len({r.home.urn for r in table.rows}):,} homes"
            )
        events = [
            {
                "inspection_id": inspection_id(i.urn, i.inspection_date, i.event_type),
                **ofsted.as_row(i),
            }
            for row in table.rows
            for i in (*row.inspections, *row.earlier)
        ]
        add_inspection_observations(
            db, source, events, as_at=as_at_text, source_kind=kind
        )
        homes |= {r.home.urn for r in table.rows}
        inspections += len(events)
        rows_read += table.rows_read
        other += table.other_providers
    # the homes it observed are marked for derivation (registry.derive)
    record_source(
        db,
        source,
        kind=kind,
        description="; ".join(t.title or t.sheet or "" for t in parsed.tables),
        as_at=max(t.as_at for t in parsed.tables).isoformat(),
        year=", ".join(t.year for t in parsed.tables if t.year) or None,
        rows_read=rows_read,
        rows_loaded=sum(len(t.rows) for t in parsed.tables),
        rows_skipped=other,
        problems_count=problems,
    )
    not_given = sorted(
        {
            _LABELS[f]
            for t in parsed.tables
            if t.kind == ofsted.PROVIDERS
            for f in t.columns_not_given
        }
    )
    db["sources"].update(
        source.sha256, {"columns_not_given": ", ".join(not_given) or None}
    )
    summary = (
        f"{source.file_name}: {'; '.join(parts)}; "
        f"{problems:,} problems ({other:,} other providers skipped)"
    )
    if parsed.skipped_sheets:
        summary += f"; sheets skipped: {', '.join(parsed.skipped_sheets)}"
    return FileResult(
        source.path,
        True,
        summary,
        kind="ofsted",
        counts={"homes": len(homes), "inspections": inspections, "problems": problems},
    )


_LABELS = {
    "local_authority": "local authority",
    "region": "region",
    "places": "places",
    "sector": "sector",
    "owner": "owner",
}


def _not_given(table: ofsted.OfstedTable, home_rows: list[dict]) -> str:
    """What a providers table's layout lacks, in words: never a silent 0."""
    missing = [f for f in table.columns_not_given if f != "places"]
    words = [f"{_LABELS[f]} not given" for f in missing if f != "region"]
    if "region" in missing:
        derived = sum(1 for r in home_rows if r.get("region_is_derived"))
        words.append(
            f"region not given, worked out from the local authority for {derived:,} homes"
        )
    return f" ({'; '.join(words)})" if words else ""


def _home_row(home: ofsted.HomeRecord, as_at: dt.date) -> dict:
    la = match_la(home.local_authority, as_at)
    row = ofsted.as_row(home)
    row["la_code"] = la.la_code if la else None
    row["region"] = canonical_region(row["region"])
    row["region_is_derived"] = 0 if row["region"] else None
    if not row["region"] and la and la.region:
        # the file gives no region: the local authority's, marked as worked out
        row["region"], row["region_is_derived"] = la.region, 1
    row["is_independent"] = is_independent(home.sector)
    row["owner_as_published"] = home.owner
    row["owner"] = owner_id(home.owner) if home.owner else None
    return row


def _record_problems(
    db: Database, source: Source, table: ofsted.OfstedTable, *, strict: bool
) -> int:
    for problem in table.problems:
        if strict:
            raise StrictModeError(
                f"{source.file_name}{_sheet(table.sheet)} row {problem.row}, column "
                f"{problem.column}: {problem.message} (found {problem.value!r}). "
                "Fix the cell or load without --strict to keep the row with that field empty."
            )
        record_problem(
            db,
            source,
            problem.message,
            sheet=problem.sheet,
            row=problem.row,
            column=problem.column,
            value=problem.value,
        )
    return len(table.problems)


def _la_problems(
    db: Database, source: Source, table: ofsted.OfstedTable, *, strict: bool
) -> int:
    unknown: dict[str, int] = {}
    for row in table.rows:
        name = row.home.local_authority
        if name and match_la(name, table.as_at) is None:
            unknown.setdefault(name, row.row_number)
    for name, row_number in unknown.items():
        message = f"local authority {name!r} is not in the reference list"
        if strict:
            raise StrictModeError(
                f"{source.file_name}{_sheet(table.sheet)} row {row_number}: {message}"
            )
        record_problem(
            db,
            source,
            message,
            sheet=table.sheet,
            row=row_number,
            column="local_authority",
            value=name,
        )
    return len(unknown)


def _sheet(name: str | None) -> str:
    return f" sheet {name!r}" if name else ""


# ----------------------------------------------------------------------- DfE


def _load_dfe(
    db: Database, source: Source, table: dfe.DfeTable, *, strict: bool
) -> FileResult:
    ensure_reference_data(db)
    for bad in table.bad_cells:
        if strict:
            raise StrictModeError(
                f"{source.file_name} row {bad.row}, column {bad.column}: {bad.message} "
                f"(found {bad.value!r}). Fix the cell or load without --strict."
            )
        record_problem(
            db, source, bad.message, row=bad.row, column=bad.column, value=bad.value
        )
    release = table.release
    if table.kind == dfe.NATIONAL_MISSING:
        rows = [
            {**ofsted.as_row(s), "release": release, "source_id": source.sha256}
            for s in table.statistics
        ]
        _upsert_stats(
            db,
            "national_missing_stats",
            rows,
            ("year", "kind", "breakdown", "characteristic", "release"),
        )
        what = "national missing-from-care breakdowns"
    else:
        target = (
            "la_placement_stats"
            if table.kind == dfe.LA_PLACEMENT
            else "la_missing_stats"
        )
        rows = []
        for s in table.statistics:
            row = {**ofsted.as_row(s), "release": release, "source_id": source.sha256}
            row.pop("old_la_code")
            if target == "la_placement_stats":
                row.pop("region_name")
            rows.append(row)
        _upsert_stats(db, target, rows, ("year", "area_code", "measure", "release"))
        what = (
            "LA-of-placement statistics"
            if target == "la_placement_stats"
            else "missing/away statistics by local authority responsible"
        )
    suppressed = sum(1 for s in table.statistics if s.symbol)
    record_source(
        db,
        source,
        kind=table.kind,
        description=what,
        year=", ".join(str(y) for y in table.years),
        release=release,
        rows_read=table.rows_read,
        rows_loaded=len(table.statistics),
        problems_count=len(table.bad_cells),
    )
    years = (
        f"{table.years[0]}-{table.years[-1]}"
        if len(table.years) > 1
        else str(table.years[0])
    )
    summary = (
        f"{source.file_name}: DfE {what}, years to 31 March {years} (release {release}), "
        f"{len(table.statistics):,} figures ({suppressed:,} suppressed), "
        f"{len(table.bad_cells):,} problems"
    )
    return FileResult(
        source.path,
        True,
        summary,
        kind=table.kind,
        counts={"figures": len(table.statistics)},
    )


def _upsert_stats(
    db: Database, table: str, rows: list[dict], key: tuple[str, ...]
) -> None:
    # The same figure from two copies of one release: the larger source id wins,
    # so the result does not depend on load order.
    upsert_rows(db, table, rows, key, when=f"excluded.source_id >= {table}.source_id")
