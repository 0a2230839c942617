"""Build a registry ten times today's size through the real loader.

The real Ofsted files ($REAL_DATA_DIR/ofsted) are four releases; the registry
the team measures "today" is all releases 2014-2025 (about 5,400 homes,
28,300 list rows, 36,800 inspections and 1,800 owners). This script makes that
shape, then multiplies it:

* **releases**: each real providers list and in-year inspections table is also
  written re-dated by whole years (the title row and the file name; in an
  in-year table every date cell too), so there is one list per 31 March
  2017-2025 and in-year tables for 2014-15 to 2016-17 and 2021-22 to 2024-25;
* **ten times**: every row is written ``--copies`` times into the same file,
  copy 0 with its real URN and owner, copy k with a URN no real home has and
  the owner's name followed by `` (copy k)``; local authorities, regions,
  sectors and judgements are kept, so each LA has ten times its homes.

Every file is a CSV (the readers take CSV as they take ODS/XLSX), loaded with
``ofsted-homes load`` together with the real DfE files, unchanged. Nothing is
written outside ``OUT``.

Usage::

    .venv/bin/python bench/build_10x.py OUT [--copies 10]

prints the counts next to the targets (54k homes, 283k snapshots, 368k
inspections, 18k owners at 10 copies) and leaves ``OUT/registry.db``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.normalise import clean_text, fold  # noqa: E402
from extract.ofsted import header_index, is_ofsted_table  # noqa: E402
from extract.tables import read_sheets  # noqa: E402

# (real file, sheet name or None for a CSV, kind, its year, year shifts):
# providers lists at 31 March of the year, in-year tables starting in it.
# A re-dated list keeps its inspection dates (only its title and name move):
# its latest inspections are then mostly ones the in-year tables also give, as
# in the real series, and the registry keeps today's inspections per home.
RELEASES = [
    ("providers_at_31_march_2021.csv", None, "providers", 2021, (-4, -3, -2, -1, 0)),
    (
        "providers_at_31_march_2025.ods",
        "Provider_level_at_31_Mar_2025",
        "providers",
        2025,
        (-3, -2, -1, 0),
    ),
    ("inspections_in_year_2014-15.csv", None, "in_year", 2014, (0, 1, 2)),
    ("inspections_in_year_2023-24.csv", None, "in_year", 2023, (-2, -1, 0)),
    (
        "providers_at_31_march_2025.ods",
        "Provider_level_in_year_2024-25",
        "in_year",
        2024,
        (0,),
    ),
]
# "today" x 10, as the issue measured it
TARGETS = {
    "homes": 54_000,
    "home_snapshots": 283_000,
    "inspections": 368_000,
    "owners": 18_000,
}
DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
YEARS = re.compile(r"\b(20\d\d)(?:(\s*[-_–/]\s*)(\d\d))?\b")


def shift_date(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def shift_text(text: str, years: int) -> str:
    """'... 2025 - Provider level in year 2024-25' moved by ``years``."""

    def move(match: re.Match) -> str:
        start = int(match[1]) + years
        if match[3]:
            return f"{start}{match[2]}{(start + 1) % 100:02d}"
        return str(start)

    return YEARS.sub(move, text) if years else text


def cell_text(value: object, years: int) -> str:
    """A cell as a CSV string, its date (if any) moved by ``years``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return shift_date(value, years).strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    match = DATE.match(text.strip())
    if match and years:
        day = dt.date(int(match[3]), int(match[2]), int(match[1]))
        return shift_date(day, years).strftime("%d/%m/%Y")
    return text


class Urns:
    """Copy k of a real URN: the real one for k = 0, else a URN of the same
    form (SC + 6 digits, or 7 digits) that no real home and no other copy has,
    the same in every file."""

    def __init__(self, real: set[str]):
        self.taken = set(real)
        self.given: dict[tuple[str, int], str] = {}

    def __call__(self, urn: str, copy: int) -> str:
        if copy == 0 or not urn:
            return urn
        key = (urn, copy)
        if key not in self.given:
            if urn.startswith("SC"):
                prefix, digits, space = "SC", urn[2:], 10**6
            else:
                prefix, digits, space = "", urn, 10**7
            number = (int(digits) + copy * 104_729) % space
            while True:
                candidate = f"{prefix}{number:0{len(digits)}d}"
                if candidate not in self.taken and (prefix or number >= 10**6):
                    break
                number = (number + 1) % space
            self.taken.add(candidate)
            self.given[key] = candidate
        return self.given[key]


def normal_urn(value: object) -> str:
    text = cell_text(value, 0).strip().upper()
    return text if re.fullmatch(r"SC\d{6}|\d{7}", text) else ""


