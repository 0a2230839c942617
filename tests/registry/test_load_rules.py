"""The loading rules: recognised by content, one transaction per file, no-op
reloads, order independence, problems as data, strict mode, clear refusals."""

import csv
import io
import os
import zipfile

from registry_support import FIXTURES, dump, fixture, run_load

from registry.schema.db import open_registry

ALL_FIXTURES = sorted(FIXTURES.glob("*.csv"))


def test_prints_one_line_per_file_and_a_total(db_path):
    result = run_load(
        db_path,
        fixture("providers-at-2025-03-31-layout.csv"),
        fixture("dfe-la-missing-release-2024.csv"),
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        "providers-at-2025-03-31-layout.csv: providers at 2025-03-31, 6 homes with 29 "
        "places; 0 problems (1 other providers skipped)",
        "dfe-la-missing-release-2024.csv: DfE missing/away statistics by local authority "
        "responsible, years to 31 March 2023-2024 (release 2024), 22 figures "
        "(8 suppressed), 0 problems",
    ]
    assert "Total: 2 loaded, 0 already loaded, 0 refused" in result.stderr


def test_silent_prints_no_chatter(db_path, tmp_path):
    result = run_load(db_path, *ALL_FIXTURES[:3], args=("--silent",))
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout == ""  # nothing per file
    assert open_registry(db_path)["sources"].count == 3
    # a refusal is still said, in one line
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused = run_load(db_path, empty, args=("--silent",))
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr.splitlines() == ["Error: empty.csv: the file is empty"]


def test_loading_the_same_file_again_is_a_no_op(db_path):
    run_load(db_path, *ALL_FIXTURES)
    before = dump(db_path)
    result = run_load(db_path, *ALL_FIXTURES)
    assert result.exit_code == 0
    assert result.stdout.count("already loaded (same SHA-256), skipped") == len(
        ALL_FIXTURES
    )
    assert dump(db_path) == before


def test_any_load_order_gives_the_same_registry(tmp_path):
    forward, backward = tmp_path / "a.db", tmp_path / "b.db"
    assert run_load(forward, *ALL_FIXTURES).exit_code == 0
    for path in reversed(ALL_FIXTURES):  # one at a time, newest first
        assert run_load(backward, path).exit_code == 0
    assert dump(forward) == dump(backward)


def test_homes_take_attributes_from_the_newest_source(db_path):
    # 2021 says Lewisham home 2590934 is owned by "Zone Central Limited"; the
    # 2025 snapshot says "Zone Central Ltd" and has places 2.
    run_load(db_path, fixture("providers-at-2025-03-31-layout.csv"))
    run_load(db_path, fixture("providers_at_31_march_2021-layout.csv"))
    db = open_registry(db_path)
    home = db["homes"].get("2590934")
    assert home["first_seen"] == "2021-03-31"
    assert home["last_seen"] == "2025-03-31"
    assert home["latest_judgement"] == "Requires improvement to be good"
    assert home["owner"] == "zone-central-ltd"
    assert db["owners"].get("zone-central-ltd")["name"] == "Zone Central Limited"
    durham = db["homes"].get("SC064050")
    assert durham["local_authority"] == "County Durham"
    assert durham["la_code"] == "E06000047"
    assert durham["is_independent"] == 0
    snapshots = [
        r["as_at"] for r in db["home_snapshots"].rows_where("urn = ?", ["SC064050"])
    ]
    assert sorted(snapshots) == ["2021-03-31", "2025-03-31"]


def test_one_inspection_reported_by_several_files_is_one_row(db_path):
    run_load(
        db_path,
        fixture("providers_at_31_march_2021-layout.csv"),
        fixture("inspections-2019-20-layout.csv"),
        fixture("inspections-in-year-2023-24-layout.csv"),
    )
    db = open_registry(db_path)
    rows = list(
        db["inspections"].rows_where(
            "urn = ? and inspection_date = ?", ["SC064050", "2019-10-21"]
        )
    )
    assert len(rows) == 1
    assert rows[0]["event_number"] == "10098497"
    assert rows[0]["framework"] == "SCCIF"
    observations = db["inspection_observations"].count_where(
        "inspection_id = ?", [rows[0]["id"]]
    )
    assert observations == 3


