# ruff: noqa: S608 - SQL here is built only from this module's constants.
"""How far to trust what the registry reads from report PDFs: a scoreboard
it keeps about itself.

Wherever a report and one of Ofsted's spreadsheets describe the same
inspection, every field the report gives is compared with the spreadsheet's
(``report_checks``, one row per report, field and extractor version):

* ``inspection_date``: the spreadsheet's date falls within the report's dates;
* ``inspection_type``: the same event type;
* ``judgement``, ``helped_and_protected``, ``leaders_and_managers``: the same
  judgement, from the newest spreadsheet that gives one (never the report's
  own contribution to ``inspections``);
* ``registered_provider``: the same owner (``owners.id`` spelling rules) as
  the home's spreadsheet entry nearest the inspection date;
* ``places``: the same number of places as that entry.

The inspection a report is compared with is the one it is linked to, else
the same home's inspection nearest its date (within 31 days, any type), so a
misread date or type shows up as a disagreement rather than vanishing.

Each check ends ``agree``, ``disagree``, ``report_empty`` (the spreadsheet
has a value, the reader left it empty: a miss, not a wrong value) or
``not_checked`` (nothing official to compare with). Views summarise it:
``report_accuracy_by_layout`` (per field, layout and extractor version),
``report_accuracy_by_field`` and ``report_accuracy_disagreements`` (the cases);
``incident_match_accuracy`` gives the share of incident rows matched to a
home by URN, by name (fuzzy), in review, queued or unmatched.

Rows are upserted, never deleted: a row is written only when what it says
changes, and a new extractor version adds its own rows beside the old ones.
"""

from __future__ import annotations

import hashlib
import json

from sqlite_utils import Database

from extract.normalise import owner_id
from registry.upsert import upsert_rows

FIELDS = (
    "inspection_date",
    "inspection_type",
    "judgement",
    "helped_and_protected",
    "leaders_and_managers",
    "registered_provider",
    "places",
)
OUTCOMES = ("agree", "disagree", "report_empty", "not_checked")
#: Source kinds that are not an official spreadsheet: a report, and the
#: provider pages of the reports site (they describe the report itself).
NOT_OFFICIAL = ("report", "provider-page")
NEAREST_DAYS = 31

SCHEMA = f"""
CREATE TABLE report_checks (
    id TEXT PRIMARY KEY,
    report TEXT NOT NULL REFERENCES reports(sha256),
    urn TEXT NOT NULL,
    layout TEXT NOT NULL,
    extractor_version TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ({", ".join(f"'{f}'" for f in FIELDS)})),
    inspection_id TEXT,
    inspection_date TEXT,
    report_value TEXT,
    official_value TEXT,
    official_source TEXT,
    outcome TEXT NOT NULL
        CHECK (outcome IN ({", ".join(f"'{o}'" for o in OUTCOMES)})),
    changed_at TEXT NOT NULL
) STRICT;

CREATE INDEX idx_report_checks_report ON report_checks(report);
CREATE INDEX idx_report_checks_field ON report_checks(field, layout, extractor_version);

CREATE VIEW report_accuracy_by_layout AS
SELECT
    field,
    layout,
    extractor_version,
    sum(outcome != 'not_checked') AS compared,
    sum(outcome = 'agree') AS agree,
    sum(outcome = 'disagree') AS disagree,
    sum(outcome = 'report_empty') AS report_empty,
    sum(outcome = 'not_checked') AS not_checked,
    round(100.0 * sum(outcome = 'agree')
        / nullif(sum(outcome IN ('agree', 'disagree')), 0), 1) AS agree_pct,
    round(100.0 * sum(outcome = 'agree')
        / nullif(sum(outcome != 'not_checked'), 0), 1) AS right_of_compared_pct
FROM report_checks
GROUP BY field, layout, extractor_version;

CREATE VIEW report_accuracy_by_field AS
SELECT
    c.field,
    sum(c.outcome != 'not_checked') AS compared,
    sum(c.outcome = 'agree') AS agree,
    sum(c.outcome = 'disagree') AS disagree,
    sum(c.outcome = 'report_empty') AS report_empty,
    sum(c.outcome = 'not_checked') AS not_checked,
    round(100.0 * sum(c.outcome = 'agree')
        / nullif(sum(c.outcome IN ('agree', 'disagree')), 0), 1) AS agree_pct,
    round(100.0 * sum(c.outcome = 'agree')
        / nullif(sum(c.outcome != 'not_checked'), 0), 1) AS right_of_compared_pct
FROM report_checks c JOIN reports r
    ON r.sha256 = c.report AND r.extractor_version = c.extractor_version
GROUP BY c.field;

CREATE VIEW report_accuracy_disagreements AS
SELECT
    c.field, c.urn, c.inspection_date, c.layout, c.extractor_version,
    c.report_value, c.official_value, c.inspection_id,
    r.file_name, r.url AS report_url, c.report, c.official_source, c.changed_at
FROM report_checks c JOIN reports r
    ON r.sha256 = c.report AND r.extractor_version = c.extractor_version
WHERE c.outcome = 'disagree';
"""

