"""The accuracy scoreboard (registry.accuracy): report fields checked against
Ofsted's spreadsheets, on fixture reports loaded by the real loader beside a
spreadsheet built to agree on some and disagree on others; published as
views, a canned query and the /accuracy page."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from net_support import free_port

from extract.reports import EXTRACTOR_VERSION
from registry.cli.main import cli
from registry.publish.serve import make_datasette
from registry.reports.accuracy import record_report_checks, scoreboard
from registry.reports.reports import link_reports
from registry.schema.db import open_registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PDFS = sorted((FIXTURES / "pdfs").glob("*.pdf"))
HEADER = (
    (FIXTURES / "spreadsheets" / "inspections-2017-18-layout.csv").open().readline()
)


def _row(urn, kind, day, overall, helped, leaders, owner, places, n) -> str:
    return (
        f"Ofsted Social Care Provider Webpage,{urn},,Children's home,Active,REDACTED,"
        "REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,North West,North West,Lancashire,"
        f"Lancaster,Private,{places},{owner},{kind},{day},{day},{10050000 + n},"
        f"{overall},,,{helped},{leaders}\n"
    )


# What the fixture reports say (tests/fixtures/expected) against the rows below:
#  SC123456 (SCCIF, 7-8 Nov 2023): everything agrees ("Ltd" is "Limited").
#  2610709 (SCCIF, 30 Oct-1 Nov 2023): overall Inadequate in the report,
#    Requires improvement in the sheet; another owner; 6 places, not 5.
#  SC041234 (2014, 19-20 May 2014): the sheet dates it 23 May, so the report is
#    not linked and is compared with the nearest inspection: the date differs.
#  1027158 (interim, 12 Mar 2019): the sheet calls it a full inspection judged
#    Good; the report an interim one, sustained effectiveness.
#  SC987654 (assurance visit, 1 Dec 2020): the sheet has a judgement the
#    report does not give: the reader's field is empty.
ROWS = [
    (
        "SC123456",
        "Full inspection",
        "07/11/2023",
        "Good",
        "Good",
        "Requires improvement to be good",
        "Horizon Care and Education Group Ltd",
        3,
    ),
    (
        "2610709",
        "Full inspection",
        "31/10/2023",
        "Requires improvement to be good",
        "Inadequate",
        "Inadequate",
        "Other Care Ltd",
        6,
    ),
    (
        "SC041234",
        "Full inspection",
        "23/05/2014",
        "Adequate",
        "Adequate",
        "Good",
        "Bluebell Residential Care Ltd",
        6,
    ),
    (
        "1027158",
        "Full inspection",
        "12/03/2019",
        "Good",
        "Good",
        "Good",
        "Northamptonshire County Council",
        2,
    ),
    (
        "SC987654",
        "Assurance visit",
        "01/12/2020",
        "Good",
        "",
        "",
        "Horizon Care and Education Group Limited",
        3,
    ),
]


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("accuracy")
    sheet = folder / "inspections-2023-24.csv"
    sheet.write_text(
        HEADER + "".join(_row(*row, n) for n, row in enumerate(ROWS)), encoding="utf-8"
    )
    path = folder / "registry.db"
    result = CliRunner().invoke(
        cli,
        ["load", str(path), str(sheet), *map(str, PDFS), "--silent"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return path


def _copy(registry: Path, tmp_path: Path) -> Path:
    """A copy through SQLite's backup (the registry is in WAL mode)."""
    (tmp_path / "copy").mkdir()
    path = tmp_path / "copy" / "registry.db"
    source, target = sqlite3.connect(registry), sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    return path


def _outcomes(db) -> dict[tuple[str, str], tuple]:
    return {
        (r["urn"], r["field"]): (r["outcome"], r["report_value"], r["official_value"])
        for r in db.query("select * from report_checks")
    }


