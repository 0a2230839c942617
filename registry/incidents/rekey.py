"""What the public registry keeps of an incident file, and the rewrite of
incident tables written before row keys were keyed (used by the loader in
``registry.incidents.incidents`` and by the schema's migration steps in
``registry.schema.incidents``).

For a file of one row per incident, the public registry keeps no row numbers
(``file_rows`` reads :data:`ROWS_NOT_SHOWN`), no number of rows and no
per-row problems (:func:`public_problems`: one line per kind of problem):
any of them would count the incidents behind a figure shown as ``<5``.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from sqlite_utils import Database

from registry.incidents.matching import keyed
from registry.provenance import record_problem

#: ``file_rows`` of a count made from one row per incident, in the public registry.
ROWS_NOT_SHOWN = "not shown (one row per incident: the rows would give the count)"


def public_problems(
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
        kept = public_problems(problems) if source else []
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


def vacuum_old_keys(db: Database) -> None:
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