def test_local_authorities_are_matched_across_reorganisations(db_path):
    run_load(db_path, *ALL_FIXTURES)
    db = open_registry(db_path)
    la = {r["urn"]: r["la_code"] for r in db.query("select urn, la_code from homes")}
    assert la["SC999001"] == "E06000023"  # "Bristol, City of"
    assert la["SC045123"] == "E08000013"  # "St. Helens"
    assert la["SC777001"] == "E06000058"  # "Bournemouth, Christchurch & Poole" (2024)
    assert la["SC888002"] == "E10000021"  # Northamptonshire, before its 2021 split
    assert la["SC007956"] == "E10000023"  # North Yorkshire county council in 2016
    snapshot = db["home_snapshots"].get(("SC777001", "2021-03-31"))
    assert snapshot["la_code"] == "E06000029" or snapshot["la_code"] == "E06000058"
    assert db["local_authorities"].count >= 160
    bcp = db["local_authorities"].get("E06000058")
    assert bcp["valid_from"] == "2019-04-01"
    assert (
        db["local_authorities"].get("E10000021")["replaced_by"] == "E06000061 E06000062"
    )


def test_two_releases_of_the_same_year_are_both_kept(db_path):
    run_load(
        db_path,
        fixture("dfe-la-missing-release-2024.csv"),
        fixture("dfe-la-missing-release-2023-lowercase.csv"),
    )
    db = open_registry(db_path)
    both = db.execute(
        "select release, value from la_missing_stats where year = 2023 and "
        "area_code = 'E92000001' and measure = 'missing_incidents' order by release"
    ).fetchall()
    assert both == [("2023", 81890.0), ("2024", 82110.0)]
    latest = db.execute(
        "select release, value from la_missing_stats_latest where year = 2023 and "
        "area_code = 'E92000001' and measure = 'missing_incidents'"
    ).fetchall()
    assert latest == [("2024", 82110.0)]


def test_suppressed_cells_are_never_zero(db_path):
    run_load(db_path, fixture("dfe-la-missing-release-2024.csv"))
    db = open_registry(db_path)
    rows = db.execute(
        "select symbol, count(*), sum(value is null) from la_missing_stats "
        "where symbol is not null group by symbol order by symbol"
    ).fetchall()
    assert rows == [("c", 2, 2), ("k", 2, 2), ("x", 2, 2), ("z", 2, 2)]


def _bad_cells_file(tmp_path):
    text = fixture("providers-at-2025-03-31-layout.csv").read_text()
    text = text.replace("25/06/2020", "31/13/2020")  # registration date not a date
    text = text.replace(
        ",Outstanding,Good,Good,Outstanding,", ",Brilliant,Good,Good,Outstanding,"
    )
    text = text.replace(
        "Ofsted Social Care Provider Webpage,2775403,",
        "Ofsted Social Care Provider Webpage,27754,",
    )
    path = tmp_path / "providers-with-bad-cells.csv"
    path.write_text(text)
    return path


def test_bad_cells_load_with_null_and_a_problem_row(tmp_path, db_path):
    path = _bad_cells_file(tmp_path)
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    db = open_registry(db_path)
    problems = {(r["row"], r["column"], r["value"]) for r in db["problems"].rows}
    assert (5, "registration_date", "31/13/2020") in problems
    assert (7, "overall", "Brilliant") in problems
    assert (9, "URN", "27754") in problems  # spreadsheet row, not CSV line
    assert db["homes"].get("2590934")["registration_date"] is None
    assert db["homes"].get("SC045123")["latest_judgement"] is None
    assert "3 problems" in result.stdout


def test_strict_refuses_the_file_and_keeps_nothing(tmp_path, db_path):
    run_load(db_path, fixture("dfe-la-missing-release-2024.csv"))
    before = dump(db_path)
    result = run_load(db_path, _bad_cells_file(tmp_path), args=("--strict",))
    assert result.exit_code == 1
    assert (
        "providers-with-bad-cells.csv row 5, column registration_date" in result.stderr
    )
    assert "without --strict" in result.stderr
    assert dump(db_path) == before


