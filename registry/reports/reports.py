"""Load inspection report PDFs into the registry.

Tables (migration set ``ofsted-homes-reports``):

* ``reports``: one row per PDF (``sha256`` primary key) with the fields
  ``extract_report`` reads, the ``extractor_version`` and, once linked, the
  ``inspection_id`` of the spreadsheet inspection it reports on;
* ``report_pages``: the text of every page, with SQLite full-text search
  (``report_pages_fts``) so Datasette's search box works;
* ``report_mentions``: every sentence about children going ``missing`` or
  ``away`` without authorisation, ``exploitation`` or the ``police``;
* ``requirements``: statutory requirements and recommendations;
* ``report_disagreements``: where a report's judgement differs from the
  spreadsheet's for the same inspection;
* ``report_checks``: every field a report gives, checked against the
  spreadsheets for the same inspection (the accuracy scoreboard, with the
  views ``report_accuracy``, ``report_accuracy_by_field``,
  ``report_accuracy_disagreements``: see ``registry.reports.accuracy``);
* ``pdf_errors``: every PDF that could not be read, with its class
  (``not_pdf``, ``truncated``, ``encrypted``, ``too_large``, ``too_many_pages``,
  ``timeout``, ``memory``, ``parse_error``, ``empty_text``,
  ``unrecognised_layout``);
* ``inspection_reports``: every link between an inspection and a report
  (made by :func:`link_reports` where URN and date agree), from which
  ``inspections.report_sha256`` and ``reports.inspection_id`` are derived.

Every PDF ends as exactly one ``reports`` row or one current ``pdf_errors``
row (``is_current = 1``). Re-reading a file with a new extractor version never
deletes: a failure that is later read is kept with ``is_current = 0``.

A bad PDF in :func:`load_report` (the loader ``registry.loading.files.load_file`` calls
for any file starting ``%PDF``) is recorded (``sources``, ``pdf_errors`` and a
``problems`` row) and returned as ``FileResult(ok=False)`` **without raising**,
so the classified failure is committed with the file's transaction. With
``strict=True`` it raises instead and nothing of the file is kept.

For many PDFs use :func:`load_reports`: it parses in parallel in sandboxed
child processes and writes each report in its own transaction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from sqlite_utils import Database

from extract.reports import (
    ERROR_KINDS,
    EXTRACTOR_VERSION,
    InspectionReport,
)
from extract.sandbox import (
    Limits,
    Outcome,
    SandboxPool,
    extract_many,
    start_server,
)
from registry.derive.derive import (
    add_inspection_observations,
    derive_pending,
    derive_report_links,
    rebuild,
)
from registry.provenance import (
    FileResult,
    Source,
    record_problem,
    record_source,
    sha256_of,
    utc_now,
)
from registry.reports.accuracy import record_report_checks
from registry.upsert import upsert_rows

logger = logging.getLogger(__name__)

#: :func:`load_reports` commits the reports it has written about this often.
COMMIT_SECONDS = 1.0

# ------------------------------------------------------------------ writing


def _id(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def _summary(report: InspectionReport, name: str) -> str:
    judgement = report.judgements.overall or "no judgement"
    return (
        f"{name}: {report.inspection_type or 'report'} of {report.urn} on "
        f"{report.inspection_date or 'an unknown date'} ({judgement}); "
        f"{report.pages} pages, {len(report.missing_mentions)} missing mentions, "
        f"{len(report.requirements)} requirements"
    )


def write_report(
    db: Database,
    sha256: str,
    report: InspectionReport,
    *,
    url: str | None,
    file_name: str,
) -> dict[str, int]:
    """Upsert one extracted report and its pages, mentions and requirements.
    The caller holds the transaction."""
    j = report.judgements
    upsert_rows(
        db,
        "reports",
        [
            {
                "sha256": sha256,
                "urn": report.urn,
                "url": url,
                "file_name": file_name,
                "inspection_date": report.inspection_date,
                "inspection_end_date": report.inspection_end_date,
                "inspection_type": report.inspection_type,
                "inspection_type_as_published": report.inspection_type_as_published,
                "layout": report.layout,
                "framework": report.framework,
                "judgement": j.overall,
                "judgement_as_published": j.as_published.get("overall"),
                "helped_and_protected": j.helped_and_protected,
                "helped_and_protected_as_published": j.as_published.get(
                    "helped_and_protected"
                ),
                "leaders_and_managers": j.leaders_and_managers,
                "leaders_and_managers_as_published": j.as_published.get(
                    "leaders_and_managers"
                ),
                "previous_judgement": report.previous_judgement,
                "previous_inspection_date": report.previous_inspection_date,
                "enforcement_action_since_last": report.enforcement_action_since_last,
                "inspection_history": json.dumps(
                    [dataclasses.asdict(row) for row in report.inspection_history]
                )
                if report.inspection_history
                else None,
                "registered_provider": report.registered_provider,
                "registered_provider_address": report.registered_provider_address,
                "responsible_individual": report.responsible_individual,
                "registered_manager": report.registered_manager,
                "inspectors": json.dumps(list(report.inspectors)),
                "places": report.places,
                "pages": report.pages,
                "missing_mentions_count": len(report.missing_mentions),
                "requirements_count": len(report.requirements),
                "recommendations_count": len(report.recommendations),
                "problems": json.dumps(list(report.problems))
                if report.problems
                else None,
                "extractor_version": report.extractor_version,
                "extracted_at": utc_now(),
            }
        ],
        ("sha256",),
    )
    upsert_rows(
        db,
        "report_pages",
        [
            {"report": sha256, "page": number, "urn": report.urn, "text": text}
            for number, text in enumerate(report.page_texts, start=1)
        ],
        ("report", "page"),
    )
    # rows of an older extraction stay, marked as not current (never deleted)
    db.execute("UPDATE report_mentions SET is_current = 0 WHERE report = ?", [sha256])
    db.execute("UPDATE requirements SET is_current = 0 WHERE report = ?", [sha256])
    mentions = [
        {
            "id": _id(sha256, number, m.kind, m.page, m.quote),
            "urn": report.urn,
            "report": sha256,
            "inspection_date": report.inspection_date,
            "page": m.page,
            "kind": m.kind,
            "quote": m.quote,
            "count": m.count,
            "is_current": 1,
        }
        for number, m in enumerate(report.missing_mentions + report.other_mentions)
    ]
    if mentions:
        upsert_rows(db, "report_mentions", mentions, ("id",))
    items = [
        {
            "id": _id(sha256, item.kind, number, item.text),
            "urn": report.urn,
            "report": sha256,
            "inspection_date": report.inspection_date,
            "kind": item.kind,
            "number": number,
            "text": item.text,
            "regulation": item.regulation,
            "due_date": item.due_date,
            "page": item.page,
            "is_current": 1,
        }
        for group in (report.requirements, report.recommendations)
        for number, item in enumerate(group, start=1)
    ]
    if items:
        upsert_rows(db, "requirements", items, ("id",))
    return {
        "reports": 1,
        "report_pages": report.pages,
        "report_mentions": len(mentions),
        "requirements": len(items),
    }


def write_failure(db: Database, source: Source, kind: str, message: str) -> None:
    """Record a PDF that could not be read (the caller holds the transaction)."""
    record_source(
        db,
        source,
        kind="report",
        description=f"report PDF that could not be read ({kind})",
        problems_count=1,
    )
    db["pdf_errors"].upsert(
        {
            "sha256": source.sha256,
            "file_name": source.file_name,
            "url": source.url,
            "error_kind": kind if kind in ERROR_KINDS else "parse_error",
            "message": message,
            "extractor_version": EXTRACTOR_VERSION,
            "failed_at": utc_now(),
            "is_current": 1,
        },
        pk="sha256",
    )
    record_problem(db, source, f"{kind}: {message}", column="pdf")


def _store_outcome(
    db: Database, source: Source, outcome: Outcome, *, as_at: object = None
) -> FileResult:
    if outcome.report is None:
        kind = outcome.error_kind or "parse_error"
        message = outcome.message or "unreadable"
        write_failure(db, source, kind, message)
        logger.warning("%s", message)
        return FileResult(source.path, False, message, kind="report")
    report = outcome.report
    record_source(
        db,
        source,
        kind="report",
        description=f"{report.inspection_type or 'inspection'} report for {report.urn}",
        as_at=report.inspection_date,
        rows_read=report.pages,
        rows_loaded=1,
        problems_count=len(report.problems),
    )
    counts = write_report(
        db, source.sha256, report, url=source.url, file_name=source.file_name
    )
    # read at last (a new extractor version): an old failure is history now
    db.execute("UPDATE pdf_errors SET is_current = 0 WHERE sha256 = ?", [source.sha256])
    for problem in report.problems:
        record_problem(db, source, problem, column="report")
    return FileResult(
        source.path,
        True,
        _summary(report, source.file_name),
        kind="report",
        counts=counts,
    )


# ------------------------------------------------------------------- loading


def load_report(
    db: Database,
    source: Source,
    *,
    as_at: object = None,
    strict: bool = False,
    limits: Limits | dict | None = None,
    **_options: object,
) -> FileResult:
    """Load one report PDF (``registry.loading.files.load_file`` calls this inside its
    transaction). A bad PDF is recorded in ``pdf_errors`` and returned as
    ``FileResult(ok=False)`` without raising (so the record is kept); with
    ``strict=True`` the classified :class:`ReportError` is raised instead."""
    outcome = _shared_pool(limits).run(source.path)
    if strict and outcome.report is None:
        raise outcome.error()
    return _store_outcome(db, source, outcome, as_at=as_at)


class _OnePool:
    """A long-lived one-worker sandbox, so loading PDFs one at a time does not
    start a process per file."""

    def __init__(self, limits: Limits) -> None:
        self.pool = SandboxPool(workers=1, limits=limits)

    def run(self, path: Path) -> Outcome:
        return next(iter(self.pool.map([path])))


_POOLS: dict[Limits, _OnePool] = {}


def _shared_pool(limits: Limits | dict | None) -> _OnePool:
    resolved = Limits.resolve(limits)
    if resolved not in _POOLS:
        import atexit

        _POOLS[resolved] = _OnePool(resolved)
        atexit.register(_POOLS[resolved].pool.close)
    return _POOLS[resolved]


def needs_extraction(db: Database, sha256: str) -> bool:
    """True unless the file was read (or refused) by the current extractor."""
    for table in ("reports", "pdf_errors"):
        rows = db.execute(
            f"SELECT extractor_version FROM {table} WHERE sha256 = ?",  # noqa: S608
            [sha256],
        ).fetchall()
        if rows and rows[0][0] == EXTRACTOR_VERSION:
            return False
    return True


def load_reports(
    db: Database,
    paths: Iterable[Path | str],
    *,
    workers: int = 2,
    progress: Callable[[int, int, Outcome], None] | None = None,
    limits: Limits | dict | None = None,
    urls: Mapping[str, str] | None = None,
    is_sample: bool = False,
    strict: bool = False,
) -> list[FileResult]:
    """Load many report PDFs: parse in parallel in sandboxed child processes,
    write each in its own transaction, then :func:`link_reports`.

    Files already read by the current ``EXTRACTOR_VERSION`` (same SHA-256) are
    skipped; a new extractor version re-reads them. ``urls`` maps a path (as
    given) to the URL it was downloaded from. With ``strict`` a bad PDF is
    refused with nothing recorded (no ``pdf_errors`` row); it never raises.
    Results come back in the order the files finish.
    """
    start_server()  # the workers' server starts while the files are hashed
    results: list[FileResult] = []
    sources: dict[str, Source] = {}
    seen: set[str] = set()
    for given in paths:
        path = Path(given)
        try:
            digest = sha256_of(path)
        except OSError as error:
            results.append(
                FileResult(
                    path, False, f"{path.name}: cannot read it ({error.strerror})"
                )
            )
            continue
        if digest in seen:
            results.append(
                FileResult(
                    path,
                    True,
                    f"{path.name}: same file as another, skipped",
                    skipped=True,
                    kind="report",
                )
            )
            continue
        if not needs_extraction(db, digest):
            results.append(
                FileResult(
                    path,
                    True,
                    f"{path.name}: already loaded (same SHA-256), skipped",
                    skipped=True,
                    kind="report",
                )
            )
            continue
        url = (urls or {}).get(str(given))
        sources[str(path)] = Source(path, digest, url, None, is_sample)
        seen.add(digest)
    # Each file is written under its own savepoint (all of it or none of it),
    # and the savepoints are committed together about once a second: a commit
    # is a disk sync, which cost more than writing a report.
    outer = not db.conn.in_transaction  # else the caller's transaction holds
    batch_started, batch = 0.0, []
    try:
        for outcome in extract_many(
            [s.path for s in sources.values()],
            workers=workers,
            limits=limits,
            progress=progress,
        ):
            source = sources[str(outcome.path)]
            if strict and outcome.report is None:
                # strict: refuse the file and keep nothing of it (as load_file does)
                results.append(
                    FileResult(source.path, False, outcome.message or "", kind="report")
                )
                continue
            if outer and not db.conn.in_transaction:
                db.conn.execute("BEGIN")
                batch_started, batch = time.monotonic(), []
            try:
                with db.atomic():
                    results.append(_store_outcome(db, source, outcome))
                batch.append(len(results) - 1)
            except Exception as error:  # a write failed: nothing of this file is kept
                logger.error("%s: could not be written: %s", source.file_name, error)
                results.append(_not_written(source.path, error))
                if outer and not db.conn.in_transaction:
                    # SQLite rolled back the whole batch (a full disk, say)
                    for index in batch:
                        results[index] = _not_written(results[index].path, error)
                    batch = []
            due = time.monotonic() - batch_started >= COMMIT_SECONDS
            if outer and db.conn.in_transaction and due:
                db.conn.commit()
    finally:
        # files written so far are whole (savepoints): keep them
        if outer and db.conn.in_transaction:
            db.conn.commit()
    with db.atomic():
        link_reports(db)
    return results


def _not_written(path: Path, error: Exception) -> FileResult:
    return FileResult(
        path,
        False,
        f"{path.name}: could not be written ({error}); load it again",
        kind="report",
    )


# ------------------------------------------------------------------- linking

_COMPARED = ("judgement", "helped_and_protected", "leaders_and_managers")


def link_reports(db: Database) -> int:
    """Link each inspection to every report with the same URN whose dates
    cover the inspection date (and the same type when both say): a row in
    `inspection_reports` (``linked_by`` ``urn-and-date``), kept for ever.
    ``inspections.report_sha256`` and ``reports.inspection_id`` are derived
    from those rows (``registry.derive.derive.derive_report_links``); then
    judgement disagreements are recorded. Idempotent and cheap (indexed; a
    link already kept is not written again). The caller holds the
    transaction. Returns how many links were added."""
    tables = set(db.table_names())
    if not {"reports", "inspections", "inspection_reports"} <= tables:
        return 0
    derive_pending(db)  # links are made against derived inspections
    new = db.execute(
        """
        SELECT i.id, r.sha256, i.urn FROM reports r
        JOIN inspections i ON i.urn = r.urn
          AND i.inspection_date BETWEEN r.inspection_date
              AND coalesce(r.inspection_end_date, r.inspection_date)
          AND (r.inspection_type IS NULL OR r.inspection_type = i.event_type)
        WHERE r.inspection_date IS NOT NULL
          AND NOT EXISTS (
            SELECT 1 FROM inspection_reports l
            WHERE l.inspection_id = i.id AND l.report_sha256 = r.sha256
          )
        """
    ).fetchall()
    now = utc_now()
    db.conn.executemany(
        "INSERT INTO inspection_reports "
        "(inspection_id, report_sha256, linked_by, linked_at) "
        "VALUES (?, ?, 'urn-and-date', ?) ON CONFLICT DO NOTHING",
        [(inspection, sha, now) for inspection, sha, _urn in new],
    )
    urns = sorted({urn for _i, _s, urn in new})
    if urns:
        derive_report_links(db, urns)
    _observe_linked(db)
    _record_disagreements(db)
    record_report_checks(db, now=utc_now())
    return len(new)


def _observe_linked(db: Database) -> None:
    """Give each linked inspection the judgements of every report linked to it
    as an observation of the lowest rank (dated by the inspection itself;
    every linked report, not only the one that ranks first, so the outcome
    does not depend on the order links were made): Ofsted's spreadsheets
    always win, and an inspection known only from a crawled provider page
    (newer than the last annual release) gets its judgements from the report.
    Reports never create inspections of their own, so a report's first day and
    a spreadsheet's date for the same visit cannot make two rows."""
    rows = list(
        db.query(
            """
            SELECT i.id AS inspection_id, i.urn, i.inspection_date, i.event_type,
                   r.sha256, r.file_name, r.inspection_type_as_published,
                   r.judgement, r.judgement_as_published,
                   r.helped_and_protected, r.leaders_and_managers
            FROM inspection_reports l
            JOIN inspections i ON i.id = l.inspection_id
            JOIN reports r ON r.sha256 = l.report_sha256
            WHERE NOT EXISTS (
                SELECT 1 FROM inspection_observations o
                WHERE o.inspection_id = i.id AND o.source_id = r.sha256
            )
            """
        )
    )
    for row in rows:
        source = Source(Path(row["file_name"] or row["sha256"]), row["sha256"])
        observation = {
            "inspection_id": row["inspection_id"],
            "urn": row["urn"],
            "event_number": None,
            "inspection_date": row["inspection_date"],
            "publication_date": None,
            "event_type": row["event_type"],
            "event_type_as_published": row["inspection_type_as_published"],
            "judgement": row["judgement"],
            "judgement_as_published": row["judgement_as_published"],
            "helped_and_protected": row["helped_and_protected"],
            "leaders_and_managers": row["leaders_and_managers"],
            "outcomes_in_education": None,
            "health_services": None,
        }
        add_inspection_observations(
            db,
            source,
            [observation],
            as_at=row["inspection_date"],
            source_kind="report",
        )
    if rows:
        rebuild(db, {row["urn"] for row in rows})


