"""Steps of the registry's one migration set (``registry.schema.migrations``)
for the report tables (``reports``, ``report_pages`` with full-text search,
``report_mentions``, ``requirements``, ``report_disagreements``,
``pdf_errors``, ``inspection_reports``) and ``inspections.report_sha256``
(listed after the core step that creates ``inspections``).

Write a new step here and append it to ``registry.schema.migrations.ORDER``;
never edit one that has shipped.
"""

from sqlite_utils import Database

from extract.reports import ERROR_KINDS
from registry.reports.accuracy import create_schema
from registry.schema.steps import Steps

migrations = Steps("registry/schema/reports.py")

MENTION_KINDS = ("missing", "away", "exploitation", "police")


@migrations()
def m001_reports(db: Database) -> None:
    kinds = ", ".join(f"'{k}'" for k in ERROR_KINDS)
    mention_kinds = ", ".join(f"'{k}'" for k in MENTION_KINDS)
    db.executescript(
        f"""
        CREATE TABLE reports (
            sha256 TEXT PRIMARY KEY REFERENCES sources(sha256),
            urn TEXT NOT NULL,
            url TEXT,
            file_name TEXT,
            inspection_date TEXT,
            inspection_end_date TEXT,
            inspection_type TEXT,
            inspection_type_as_published TEXT,
            layout TEXT NOT NULL,
            framework TEXT,
            judgement TEXT,
            judgement_as_published TEXT,
            helped_and_protected TEXT,
            helped_and_protected_as_published TEXT,
            leaders_and_managers TEXT,
            leaders_and_managers_as_published TEXT,
            previous_judgement TEXT,
            previous_inspection_date TEXT,
            enforcement_action_since_last TEXT,
            registered_provider TEXT,
            registered_provider_address TEXT,
            responsible_individual TEXT,
            registered_manager TEXT,
            inspectors TEXT,
            places INTEGER,
            pages INTEGER NOT NULL,
            missing_mentions_count INTEGER NOT NULL DEFAULT 0,
            requirements_count INTEGER NOT NULL DEFAULT 0,
            recommendations_count INTEGER NOT NULL DEFAULT 0,
            problems TEXT,
            inspection_id TEXT,
            extractor_version TEXT NOT NULL,
            extracted_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE report_pages (
            report TEXT NOT NULL REFERENCES reports(sha256),
            page INTEGER NOT NULL,
            urn TEXT,
            text TEXT NOT NULL,
            PRIMARY KEY (report, page)
        ) STRICT;

        CREATE TABLE report_mentions (
            id TEXT PRIMARY KEY,
            urn TEXT NOT NULL,
            report TEXT NOT NULL REFERENCES reports(sha256),
            inspection_date TEXT,
            page INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ({mention_kinds})),
            quote TEXT NOT NULL,
            count INTEGER,
            is_current INTEGER NOT NULL DEFAULT 1
        ) STRICT;

        CREATE TABLE requirements (
            id TEXT PRIMARY KEY,
            urn TEXT NOT NULL,
            report TEXT NOT NULL REFERENCES reports(sha256),
            inspection_date TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('requirement', 'recommendation')),
            number INTEGER NOT NULL,
            text TEXT NOT NULL,
            regulation TEXT,
            due_date TEXT,
            page INTEGER,
            is_current INTEGER NOT NULL DEFAULT 1
        ) STRICT;

        CREATE TABLE report_disagreements (
            id TEXT PRIMARY KEY,
            report TEXT NOT NULL REFERENCES reports(sha256),
            inspection_id TEXT NOT NULL,
            urn TEXT NOT NULL,
            inspection_date TEXT,
            field TEXT NOT NULL,
            report_value TEXT,
            registry_value TEXT,
            registry_source_id TEXT,
            is_resolved INTEGER NOT NULL DEFAULT 0,
            found_at TEXT NOT NULL,
            checked_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE pdf_errors (
            sha256 TEXT PRIMARY KEY REFERENCES sources(sha256),
            file_name TEXT,
            url TEXT,
            error_kind TEXT NOT NULL CHECK (error_kind IN ({kinds})),
            message TEXT NOT NULL,
            extractor_version TEXT NOT NULL,
            failed_at TEXT NOT NULL
        ) STRICT;

        CREATE INDEX idx_reports_urn ON reports(urn, inspection_date);
        CREATE INDEX idx_report_mentions_report ON report_mentions(report);
        CREATE INDEX idx_report_mentions_urn ON report_mentions(urn, kind);
        CREATE INDEX idx_requirements_report ON requirements(report);
        CREATE INDEX idx_requirements_urn ON requirements(urn);
        CREATE INDEX idx_report_disagreements_report ON report_disagreements(report);

        ALTER TABLE inspections ADD COLUMN report_sha256 TEXT REFERENCES reports(sha256);
        CREATE INDEX idx_inspections_report ON inspections(report_sha256);
        """
    )
    db["report_pages"].enable_fts(["text"], create_triggers=True, tokenize="porter")


@migrations()
def m002_inspection_history(db: Database) -> None:
    """The report's "Recent inspection history" table, as JSON."""
    db.execute("ALTER TABLE reports ADD COLUMN inspection_history TEXT")


@migrations()
def m003_pdf_errors_is_current(db: Database) -> None:
    """A file that failed once and was read later (a new extractor version)
    keeps its failure row, marked as no longer current."""
    db.execute(
        "ALTER TABLE pdf_errors ADD COLUMN is_current INTEGER NOT NULL DEFAULT 1"
    )


@migrations()
def m004_report_checks(db: Database) -> None:
    """The accuracy scoreboard: every report field checked against the
    spreadsheets, and its summary views (see ``registry.reports.accuracy``)."""
    create_schema(db)


@migrations()
def m005_inspection_reports(db: Database) -> None:
    """Links between inspections and their report PDFs, kept as evidence
    (`inspection_reports`: which inspection, which report, how it was linked
    and when), so ``inspections.report_sha256`` and ``reports.inspection_id``
    are derived from them (``registry.derive.derive``). The links registries
    already hold are kept."""
    db.executescript(
        """
        CREATE TABLE inspection_reports (
            inspection_id TEXT NOT NULL,
            report_sha256 TEXT NOT NULL REFERENCES reports(sha256),
            linked_by TEXT NOT NULL,
            linked_at TEXT NOT NULL,
            PRIMARY KEY (inspection_id, report_sha256)
        ) STRICT;
        CREATE INDEX idx_inspection_reports_report ON inspection_reports(report_sha256);
        INSERT INTO inspection_reports (inspection_id, report_sha256, linked_by, linked_at)
            SELECT i.id, i.report_sha256, 'urn-and-date',
                   coalesce(r.extracted_at, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
            FROM inspections i JOIN reports r ON r.sha256 = i.report_sha256;
        """
    )