INCIDENT_VIEW = """
CREATE VIEW incident_match_accuracy AS
SELECT
    source_name,
    count(*) AS rows,
    sum(match_status = 'matched' AND match_method = 'urn') AS by_urn,
    sum(match_status = 'matched' AND match_method = 'fuzzy') AS by_name,
    sum(match_status = 'matched' AND match_method = 'review') AS by_review,
    sum(match_status = 'queued') AS in_review_queue,
    sum(match_status = 'unmatched') AS unmatched,
    round(100.0 * sum(match_status = 'matched' AND match_method = 'urn')
        / count(*), 1) AS by_urn_pct,
    round(100.0 * sum(match_status = 'matched' AND match_method = 'fuzzy')
        / count(*), 1) AS by_name_pct,
    round(100.0 * sum(match_status = 'matched' AND match_method = 'review')
        / count(*), 1) AS by_review_pct,
    round(100.0 * sum(match_status != 'matched') / count(*), 1) AS not_matched_pct
FROM incident_counts
GROUP BY source_name;
"""


def create_schema(db: Database) -> None:
    """Tables and views (the reports migration set calls this)."""
    db.executescript(SCHEMA)
    if "incident_counts" in db.table_names():
        db.executescript(INCIDENT_VIEW)


def _id(*parts: object) -> str:
    return hashlib.sha1("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def _official_inspections(db: Database) -> dict[str, dict]:
    """Per report: the inspection it is compared with, with the newest
    official (spreadsheet) value of each judgement."""
    import datetime as dt

    paired: dict[str, str] = {}
    for sha, inspection_id in db.execute(
        "SELECT report_sha256, id FROM inspections WHERE report_sha256 IS NOT NULL "
        "ORDER BY inspection_date DESC"
    ):
        paired[sha] = inspection_id  # the earliest wins, as in link_reports
    for sha, urn, day in db.execute(
        "SELECT sha256, urn, inspection_date FROM reports "
        "WHERE inspection_date IS NOT NULL"
    ).fetchall():
        if sha in paired:
            continue
        start = dt.date.fromisoformat(day)
        nearest = None
        for inspection_id, other in db.execute(
            "SELECT id, inspection_date FROM inspections WHERE urn = ? "
            "ORDER BY inspection_date",
            [urn],
        ):
            gap = abs((dt.date.fromisoformat(other) - start).days)
            if gap <= NEAREST_DAYS and (nearest is None or gap < nearest[0]):
                nearest = (gap, inspection_id)
        if nearest:
            paired[sha] = nearest[1]
    not_official = ", ".join(f"'{k}'" for k in NOT_OFFICIAL)
    details: dict[str, dict] = {}
    for inspection_id in set(paired.values()):
        row = db.execute(
            "SELECT inspection_date, event_type FROM inspections WHERE id = ?",
            [inspection_id],
        ).fetchone()
        found = {
            "id": inspection_id,
            "inspection_date": row[0],
            "event_type": row[1],
            "official_source": None,
            "judgement": None,
            "helped_and_protected": None,
            "leaders_and_managers": None,
        }
        for source, *judgements in db.execute(
            f"""
            SELECT o.source_id, o.judgement, o.helped_and_protected,
                   o.leaders_and_managers
            FROM inspection_observations o JOIN sources s ON s.sha256 = o.source_id
            WHERE o.inspection_id = ? AND s.kind NOT IN ({not_official})
            ORDER BY o.source_rank DESC
            """,
            [inspection_id],
        ):
            found["official_source"] = found["official_source"] or source
            for key, value in zip(
                ("judgement", "helped_and_protected", "leaders_and_managers"),
                judgements,
                strict=True,
            ):
                found[key] = found[key] or value
        details[inspection_id] = found
    return {sha: details[inspection_id] for sha, inspection_id in paired.items()}


def _official_homes(db: Database) -> dict[str, dict]:
    """Per report: the home's spreadsheet entry nearest the inspection date
    (the yearly list first, then in-year inspection tables)."""
    import datetime as dt

    found: dict[str, dict] = {}
    reports = db.execute("SELECT sha256, urn, inspection_date FROM reports").fetchall()
    for table, owner_printed in (
        ("home_snapshots", "owner_as_published"),
        ("home_observations", "(SELECT name FROM owners o WHERE o.id = h.owner)"),
    ):
        for sha, urn, day in reports:
            if sha in found:
                continue
            rows = db.execute(
                f"SELECT as_at, owner, {owner_printed}, places, source_id "
                f"FROM {table} h WHERE urn = ? "
                "AND (owner IS NOT NULL OR places IS NOT NULL) ORDER BY as_at DESC",
                [urn],
            ).fetchall()
            if not rows:
                continue
            if day:
                when = dt.date.fromisoformat(day)
                rows.sort(
                    key=lambda r: abs((dt.date.fromisoformat(r[0][:10]) - when).days)
                )
            _as_at, owner, printed, places, source = rows[0]
            found[sha] = {
                "owner": owner,
                "printed": printed,
                "places": places,
                "source": source,
            }
    return found


def _outcome(report_value: object, official_value: object, same: bool) -> str:
    if official_value is None:
        return "not_checked"
    if report_value is None:
        return "report_empty"
    return "agree" if same else "disagree"


def _checks_of(report: dict, inspection: dict | None, home: dict | None) -> list:
    """(field, report value, official value, official source, outcome)."""
    out = []
    start, end = report["inspection_date"], report["inspection_end_date"]
    shown = f"{start} to {end}" if start and end else start
    inspection = inspection or {}
    official_day = inspection.get("inspection_date")
    source = inspection.get("official_source")
    out.append(
        (
            "inspection_date",
            shown,
            official_day,
            source,
            _outcome(
                start,
                official_day,
                bool(
                    start and official_day and start <= official_day <= (end or start)
                ),
            ),
        )
    )
    kind = inspection.get("event_type")
    out.append(
        (
            "inspection_type",
            report["inspection_type"],
            kind,
            source,
            _outcome(
                report["inspection_type"], kind, report["inspection_type"] == kind
            ),
        )
    )
    for field in ("judgement", "helped_and_protected", "leaders_and_managers"):
        ours, theirs = report[field], inspection.get(field)
        out.append(
            (field, ours, theirs, source, _outcome(ours, theirs, ours == theirs))
        )
    home = home or {}
    provider, owner = report["registered_provider"], home.get("owner")
    out.append(
        (
            "registered_provider",
            provider,
            home.get("printed") or owner,
            home.get("source"),
            _outcome(
                provider, owner, bool(provider) and owner_id(provider or "") == owner
            ),
        )
    )
    places, official_places = report["places"], home.get("places")
    out.append(
        (
            "places",
            None if places is None else str(places),
            None if official_places is None else str(official_places),
            home.get("source"),
            _outcome(places, official_places, places == official_places),
        )
    )
    return out


def record_report_checks(db: Database, *, now: str) -> int:
    """Compare every report with the spreadsheets (see the module's doc) and
    upsert what changed. The caller holds the transaction. Returns how many
    rows were written."""
    if "report_checks" not in db.table_names():
        return 0
    inspections = _official_inspections(db)
    homes = _official_homes(db)
    known = {
        row[0]: tuple(row[1:])
        for row in db.execute(
            "SELECT id, inspection_id, report_value, official_value, "
            "official_source, outcome FROM report_checks"
        )
    }
    changed: list[dict] = []
    cursor = db.execute(
        "SELECT sha256, urn, layout, extractor_version, inspection_date, "
        "inspection_end_date, inspection_type, judgement, helped_and_protected, "
        "leaders_and_managers, registered_provider, places FROM reports"
    )
    names = [d[0] for d in cursor.description]
    for values in cursor.fetchall():
        report = dict(zip(names, values, strict=True))
        sha = report["sha256"]
        inspection = inspections.get(sha)
        for field, ours, theirs, source, outcome in _checks_of(
            report, inspection, homes.get(sha)
        ):
            key = _id(sha, field, report["extractor_version"])
            inspection_id = (inspection or {}).get("id")
            state = (inspection_id, ours, theirs, source, outcome)
            if known.get(key) == state:
                continue
            changed.append(
                {
                    "id": key,
                    "report": sha,
                    "urn": report["urn"],
                    "layout": report["layout"],
                    "extractor_version": report["extractor_version"],
                    "field": field,
                    "inspection_id": inspection_id,
                    "inspection_date": (inspection or {}).get("inspection_date")
                    or report["inspection_date"],
                    "report_value": ours,
                    "official_value": theirs,
                    "official_source": source,
                    "outcome": outcome,
                    "changed_at": now,
                }
            )
    if changed:
        upsert_rows(db, "report_checks", changed, ("id",))
    return len(changed)


def scoreboard(db: Database) -> dict:
    """The figures, as plain data (for the CLI and reports to the team)."""
    by_field = [dict(r) for r in db.query("SELECT * FROM report_accuracy_by_field")]
    incidents = (
        [dict(r) for r in db.query("SELECT * FROM incident_match_accuracy")]
        if "incident_match_accuracy" in db.view_names()
        else []
    )
    return {
        "by_field": by_field,
        "by_layout": [
            dict(r)
            for r in db.query(
                "SELECT * FROM report_accuracy_by_layout ORDER BY field, layout, extractor_version"
            )
        ],
        "disagreements": db.execute(
            "SELECT count(*) FROM report_accuracy_disagreements"
        ).fetchone()[0],
        "incident_matching": incidents,
    }


def as_json(db: Database) -> str:
    return json.dumps(scoreboard(db), indent=2)