def _record_disagreements(db: Database) -> None:
    """Upsert a row for every linked field where the report and the registry
    disagree; mark a row resolved when they come to agree. Rows that did not
    change are not written (so running it again changes nothing)."""
    now = utc_now()
    known = {
        row[0]: row[1:]
        for row in db.execute(
            "SELECT id, report_value, registry_value, is_resolved FROM report_disagreements"
        )
    }
    rows = db.execute(
        """
        SELECT r.sha256, i.id, i.urn, i.inspection_date, i.source_id,
               r.judgement, i.judgement,
               r.helped_and_protected, i.helped_and_protected,
               r.leaders_and_managers, i.leaders_and_managers
        FROM inspections i JOIN reports r ON r.sha256 = i.report_sha256
        """
    ).fetchall()
    out = []
    for sha, inspection, urn, day, source_id, *pairs in rows:
        for index, field in enumerate(_COMPARED):
            ours, theirs = pairs[2 * index], pairs[2 * index + 1]
            key = _id(sha, inspection, field)
            if ours is None or theirs is None or ours == theirs:
                if key in known and not known[key][2]:
                    db.execute(
                        "UPDATE report_disagreements SET is_resolved = 1, checked_at = ? "
                        "WHERE id = ?",
                        [now, key],
                    )
                continue
            if known.get(key) == (ours, theirs, 0):
                continue
            out.append(
                {
                    "id": key,
                    "report": sha,
                    "inspection_id": inspection,
                    "urn": urn,
                    "inspection_date": day,
                    "field": field,
                    "report_value": ours,
                    "registry_value": theirs,
                    "registry_source_id": source_id,
                    "is_resolved": 0,
                    "found_at": now,
                    "checked_at": now,
                }
            )
    for row in out:
        if row["id"] in known:  # changed: keep when it was first found
            db["report_disagreements"].update(
                row["id"], {k: v for k, v in row.items() if k != "found_at"}
            )
        else:
            db["report_disagreements"].insert(row, pk="id")


# ----------------------------------------------------------------------- CLI
