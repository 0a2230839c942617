"""Fixtures for the incident tests: a small real registry (SQLite, built with the
registry's own migrations) and writers for FOI-style files in several shapes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from registry.publish.serve import load_metadata
from registry.schema.db import open_registry

ROOT = Path(__file__).resolve().parents[2]
NCA_F1 = "nca_missing_children_in_care_by_police_force_2020-21_table_f1.csv"

LAS = {
    "E10000017": ("888", "Lancashire"),
    "E10000016": ("886", "Kent"),
    "E06000010": ("810", "Kingston upon Hull, City of"),
    "E08000025": ("330", "Birmingham"),
    "E09000008": ("306", "Croydon"),
}

# urn, la_code, owner, places, latest full inspection (date, judgement)
HOMES = [
    ("SC100001", "E10000017", "Bright Futures Care Ltd", 4, ("2023-06-01", "Good")),
    ("SC100002", "E10000017", "Bright Futures Care Ltd", 3, ("2023-02-01", "Good")),
    ("1000003", "E10000017", "Oakleaf Homes Limited", 2, ("2022-11-10", "Outstanding")),
    ("SC100004", "E10000016", "Bright Futures Care Ltd", 4, ("2023-01-20", "Good")),
    (
        "1000005",
        "E06000010",
        "Northern Lights Children's Services Ltd",
        5,
        ("2022-09-01", "Good"),
    ),
    (
        "SC100006",
        "E09000008",
        "Safe Haven Residential Ltd",
        6,
        ("2023-03-03", "Requires improvement to be good"),
    ),
    ("1000007", "E08000025", "Safe Haven Residential Ltd", 6, ("2022-05-05", "Good")),
    ("1000008", "E08000025", "Safe Haven Residential Ltd", 6, ("2022-07-07", "Good")),
    ("SC100009", "E08000025", "Kingfisher Care Group Ltd", 8, ("2023-04-04", "Good")),
    ("SC100010", "E09000008", "Kingfisher Care Group Ltd", 10, (None, None)),
]


def owner_key(name: str) -> str:
    from extract.normalise import owner_id

    return owner_id(name)


def add_home(db, urn, la_code, owner, places, inspection=(None, None)) -> None:
    old, name = LAS.get(la_code, (None, la_code))
    if not db["local_authorities"].count_where("la_code = ?", [la_code]):
        db["local_authorities"].insert(
            {"la_code": la_code, "old_la_code": old, "name": name}
        )
    db["owners"].upsert({"id": owner_key(owner), "name": owner}, pk="id")
    la_name = db.execute(
        "select name from local_authorities where la_code = ?", [la_code]
    ).fetchone()[0]
    date, judgement = inspection
    db["homes"].insert(
        {
            "urn": urn,
            "provision_type": "Children's home",
            "sector": "Private",
            "local_authority": la_name,
            "la_code": la_code,
            "places": places,
            "owner": owner_key(owner),
            "status": "active",
            "latest_full_inspection_date": date,
            "latest_judgement": judgement,
        }
    )
    if date:
        db["inspections"].insert(
            {
                "id": f"{urn}-{date}-full-inspection",
                "urn": urn,
                "inspection_date": date,
                "event_type": "Full inspection",
                "judgement": judgement,
            }
        )


def build_registry(path: Path, homes=HOMES):
    db = open_registry(path)
    with db.conn:
        for urn, la_code, owner, places, inspection in homes:
            add_home(db, urn, la_code, owner, places, inspection)
    return db


@pytest.fixture
def registry(tmp_path):
    return build_registry(tmp_path / "registry.db")


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], *, title_rows: int = 0) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "FOI response"
    for number in range(title_rows):
        sheet.append([f"Freedom of Information request 2023/0412 – note {number + 1}"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def all_text(db) -> str:
    """Every value in every table of a database, as one string."""
    parts = []
    for table in db.table_names():
        for row in db[table].rows:
            parts.extend(str(v) for v in row.values() if v is not None)
    return "\n".join(parts)


def add_report_mention(
    db, urn, inspection_date, *, count, quote, kind="missing", page=4, number=0
):
    """A report and one of its sentences, in the report reader's tables
    (registry.reports.reports), as its loader would write them."""
    sha = hashlib.sha256(f"{urn}-{inspection_date}".encode()).hexdigest()
    db["sources"].upsert(
        {
            "sha256": sha,
            "file_name": f"{urn}.pdf",
            "kind": "report",
            "loaded_at": "2026-01-01T00:00:00Z",
        },
        pk="sha256",
    )
    db["reports"].upsert(
        {
            "sha256": sha,
            "urn": urn,
            "url": f"https://files.ofsted.gov.uk/v1/file/{urn}",
            "inspection_date": inspection_date,
            "layout": "sccif",
            "pages": 8,
            "extractor_version": "test",
            "extracted_at": "2026-01-01T00:00:00Z",
        },
        pk="sha256",
    )
    db["report_mentions"].insert(
        {
            "id": f"{sha[:12]}-{page}-{kind}-{number}",
            "urn": urn,
            "report": sha,
            "inspection_date": inspection_date,
            "page": page,
            "kind": kind,
            "quote": quote,
            "count": count,
        }
    )


def metadata() -> dict:
    return load_metadata("registry", ROOT / "metadata.yml")


def canned_sql(name: str) -> str:
    queries = metadata()["databases"]["registry"]["queries"]
    return queries[name]["sql"]


def run_canned(db, name: str, **params) -> list[dict]:
    sql = canned_sql(name)
    import re

    names = set(re.findall(r"(?<!:):([a-z_]+)", sql))
    values = {n: str(params.get(n, "")) for n in names}
    return [dict(r) for r in db.query(sql, values)]


@pytest.fixture
def real_dir() -> Path:
    value = os.environ.get("REAL_DATA_DIR")
    path = Path(value) if value else ROOT.parent / "shared" / "real"
    if not (path / NCA_F1).exists():
        pytest.skip("REAL_DATA_DIR does not hold the NCA table F1")
    return path


def build_with_private(tmp_path: Path, public_rows, private_rows, private_source):
    """A registry with public FOI counts and a private database with Annex A
    counts (rows: [URN, financial year, missing incidents]); their paths."""
    from registry.incidents.incidents import load_incidents, open_private

    header = ["URN", "Financial year", "Missing incidents"]
    registry = build_registry(tmp_path / "registry.db")
    public = write_csv(tmp_path / "foi.csv", [header, *public_rows])
    load_incidents(registry, public, source_name="Public FOI", licence="OGL v3.0")
    private = open_private(tmp_path / "registry.private.db")
    annex = write_csv(tmp_path / "annex-a.csv", [header, *private_rows])
    load_incidents(registry, annex, source_name=private_source, private_db=private)
    registry.conn.close()
    private.conn.close()
    return tmp_path / "registry.db", tmp_path / "registry.private.db"


TODAY = dt.date(2024, 1, 1)


@pytest.fixture
def kit():
    """The helpers above, for test modules (conftest is not importable under
    --import-mode=importlib)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        write_csv=write_csv,
        write_xlsx=write_xlsx,
        all_text=all_text,
        add_home=add_home,
        build_registry=build_registry,
        build_with_private=build_with_private,
        add_report_mention=add_report_mention,
        run_canned=run_canned,
        canned_sql=canned_sql,
        metadata=metadata,
        HOMES=HOMES,
        ROOT=ROOT,
        NCA_F1=NCA_F1,
    )


@pytest.fixture(autouse=True, scope="session")
def row_key_file(tmp_path_factory):
    """Row keys are HMACs under a secret key file (registry.matching): the
    tests use their own, never the user's ~/.config one."""
    from registry.incidents.matching import ROW_KEY_ENV

    path = tmp_path_factory.mktemp("config") / "row-key"
    old = os.environ.get(ROW_KEY_ENV)
    os.environ[ROW_KEY_ENV] = str(path)
    yield path
    if old is None:
        os.environ.pop(ROW_KEY_ENV, None)
    else:
        os.environ[ROW_KEY_ENV] = old