def test_a_file_with_no_date_asks_for_as_at(tmp_path, db_path):
    rows = list(
        csv.reader(
            io.StringIO(fixture("providers_at_31_march_2021-layout.csv").read_text())
        )
    )
    path = tmp_path / "providers.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    result = run_load(db_path, path)
    assert result.exit_code == 1
    assert "Pass --as-at YYYY-MM-DD" in result.stderr
    result = run_load(db_path, path, args=("--as-at", "2021-03-31"))
    assert result.exit_code == 0, result.output
    assert "providers at 2021-03-31" in result.stdout
    assert run_load(db_path, path, args=("--as-at", "31/03/2021")).exit_code == 2


def test_windows_1252_with_curly_apostrophes(tmp_path, db_path):
    text = (
        fixture("inspections-2017-18-layout.csv")
        .read_text()
        .replace("Children's", "Children’s")
    )
    path = tmp_path / "inspections-2017-18-cp1252.csv"
    path.write_bytes(text.encode("cp1252"))
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    assert "4 inspection events at 3 homes" in result.stdout


def test_tab_separated_export(tmp_path, db_path):
    rows = list(
        csv.reader(io.StringIO(fixture("inspections-2015-16-layout.csv").read_text()))
    )
    path = tmp_path / "inspections-2015-16.txt"
    with open(path, "w", newline="") as fh:
        csv.writer(fh, delimiter="\t").writerows(rows)
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    assert "3 inspection events at 2 homes" in result.stdout