def test_every_field_of_every_report_is_checked(registry: Path) -> None:
    db = open_registry(registry)
    assert db["report_checks"].count == 7 * len(PDFS)
    assert {r["extractor_version"] for r in db["report_checks"].rows} == {
        EXTRACTOR_VERSION
    }
    checks = _outcomes(db)
    # the report that agrees in everything
    assert {checks["SC123456", f][0] for f in _fields()} == {"agree"}
    # the sheet's "Ltd" is the same owner as the report's "Limited"
    assert checks["SC123456", "registered_provider"][1] == (
        "Horizon Care and Education Group Limited"
    )
    # built to disagree
    assert checks["2610709", "judgement"] == (
        "disagree",
        "Inadequate",
        "Requires improvement to be good",
    )
    assert checks["2610709", "helped_and_protected"][0] == "agree"
    assert checks["2610709", "registered_provider"][0] == "disagree"
    assert checks["2610709", "places"] == ("disagree", "5", "6")
    assert checks["2610709", "inspection_date"] == (
        "agree",
        "2023-10-30 to 2023-11-01",
        "2023-10-31",
    )
    assert checks["SC041234", "inspection_date"] == (
        "disagree",
        "2014-05-19 to 2014-05-20",
        "2014-05-23",
    )
    assert checks["SC041234", "judgement"][0] == "agree"
    assert checks["1027158", "inspection_type"] == (
        "disagree",
        "Interim inspection",
        "Full inspection",
    )
    assert checks["1027158", "judgement"] == (
        "disagree",
        "Sustained effectiveness",
        "Good",
    )
    assert checks["SC987654", "judgement"] == ("report_empty", None, "Good")
    assert checks["SC987654", "helped_and_protected"][0] == "not_checked"
    # no spreadsheet row at all: nothing to compare with
    assert {checks["SC035111", f][0] for f in _fields()} == {"not_checked"}


def _fields() -> tuple[str, ...]:
    from registry.reports.accuracy import FIELDS

    return FIELDS


def test_the_scoreboard_counts_them(registry: Path) -> None:
    db = open_registry(registry)
    board = {r["field"]: r for r in scoreboard(db)["by_field"]}
    judgement = board["judgement"]
    # agree: SC123456, SC041234; disagree: 2610709, 1027158; empty: SC987654
    assert (
        judgement["compared"],
        judgement["agree"],
        judgement["disagree"],
        judgement["report_empty"],
    ) == (5, 2, 2, 1)
    assert judgement["agree_pct"] == 50.0 and judgement["right_of_compared_pct"] == 40.0
    assert (
        board["inspection_date"]["agree"],
        board["inspection_date"]["disagree"],
    ) == (
        4,
        1,
    )
    assert board["places"]["disagree"] == 1
    layouts = {
        (r["field"], r["layout"]): r["disagree"]
        for r in db.query("select * from report_accuracy_by_layout")
    }
    assert layouts["judgement", "interim"] == 1 and layouts["judgement", "2014"] == 0
    listed = {
        (r["urn"], r["field"])
        for r in db.query("select * from report_accuracy_disagreements")
    }
    assert listed == {
        ("2610709", "judgement"),
        ("2610709", "registered_provider"),
        ("2610709", "places"),
        ("SC041234", "inspection_date"),
        ("1027158", "inspection_type"),
        ("1027158", "judgement"),
    }
    # the older table of judgement disagreements still lists its linked case
    assert {(r["urn"], r["field"]) for r in db["report_disagreements"].rows} >= {
        ("2610709", "judgement")
    }


def test_checking_again_changes_nothing(registry: Path, tmp_path: Path) -> None:
    db = open_registry(_copy(registry, tmp_path))
    before = list(db.query("select * from report_checks order by id"))
    assert len(before) == 7 * len(PDFS)
    with db.conn:
        link_reports(db)
        assert record_report_checks(db, now="later") == 0
    assert list(db.query("select * from report_checks order by id")) == before


def test_a_corrected_spreadsheet_changes_the_check_and_keeps_the_row(
    registry: Path, tmp_path: Path
) -> None:
    db = open_registry(_copy(registry, tmp_path))
    count = db["report_checks"].count
    with db.conn:
        db.execute(
            "update inspection_observations set judgement = 'Inadequate' "
            "where urn = '2610709'"
        )
        assert record_report_checks(db, now="later") == 1
    assert _outcomes(db)["2610709", "judgement"][0] == "agree"
    assert db["report_checks"].count == count


def test_a_new_reader_version_adds_its_own_rows(registry: Path, tmp_path: Path):
    db = open_registry(_copy(registry, tmp_path))
    with db.conn:
        db.execute(
            "update reports set extractor_version = 'next' where urn = '2610709'"
        )
        assert record_report_checks(db, now="later") == 7
    versions = {
        r["extractor_version"]
        for r in db.query("select * from report_checks where urn = '2610709'")
    }
    assert versions == {EXTRACTOR_VERSION, "next"}
    # the current view counts each report once, with its current reading
    board = {r["field"]: r for r in scoreboard(db)["by_field"]}
    assert board["judgement"]["compared"] == 5


async def test_accuracy_page_and_query(registry: Path, tmp_path: Path) -> None:
    # a copy: other tests hold the registry open, with changes in its WAL
    ds = make_datasette(_copy(registry, tmp_path))
    page = await ds.client.get("/accuracy")
    assert page.status_code == 200
    html = page.text
    assert "How far to trust what the registry reads from reports" in html
    assert '<tr data-field="judgement">' in html
    assert "Requires improvement to be good" in html  # a disagreement listed
    assert "6 disagreements" in html
    assert "/home/2610709" in html
    query = await ds.client.get(
        "/registry/report_accuracy.json?field=judgement&_shape=array"
    )
    assert query.status_code == 200
    rows = query.json()
    assert {r["field"] for r in rows} == {"judgement"}
    assert sum(r["disagree"] for r in rows) == 2
    assert sum(r["agree"] for r in rows) == 2


