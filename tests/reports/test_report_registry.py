"""Report PDFs in the registry: `ofsted-homes load` with spreadsheets, linking,
disagreements, full-text search in Datasette, failures kept as data,
idempotence and re-extraction, and the two commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasette.app import Datasette

from extract.reports import EXTRACTOR_VERSION
from registry.cli.main import cli
from registry.loading.files import load_file
from registry.reports.reports import link_reports, load_reports
from registry.schema.db import open_registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PDFS = sorted((FIXTURES / "pdfs").glob("*.pdf"))
SHEET_HEADER = (
    (FIXTURES / "spreadsheets" / "inspections-2017-18-layout.csv").open().readline()
)


def _row(
    urn: str, kind: str, day: str, overall: str, helped: str, leaders: str, n: int
) -> str:
    return (
        f"Ofsted Social Care Provider Webpage,{urn},,Children's home,Active,REDACTED,"
        "REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,North West,North West,Lancashire,"
        f"Lancaster,Private,4,Some Care Ltd,{kind},{day},{day},{10040000 + n},{overall},"
        f",,{helped},{leaders}\n"
    )


@pytest.fixture
def inspections_csv(tmp_path: Path) -> Path:
    """Spreadsheet rows for two fixture reports: one agrees, one does not."""
    path = tmp_path / "inspections-2023-24.csv"
    path.write_text(
        SHEET_HEADER
        + _row(
            "SC123456",
            "Full inspection",
            "07/11/2023",
            "Good",
            "Good",
            "Requires improvement to be good",
            1,
        )
        + _row(
            "2610709",
            "Full inspection",
            "31/10/2023",
            "Requires improvement to be good",
            "Inadequate",
            "Inadequate",
            2,
        )
    )
    return path


def _load(db_path: Path, *files: Path, args: tuple[str, ...] = ()):
    return CliRunner().invoke(
        cli,
        ["load", str(db_path), *map(str, files), "--silent", *args],
        catch_exceptions=False,
    )


def _counts(db) -> dict[str, int]:
    tables = (
        "reports",
        "report_pages",
        "report_mentions",
        "requirements",
        "report_disagreements",
        "pdf_errors",
        "sources",
        "problems",
    )
    return {t: db[t].count for t in tables}


def test_load_puts_reports_beside_the_spreadsheets(
    tmp_path: Path, inspections_csv: Path
) -> None:
    db_path = tmp_path / "registry.db"
    result = _load(db_path, inspections_csv, *PDFS)
    assert result.exit_code == 0, result.output
    db = open_registry(db_path)
    assert db["reports"].count == len(PDFS)
    assert db["report_pages"].count == sum(r["pages"] for r in db["reports"].rows)
    assert db["report_mentions"].count_where("kind = 'missing'") > 5
    assert db["requirements"].count_where("kind = 'requirement'") == 10
    linked = dict(db.execute("select id, report_sha256 from inspections").fetchall())
    assert all(linked.values()) and len(linked) == 2
    good = db["reports"].get(linked["SC123456-2023-11-07-full-inspection"])
    assert good["urn"] == "SC123456" and good["judgement"] == "Good"
    assert good["inspection_id"] == "SC123456-2023-11-07-full-inspection"
    # the 2-day inspection links on its second day too
    split = db["reports"].get(linked["2610709-2023-10-31-full-inspection"])
    assert (split["inspection_date"], split["inspection_end_date"]) == (
        "2023-10-30",
        "2023-11-01",
    )
    disagreements = list(db["report_disagreements"].rows)
    assert [
        (d["urn"], d["field"], d["report_value"], d["registry_value"])
        for d in disagreements
    ] == [("2610709", "judgement", "Inadequate", "Requires improvement to be good")]
    assert db.execute("pragma foreign_key_check").fetchall() == []


def test_loading_and_linking_twice_changes_nothing(
    tmp_path: Path, inspections_csv: Path
) -> None:
    db_path = tmp_path / "registry.db"
    _load(db_path, inspections_csv, *PDFS)
    db = open_registry(db_path)
    before = _counts(db)
    found = [r["found_at"] for r in db["report_disagreements"].rows]
    result = _load(db_path, inspections_csv, *PDFS)
    assert result.exit_code == 0
    rows = list(db["report_disagreements"].rows)
    with db.conn:
        assert link_reports(db) == 0
    assert _counts(db) == before
    assert [r["found_at"] for r in db["report_disagreements"].rows] == found
    assert list(db["report_disagreements"].rows) == rows


def test_a_corrected_spreadsheet_resolves_the_disagreement(
    tmp_path: Path, inspections_csv: Path
) -> None:
    db_path = tmp_path / "registry.db"
    _load(db_path, inspections_csv, *PDFS)
    db = open_registry(db_path)
    with db.conn:
        db.execute(
            "update inspections set judgement = 'Inadequate' where urn = '2610709'"
        )
        link_reports(db)
    (row,) = db["report_disagreements"].rows
    assert row["is_resolved"] == 1  # kept, never deleted
    with db.conn:
        db.execute("update inspections set judgement = 'Good' where urn = '2610709'")
        link_reports(db)
    (row,) = db["report_disagreements"].rows
    assert (row["is_resolved"], row["registry_value"]) == (0, "Good")


def test_reports_before_spreadsheets_link_later(
    tmp_path: Path, inspections_csv: Path
) -> None:
    db_path = tmp_path / "registry.db"
    _load(db_path, *PDFS)
    _load(db_path, inspections_csv)
    db = open_registry(db_path)
    assert db["inspections"].count_where("report_sha256 is not null") == 2


def test_a_bad_pdf_is_kept_as_a_classified_problem(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.pdf"
    bad.write_bytes(PDFS[0].read_bytes()[:1500])
    db = open_registry(tmp_path / "registry.db")
    result = load_file(db, bad)
    assert not result.ok
    assert "truncated" in result.summary or "cut short" in result.summary
    (error,) = db["pdf_errors"].rows
    assert error["error_kind"] == "truncated"
    assert db["reports"].count == 0
    assert db["problems"].count_where("message like 'truncated:%'") == 1


def test_strict_keeps_nothing_of_a_bad_pdf(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.pdf"
    bad.write_bytes(PDFS[0].read_bytes()[:1500])
    db = open_registry(tmp_path / "registry.db")
    assert not load_file(db, bad, strict=True).ok
    assert db["pdf_errors"].count == 0 and db["sources"].count == 0
    results = load_reports(db, [bad, PDFS[0]], strict=True)
    assert sorted(r.ok for r in results) == [False, True]
    assert db["pdf_errors"].count == 0 and db["reports"].count == 1


def test_only_new_files_or_a_new_extractor_version_are_read(tmp_path: Path) -> None:
    db = open_registry(tmp_path / "registry.db")
    first = load_reports(db, PDFS[:3])
    assert [r.skipped for r in first] == [False] * 3
    again = load_reports(db, PDFS[:4])
    assert sorted(r.skipped for r in again) == [False, True, True, True]
    current = db["report_mentions"].count_where("is_current = 1")
    sha = next(iter(db["reports"].rows))["sha256"]
    with db.conn:
        db.execute("update reports set extractor_version = '0' where sha256 = ?", [sha])
    reread = load_reports(db, PDFS[:4])
    assert sorted(r.skipped for r in reread) == [False, True, True, True]
    assert db["reports"].get(sha)["extractor_version"] == EXTRACTOR_VERSION
    assert db["report_mentions"].count_where("is_current = 1") == current


async def test_datasette_searches_report_text(tmp_path: Path) -> None:
    db_path = tmp_path / "registry.db"
    db = open_registry(db_path)
    load_reports(db, PDFS)
    hits = db.execute(
        "select snippet(report_pages_fts, -1, '[', ']', '…', 8) from report_pages_fts "
        "where report_pages_fts match 'exploitation'"
    ).fetchall()
    assert hits and all("[exploitation]" in h[0] for h in hits)
    db.close()
    ds = Datasette([str(db_path)], immutables=[])
    response = await ds.client.get(
        "/registry/report_pages.json?_search=missing&_shape=array"
    )
    assert response.status_code == 200
    rows = response.json()
    assert rows and all("missing" in row["text"].lower() for row in rows)


def test_no_home_address_in_report_tables(tmp_path: Path) -> None:
    db = open_registry(tmp_path / "registry.db")
    for table in ("reports", "report_pages", "report_mentions", "requirements"):
        columns = set(db[table].columns_dict)
        assert not {
            c
            for c in columns
            if "postcode" in c or c in ("address", "latitude", "longitude")
        }
    # the one labelled exception: the registered provider's office address
    assert "registered_provider_address" in db["reports"].columns_dict


def test_extract_report_prints_the_golden_json() -> None:
    name = "full-inspection-2015-fragment-a"
    result = CliRunner().invoke(
        cli, ["extract-report", str(FIXTURES / "pdfs" / f"{name}.pdf")]
    )
    assert result.exit_code == 0, result.output
    golden = json.loads((FIXTURES / "expected" / f"{name}.json").read_text())
    golden.pop("page_texts")
    assert json.loads(result.output) == golden
    with_text = CliRunner().invoke(
        cli,
        [
            "extract-report",
            "--text",
            "--no-sandbox",
            str(FIXTURES / "pdfs" / f"{name}.pdf"),
        ],
    )
    assert len(json.loads(with_text.output)["page_texts"]) == 2


@pytest.mark.parametrize("sandbox", ["--sandbox", "--no-sandbox"])
def test_extract_report_error_is_json(tmp_path: Path, sandbox: str) -> None:
    bad = tmp_path / "page.pdf"
    bad.write_text("<html>Too many requests</html>")
    result = CliRunner().invoke(cli, ["extract-report", sandbox, str(bad)])
    assert result.exit_code == 1
    error = json.loads(result.output)
    assert error["error"] == "not_pdf"
    assert "page.pdf" in error["message"]
    assert "Traceback" not in result.output


def test_load_reports_command(tmp_path: Path) -> None:
    bad = tmp_path / "empty.pdf"
    bad.write_bytes(b"%PDF-1.4\n%%EOF\n")
    db_path = tmp_path / "registry.db"
    result = CliRunner().invoke(
        cli, ["load-reports", str(db_path), *map(str, PDFS[:3]), str(bad)]
    )
    assert result.exit_code == 1
    assert "Loaded 3 reports" in result.output
    assert "1 could not be read" in result.output
    again = CliRunner().invoke(
        cli, ["load-reports", "--silent", str(db_path), *map(str, PDFS[:3])]
    )
    assert again.exit_code == 0 and again.output == ""


@pytest.mark.parametrize("command", ["extract-report", "load-reports"])
def test_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"ofsted-homes {command}" in result.output


def test_a_failure_read_by_a_new_extractor_is_kept_as_history(tmp_path: Path) -> None:
    from registry.provenance import Source, sha256_of
    from registry.reports.reports import write_failure

    db = open_registry(tmp_path / "registry.db")
    pdf = PDFS[0]
    source = Source(pdf, sha256_of(pdf))
    with db.conn:  # as an older extractor left it
        write_failure(db, source, "parse_error", f"{pdf.name}: could not parse")
        db.execute("update pdf_errors set extractor_version = '0'")
    (result,) = load_reports(db, [pdf])
    assert result.ok and not result.skipped
    (error,) = db["pdf_errors"].rows
    assert error["is_current"] == 0
    assert db["reports"].count == 1
    current = db.execute(
        "select count(*) from pdf_errors where is_current = 1"
    ).fetchone()[0]
    assert current + db["reports"].count == 1


@pytest.mark.parametrize("reports_first", [False, True])
def test_an_inspection_without_judgements_takes_them_from_its_report(
    tmp_path: Path, reports_first: bool
) -> None:
    """A monitoring-style row without judgements (as a crawled provider page
    gives them) is filled from the linked report; a judgement a spreadsheet
    gives is never overridden by a report, whatever the load order."""
    sheet = tmp_path / "inspections.csv"
    sheet.write_text(
        SHEET_HEADER
        + _row("SC123456", "Full inspection", "07/11/2023", "", "", "", 1)
        + _row(
            "2610709",
            "Full inspection",
            "31/10/2023",
            "Requires improvement to be good",
            "Inadequate",
            "Inadequate",
            2,
        )
    )
    db_path = tmp_path / "registry.db"
    order = (*PDFS, sheet) if reports_first else (sheet, *PDFS)
    if reports_first:
        assert _load(db_path, *PDFS).exit_code == 0
        assert _load(db_path, sheet).exit_code == 0
    else:
        assert _load(db_path, *order).exit_code == 0
    db = open_registry(db_path)
    filled = db["inspections"].get("SC123456-2023-11-07-full-inspection")
    assert (filled["judgement"], filled["helped_and_protected"]) == ("Good", "Good")
    assert filled["leaders_and_managers"] == "Requires improvement to be good"
    assert db["homes"].get("SC123456")["latest_judgement"] == "Good"
    kept = db["inspections"].get("2610709-2023-10-31-full-inspection")
    assert kept["judgement"] == "Requires improvement to be good"  # the spreadsheet's
    # reports never add inspections of their own
    assert db["inspections"].count == 2