def _xlsx(path, sheets):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def bad_files(tmp_path):
    """At least 20 files a user might hand us by mistake, with what the error
    must say."""
    good = fixture("providers-at-2025-03-31-layout.csv").read_bytes()
    files = {
        "empty.csv": (b"", "the file is empty"),
        "random.bin": (os.urandom(2048) + b"\x00", "binary content"),
        "picture.png": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "binary content"),
        "report.pdf.csv": (b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n", None),
        "page.html": (
            b"<!doctype html><html><body><h1>Not found</h1></body></html>",
            "not a file we recognise",
        ),
        "data.json": (b'{"urn": "SC064050", "places": 4}', "not a file we recognise"),
        "weather.csv": (
            b"date,temperature\n2024-01-01,4\n2024-01-02,5\n",
            "not a file we recognise",
        ),
        "header-only.csv": (b"Web link,URN,Provision type\n", "header"),
        "no-urn.csv": (
            b"Provision type,Local authority,Places\nChildren's home,Kent,4\n",
            "not a file we recognise",
        ),
        "one-line.txt": (b"hello", "not a file we recognise"),
        "semicolon-other.csv": (b"a;b;c\n1;2;3\n", "not a file we recognise"),
        "truncated.xlsx": (b"PK\x03\x04" + b"\x14\x00" * 40, "cannot be opened"),
        "garbage-ods.ods": (b"PK\x03\x04garbage" * 10, "cannot be opened"),
        "utf16.csv": ("Web link,URN\nx,SC064050\n".encode("utf-16"), "binary content"),
        "dfe-unknown.csv": (
            b"time_period,geographic_level,number,widget\n2024,National,3,a\n",
            "not a file we recognise",
        ),
        "nca-like-but-other.csv": (b"force,value\nKent,3\n", "not a file we recognise"),
        "markdown.md": (
            b"# Children's homes\n\nNothing to load here.\n",
            "not a file we recognise",
        ),
        "xml.xml": (
            b"<?xml version='1.0'?><homes><home urn='SC064050'/></homes>",
            "not a file we recognise",
        ),
        "half-csv.csv": (good[: len(good) // 3], None),
    }
    paths = {}
    for name, (data, message) in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths[path] = message
    paths[_zip(tmp_path / "archive.zip", {"inside.csv": good})] = "ZIP archive"
    paths[
        _xlsx(
            tmp_path / "no-table.xlsx",
            {"Cover": [["Children's social care data"]], "Notes": [["Note"]]},
        )
    ] = "none of this workbook's sheets (Cover, Notes)"
    paths[
        _xlsx(
            tmp_path / "no-urn.xlsx",
            {"Data": [["Provision type", "Places"], ["Children's home", 4]]},
        )
    ] = "none of this workbook's sheets (Data)"
    return paths


def test_bad_files_are_refused_clearly_and_others_still_load(tmp_path, db_path):
    corpus = bad_files(tmp_path)
    assert len(corpus) >= 20
    good = fixture("dfe-la-missing-release-2024.csv")
    result = run_load(db_path, *corpus, good)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    refused = {line.split(": ")[1] for line in errors}
    db = open_registry(db_path)
    for path, message in corpus.items():
        if message is None:  # may load or be refused; either way, one clear line
            continue
        assert path.name in refused, f"{path.name} was not refused: {result.output}"
        line = next(e for e in errors if e.split(": ")[1] == path.name)
        assert message in line, line
        assert "Traceback" not in line
    assert "dfe-la-missing-release-2024.csv: DfE" in result.stdout
    # refused files leave nothing behind: only the good file is a source
    names = {r["file_name"] for r in db["sources"].rows}
    assert "dfe-la-missing-release-2024.csv" in names
    assert names.isdisjoint({p.name for p, m in corpus.items() if m})
    assert "Traceback" not in result.output


def test_a_failure_half_way_keeps_nothing_of_that_file(tmp_path, db_path):
    # a workbook whose second table has a bad cell: under --strict the first
    # table's rows must not be kept either
    good = list(
        csv.reader(
            io.StringIO(fixture("providers-at-2025-03-31-layout.csv").read_text())
        )
    )
    bad = list(
        csv.reader(
            io.StringIO(fixture("inspections-in-year-2023-24-layout.csv").read_text())
        )
    )
    bad[4][22] = "not a date"
    path = _xlsx(
        tmp_path / "two-tables.xlsx",
        {"Provider_level_at_31_Mar_2025": good, "Provider_level_in_year_2023-24": bad},
    )
    result = run_load(db_path, path, args=("--strict",))
    assert result.exit_code == 1
    assert "Provider_level_in_year_2023-24" in result.stderr
    db = open_registry(db_path)
    assert db["homes"].count == 0
    assert db["sources"].count == 0
    assert run_load(db_path, path).exit_code == 0
    # every write publishes a new file: read the registry as published now
    db = open_registry(db_path)
    assert db["homes"].count == 7  # 6 in the providers table + SC777001


def test_rows_are_never_deleted(db_path):
    run_load(db_path, fixture("providers_at_31_march_2021-layout.csv"))
    db = open_registry(db_path)
    urns = {r["urn"] for r in db["homes"].rows}
    inspections = db["inspections"].count
    run_load(db_path, fixture("providers-at-2025-03-31-layout.csv"))  # lacks SC777001
    after = {r["urn"] for r in db["homes"].rows}
    assert urns <= after
    assert "SC777001" in after
    assert db["inspections"].count >= inspections


def test_no_replace_in_the_code_base():
    import subprocess

    hits = subprocess.run(
        [
            "git",
            "grep",
            "-nE",
            "replace=True|INSERT OR REPLACE|REPLACE INTO",
            "--",
            "*.py",
            ":!tests/*",
        ],
        capture_output=True,
        text=True,
        cwd=FIXTURES.parent.parent.parent,
    ).stdout
    assert hits == ""


def test_a_load_refuses_while_another_writer_holds_the_lock(
    db_path,
):
    from registry.lock import refresh_lock

    with refresh_lock(db_path):
        result = run_load(db_path, fixture("dfe-la-missing-release-2024.csv"))
    assert result.exit_code == 2
    assert "another refresh or load is writing to it" in result.stderr
    assert run_load(db_path, fixture("dfe-la-missing-release-2024.csv")).exit_code == 0