async def test_accuracy_page_on_an_empty_registry(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    open_registry(path).close()
    page = await make_datasette(path).client.get("/accuracy")
    assert page.status_code == 200
    assert "No report has been compared yet" in page.text


@pytest.mark.slow
async def test_scoreboard_on_the_sample_crawl(tmp_path: Path) -> None:
    """The demo path: crawl the sample site, read every report, check them.
    The sample site draws its reports from its own spreadsheets, so every
    checked field agrees; a spreadsheet changed afterwards shows at once."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    folder = tmp_path / "demo"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from registry.cli.main import cli; cli()",
            "demo",
            "--no-serve",
            "--silent",
            "--homes",
            "8",
            "--site-port",
            str(free_port()),
            "--dir",
            str(folder),
        ],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
    )
    path = folder / "registry.db"
    db = open_registry(path)
    reports = db["reports"].count
    assert reports > 8
    assert db["report_checks"].count == 7 * reports
    board = {r["field"]: r for r in scoreboard(db)["by_field"]}
    for field in ("inspection_date", "inspection_type", "registered_provider"):
        assert board[field]["agree"] == reports, field
    assert board["places"]["agree"] + board["places"]["not_checked"] == reports
    assert all(r["disagree"] == 0 and r["report_empty"] == 0 for r in board.values())
    assert board["judgement"]["agree"] > 0
    # a spreadsheet that says otherwise
    (inspection,) = db.execute(
        "select c.inspection_id from report_checks c where c.field = 'judgement' "
        "and c.outcome = 'agree' order by c.inspection_id limit 1"
    ).fetchone()
    with db.conn:
        db.execute(
            "update inspection_observations set judgement = 'Inadequate' "
            "where inspection_id = ? and source_id in "
            "(select sha256 from sources where kind not in ('report', 'provider-page'))",
            [inspection],
        )
        assert record_report_checks(db, now="later") == 1
    db.close()
    page = (await make_datasette(path).client.get("/accuracy")).text
    assert "1 disagreement." in page
    # the crawl's own monitors, beside the reader's scoreboard
    assert "The last crawl of Ofsted's reports site" in page
    assert "provider.fetched" in page
    assert '<td data-label="The spreadsheet says">Inadequate</td>' in page


def test_incident_matching_shares(tmp_path: Path, monkeypatch) -> None:
    """Incident rows matched by URN, by name and place, in review or not at
    all, as incident_match_accuracy counts them (the real loader and matcher)."""
    from incidents.conftest import build_registry, write_csv

    from registry.incidents.incidents import load_incidents
    from registry.incidents.matching import ROW_KEY_ENV

    monkeypatch.setenv(ROW_KEY_ENV, str(tmp_path / "row-key"))
    db = build_registry(tmp_path / "registry.db")
    by_urn = write_csv(
        tmp_path / "by-urn.csv",
        [
            ["URN", "Year", "Missing incidents", "Children"],
            ["SC100001", "2022", "14", "6"],
            ["SC 100002", "2022", "3", "2"],
            ["1000003.0", "2022", "9", "1"],
            ["SC999999", "2022", "7", "3"],  # not in the registry
        ],
    )
    load_incidents(db, by_urn, source_name="FOI by URN", licence="OGL v3.0")
    by_name = write_csv(
        tmp_path / "by-name.csv",
        [
            [
                "Provider",
                "Local authority",
                "Beds",
                "Financial year",
                "No. of missing episodes",
            ],
            ["Kingfisher Care Group Limited", "Birmingam", 8, "2022/23", 22],
            ["Unknown Care Co", "Kent", 3, "2022/23", 8],
        ],
    )
    load_incidents(db, by_name, source_name="FOI by name", mapping={"Beds": "places"})
    shares = {
        r["source_name"]: r for r in db.query("select * from incident_match_accuracy")
    }
    assert (
        shares["FOI by URN"]["rows"],
        shares["FOI by URN"]["by_urn"],
        shares["FOI by URN"]["by_urn_pct"],
        shares["FOI by URN"]["not_matched_pct"],
    ) == (4, 3, 75.0, 25.0)
    assert (
        shares["FOI by name"]["by_name"],
        shares["FOI by name"]["unmatched"],
        shares["FOI by name"]["by_name_pct"],
    ) == (1, 1, 50.0)
