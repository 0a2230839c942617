"""Loader bombs, sent as an attacker would: tiny workbooks that imply a grid
of billions of cells, and a CSV with one huge field, handed to the real
``ofsted-homes load`` and ``ofsted-homes load-incidents`` commands (a
subprocess with its address space capped, so a regression fails instead of
eating the machine), with a good file after them in the same command.

Each bomb must get a one-line refusal naming the file, the good file must
still load, the command's memory stays bounded, and a command that only
refuses leaves the database byte for byte as it was."""

from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from security.loader_support import (
    ods_bytes,
    ods_repeated_bomb,
    write,
    xlsx_bytes,
    xlsx_far_cell,
)

ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path(sys.executable).with_name("ofsted-homes")
FIXTURES = ROOT / "tests" / "fixtures" / "spreadsheets"
GOOD_CSV = FIXTURES / "providers-at-2025-03-31-layout.csv"
#: Address space of the command under test (children inherit it).
MEMORY_CAP = 1536 << 20
#: Largest resident set the command itself may reach.
MAX_RSS_MB = 700


def _bombs(folder: Path) -> dict[str, Path]:
    return {
        "xfd": write(
            folder / "one-cell-at-XFD1048576.xlsx", xlsx_far_cell("XFD1048576")
        ),
        "zz": write(folder / "one-cell-at-ZZ100000.xlsx", xlsx_far_cell("ZZ100000")),
        "ods": write(folder / "repeated.ods", ods_repeated_bomb()),
        "ods_rows": write(
            folder / "repeated-rows.ods", ods_repeated_bomb(rows=200_000, columns=500)
        ),
        "csv": _long_field_csv(folder / "long-field.csv"),
    }


def _long_field_csv(path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["URN", "Provider", "Incidents"])
        writer.writerow(["SC100001", "Bright Futures Care Ltd", "3"])
        fh.write('SC100002,"' + "A" * 200_000 + '",4\r\n')
    return path


