"""Load the NCA's per-force missing-persons tables, and the reference data that
maps every English local authority to its police force area.

``load_police_table`` follows the loader contract of ``registry.loading.files``: the
spreadsheet loader calls it for any table whose header has ``police_force``,
inside the file's one transaction.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from importlib import resources

from sqlite_utils import Database

from extract.errors import MissingDate, StrictModeError
from extract.police import read_police_rows, year_from_name
from registry.provenance import FileResult, Source, record_problem, record_source

logger = logging.getLogger(__name__)


def police_force_areas() -> list[dict[str, str]]:
    """The shipped reference data: ``la_code, la_name, police_force``."""
    text = (
        resources.files("registry")
        .joinpath("data/police_force_areas.csv")
        .read_text(encoding="utf-8")
    )
    return list(csv.DictReader(text.splitlines()))


def sync_police_force_areas(db: Database) -> int:
    """Upsert the reference data (never deletes a row). Returns the row count."""
    rows = police_force_areas()
    db["police_force_areas"].upsert_all(rows, pk="la_code")
    return len(rows)


def load_police_table(
    db: Database,
    source: Source,
    rows: Sequence[Sequence[object]],
    *,
    strict: bool = False,
    year: str | None = None,
) -> FileResult:
    """Load an NCA per-force table (rows include the header row).

    The year is the financial year in the file name (``..._2020-21_...``)
    unless ``year`` is given. Bad cells become problem rows, or refuse the file
    with ``strict``. Runs inside the caller's transaction.
    """
    year = year or year_from_name(source.file_name)
    if year is None:
        raise MissingDate(
            f"{source.file_name}: cannot tell which year this police table covers; "
            "put the financial year in the file name, e.g. nca_table_f1_2020-21.csv"
        )
    figures, problems = read_police_rows(rows, file_name=source.file_name)
    if strict and problems:
        row, column, message, value = problems[0]
        raise StrictModeError(
            f"{source.file_name} row {row}, {column}: {message} ({value!r}); "
            "fix the cell or load without --strict"
        )
    sync_police_force_areas(db)
    record_source(
        db,
        source,
        kind="police_missing",
        description="NCA missing persons: per police force",
        year=year,
        rows_read=len({f.row for f in figures}) + len({p[0] for p in problems}),
        rows_loaded=len({f.row for f in figures}),
        rows_skipped=len({p[0] for p in problems}),
        problems_count=len(problems),
    )
    year_ending = int(year[:4]) + 1
    db["police_missing_stats"].upsert_all(
        (
            {
                "year": year,
                "year_ending": year_ending,
                "police_force": f.force,
                "measure": f.measure,
                "value": f.value,
                "symbol": f.symbol,
                "force_as_published": f.force_as_published,
                "footnotes": f.footnotes,
                "source_id": source.sha256,
            }
            for f in figures
        ),
        pk=("year", "police_force", "measure", "source_id"),
    )
    for row, column, message, value in problems:
        record_problem(db, source, message, row=row, column=column, value=value)
    forces = len({f.force for f in figures})
    summary = (
        f"{source.file_name}: {forces} police forces, {len(figures)} figures for {year}"
        + (f", {len(problems)} problems" if problems else "")
    )
    logger.info(summary)
    return FileResult(
        source.path,
        True,
        summary,
        kind="police_missing",
        counts={"forces": forces, "figures": len(figures), "problems": len(problems)},
    )