def table_of(path: Path, sheet_name: str | None):
    for sheet in read_sheets(path):
        if sheet.name == sheet_name and is_ofsted_table(sheet):
            return sheet
    raise SystemExit(f"{path.name}: no Ofsted table in sheet {sheet_name!r}")


def columns_of(header: list[object]) -> tuple[int, int | None]:
    names = [fold(clean_text(c) or "") for c in header]
    urn = names.index("urn")
    owner = next((i for i, n in enumerate(names) if "owns the provider" in n), None)
    return urn, owner


def out_name(kind: str, year: int) -> str:
    if kind == "providers":
        return f"providers_at_31_march_{year}_x.csv"
    return f"inspections_in_year_{year}-{(year + 1) % 100:02d}_x.csv"


def write_files(real_dir: Path, out: Path, copies: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    sheets = {}
    real_urns: set[str] = set()
    for name, sheet_name, *_ in RELEASES:
        sheet = table_of(real_dir / name, sheet_name)
        sheets[(name, sheet_name)] = sheet
        index = header_index(sheet.rows)
        urn_col, _ = columns_of(sheet.rows[index])
        for row in sheet.rows[index + 1 :]:
            if len(row) > urn_col:
                real_urns.add(normal_urn(row[urn_col]))
    urns = Urns(real_urns - {""})
    written = []
    for name, sheet_name, kind, year, shifts in RELEASES:
        sheet = sheets[(name, sheet_name)]
        index = header_index(sheet.rows)
        urn_col, owner_col = columns_of(sheet.rows[index])
        for years in shifts:
            path = out / out_name(kind, year + years)
            with open(path, "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                preamble = " ".join(
                    cell_text(c, 0) for r in sheet.rows[:index] for c in r
                )
                if kind == "providers" and not YEARS.search(preamble):
                    # a dated title, as newer releases have: without it the
                    # re-dated copies of a list would be the same bytes (one
                    # file to the loader, which knows files by SHA-256)
                    title = f"Provider level data as at 31 March {year + years}"
                    writer.writerow([title] + [""] * (len(sheet.rows[index]) - 1))
                for row in sheet.rows[:index]:
                    writer.writerow([shift_text(cell_text(c, 0), years) for c in row])
                writer.writerow([cell_text(c, 0) for c in sheet.rows[index]])
                moved = years if kind == "in_year" else 0
                body = [
                    [cell_text(c, moved) for c in row]
                    for row in sheet.rows[index + 1 :]
                ]
                for copy in range(copies):
                    for row in body:
                        row = list(row)
                        if len(row) > urn_col:
                            urn = normal_urn(row[urn_col])
                            if urn:
                                row[urn_col] = urns(urn, copy)
                        if (
                            copy
                            and owner_col is not None
                            and len(row) > owner_col
                            and row[owner_col].strip()
                        ):
                            row[owner_col] = f"{row[owner_col]} (copy {copy})"
                        writer.writerow(row)
            written.append(path)
    return written


def counts(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
            for table in TARGETS
        }
    finally:
        conn.close()


def load_registry(db_path: Path, files: list[Path]) -> None:
    """``ofsted-homes load`` of ``files`` into ``db_path``, from this
    checkout's code (the write path publishes it out of WAL mode, ready to
    be served immutable)."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from registry.cli.main import main; main()",
            "load",
            str(db_path),
            *map(str, files),
            "--silent",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def build(out: Path, copies: int = 10, real_dir: Path | None = None) -> Path:
    """Write the files and load them; return the registry's path."""
    real_dir = real_dir or Path(
        os.environ.get("REAL_DATA_DIR", ROOT.parent / "shared" / "real")
    )
    started = time.perf_counter()
    files = write_files(real_dir / "ofsted", out / "files", copies)
    dfe = sorted((real_dir / "dfe").glob("*.csv"))
    written = time.perf_counter() - started
    db_path = out / "registry.db"
    started = time.perf_counter()
    load_registry(db_path, [*files, *dfe])
    found = counts(db_path)
    print(
        f"{len(files)} Ofsted files x {copies} copies written in {written:.1f} s,"
        f" loaded with {len(dfe)} DfE files in {time.perf_counter() - started:.1f} s"
    )
    for table, target in TARGETS.items():
        scaled = target * copies // 10
        print(
            f"  {table:<15} {found[table]:>8,}  (target ~{scaled:,}:"
            f" {found[table] / scaled:.2f}x)"
        )
    return db_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="an empty directory to build in")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--real", type=Path, help="default: $REAL_DATA_DIR")
    args = parser.parse_args()
    if (args.out / "registry.db").exists():
        raise SystemExit(f"{args.out}/registry.db exists: give an empty directory")
    build(args.out, args.copies, args.real)


if __name__ == "__main__":
    main()