def _run(*args: object, cwd: Path) -> tuple[subprocess.CompletedProcess, int]:
    """The real command, under RLIMIT_AS; returns it and its peak RSS (MB)."""
    rss_file = cwd / "maxrss.txt"
    wrapper = (
        "import resource, subprocess, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))\n"
        "code = subprocess.run(sys.argv[2:]).returncode\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "open(sys.argv[1], 'w').write(str(peak))\n"
        "sys.exit(code)\n"
    )
    env = dict(os.environ, PYTHONFAULTHANDLER="")
    completed = subprocess.run(
        [sys.executable, "-c", wrapper, str(rss_file), str(COMMAND), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    return completed, int(rss_file.read_text())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Error: ")]


def _assert_refused_in_one_line(stderr: str, bombs: dict[str, Path]) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "panicked" not in stderr and "backtrace" not in stderr, stderr[-3000:]
    errors = _error_lines(stderr)
    for bomb in bombs.values():
        mine = [e for e in errors if e.startswith(f"Error: {bomb.name}")]
        assert len(mine) == 1, (bomb.name, errors)
        assert "refused" in mine[0], mine[0]


def _good_xlsx(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    with open(GOOD_CSV, newline="", encoding="utf-8-sig") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path


# ----------------------------------------------------------------- load


def test_load_refuses_every_bomb_and_still_loads_the_good_files(folder):
    from registry.schema.db import open_registry

    bombs = _bombs(folder)
    good_book = _good_xlsx(folder / "providers-at-2025-03-31-layout.xlsx")
    db_path = folder / "registry.db"
    completed, peak = _run(
        "load", db_path, *bombs.values(), good_book, GOOD_CSV, cwd=folder
    )
    assert completed.returncode == 1, completed.stderr[-3000:]
    _assert_refused_in_one_line(completed.stderr, bombs)
    db = open_registry(db_path)
    loaded = {r["file_name"] for r in db.query("select file_name from sources")}
    assert loaded == {good_book.name, GOOD_CSV.name}
    assert db["homes"].count > 0
    assert peak < MAX_RSS_MB, peak


def test_load_of_bombs_only_leaves_the_database_unchanged(folder):
    bombs = _bombs(folder)
    db_path = folder / "registry.db"
    first, _ = _run("load", db_path, GOOD_CSV, cwd=folder)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _sha256(db_path)
    completed, peak = _run("load", db_path, *bombs.values(), cwd=folder)
    assert completed.returncode == 1
    _assert_refused_in_one_line(completed.stderr, bombs)
    assert _sha256(db_path) == before
    assert peak < MAX_RSS_MB, peak


@pytest.mark.parametrize(
    ("bomb", "words"),
    [
        ("xfd", "column 16,384"),
        ("zz", "100,000 rows by 702 columns"),
        ("ods", "column 16,384"),
        ("ods_rows", "200,000 rows by 500 columns"),
        ("csv", "line 3"),
    ],
)
def test_each_refusal_says_where_and_what(folder, bomb, words):
    bombs = _bombs(folder)
    completed, _ = _run("load", folder / "registry.db", bombs[bomb], cwd=folder)
    (line,) = _error_lines(completed.stderr)
    assert line.startswith(f"Error: {bombs[bomb].name}")
    assert words in line


# ------------------------------------------------------- load-incidents


def _registry_with_homes(path: Path) -> Path:
    from registry.schema.db import open_registry

    db = open_registry(path)
    with db.conn:
        db["local_authorities"].insert(
            {"la_code": "E10000017", "old_la_code": "888", "name": "Lancashire"}
        )
        db["owners"].insert({"id": "bright-futures", "name": "Bright Futures Ltd"})
        db["homes"].insert(
            {
                "urn": "SC100001",
                "provision_type": "Children's home",
                "sector": "Private",
                "local_authority": "Lancashire",
                "la_code": "E10000017",
                "places": 6,
                "owner": "bright-futures",
                "status": "active",
            }
        )
    db.conn.close()
    return path


def _good_incidents(path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(
            [["URN", "Year", "Incidents"], ["SC100001", "2022", "12"]]
        )
    return path


@pytest.fixture
def row_key_env(folder, monkeypatch):
    monkeypatch.setenv("OFSTED_HOMES_ROW_KEY_FILE", str(folder / "row-key"))


def test_load_incidents_refuses_every_bomb_and_loads_the_good_file(folder, row_key_env):
    from registry.schema.db import open_registry

    bombs = _bombs(folder)
    db_path = _registry_with_homes(folder / "registry.db")
    good = _good_incidents(folder / "foi.csv")
    completed, peak = _run(
        "load-incidents", db_path, *bombs.values(), good, "--source", "FOI", cwd=folder
    )
    assert completed.returncode == 1, completed.stderr[-3000:]
    _assert_refused_in_one_line(completed.stderr, bombs)
    assert "foi.csv: 1 counts from 1 rows" in completed.stderr
    db = open_registry(db_path)
    assert [r["file_name"] for r in db.query("select * from incident_sources")] == [
        "foi.csv"
    ]
    assert db["incident_counts"].count == 1
    assert peak < MAX_RSS_MB, peak


def test_load_incidents_of_bombs_only_leaves_the_database_unchanged(
    folder, row_key_env
):
    bombs = _bombs(folder)
    db_path = _registry_with_homes(folder / "registry.db")
    first, _ = _run(
        "load-incidents",
        db_path,
        _good_incidents(folder / "foi.csv"),
        "--source",
        "FOI",
        cwd=folder,
    )
    assert first.returncode == 0, first.stderr
    before = _sha256(db_path)
    completed, peak = _run(
        "load-incidents", db_path, *bombs.values(), "--source", "FOI", cwd=folder
    )
    assert completed.returncode == 1
    _assert_refused_in_one_line(completed.stderr, bombs)
    assert _sha256(db_path) == before
    assert peak < MAX_RSS_MB, peak


# -------------------------------------------------------------- backstop


def test_the_child_process_alone_contains_an_aborting_reader(folder):
    """Without the size check, the native reader aborts on the XFD1048576
    bomb; in the memory-limited child that costs the file, not the caller."""
    from extract.errors import UnrecognisedFile
    from extract.tables import _read_in_child

    bomb = write(folder / "one-cell-at-XFD1048576.xlsx", xlsx_far_cell("XFD1048576"))
    with pytest.raises(UnrecognisedFile, match="refused, the spreadsheet reader"):
        _read_in_child(bomb)
    good = write(folder / "good.xlsx", xlsx_bytes({"A1": "URN", "A2": "SC100001"}))
    (sheet,) = _read_in_child(good)
    assert sheet.rows == [["URN"], ["SC100001"]]


# ----------------------------------------------- what must still pass


def test_empty_formatting_repeated_over_a_whole_sheet_is_not_a_bomb(folder):
    """Real workbooks (Ofsted's providers ODS among them) fill every sheet to
    XFD1048576 with empty formatted cells: that is not refused."""
    from extract.tables import read_sheets

    body = (
        '<table:table-row><table:table-cell office:value-type="string">'
        "<text:p>URN</text:p></table:table-cell>"
        '<table:table-cell table:number-columns-repeated="16383"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048575">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )
    path = write(folder / "formatted.ods", ods_bytes(body))
    (sheet,) = read_sheets(path)
    assert sheet.rows == [["URN"]]
    declared = write(
        folder / "declared.xlsx",
        xlsx_bytes({"A1": "URN"}, dimension="A1:XFD1048576"),
    )
    assert read_sheets(declared)[0].rows == [["URN"]]


def test_the_real_workbook_passes_the_size_check():
    from extract.tables import check_workbook_size

    real = Path(os.environ.get("REAL_DATA_DIR", ROOT.parent / "shared" / "real"))
    books = sorted(p for p in real.rglob("*") if p.suffix in (".ods", ".xlsx", ".xls"))
    if not books:
        pytest.skip("REAL_DATA_DIR holds no workbook")
    for book in books:
        check_workbook_size(book)  # raises if refused
