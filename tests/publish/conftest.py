"""A small, fully known registry for the publishing tests.

Built with the registry's own schema (``open_registry`` applies every migration
set) and sqlite-utils upserts; the report tables are created here only while
the report reader (issue 3) has not landed. Every expected figure in the tests
is worked out by hand from the rows below.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from datasette.app import Datasette
from net_support import free_port

from extract.normalise import inspection_id
from registry.derive.summaries import derive_summaries
from registry.publish.serve import make_datasette
from registry.schema.db import open_registry

ROOT = Path(__file__).resolve().parents[2]
SOURCE_A = "a" * 64  # the 2025 provider list (sample)
SOURCE_B = "b" * 64  # the 2024 provider list
SOURCE_DFE = "d" * 64
SOURCE_FOI = "f" * 64

LOCAL_AUTHORITIES = [
    ("E06000001", "805", "Hartlepool", "North East", "E12000001", None, None, None),
    ("E08000025", "330", "Birmingham", "West Midlands", "E12000005", None, None, None),
    ("E09000012", "204", "Hackney", "London", "E12000007", None, None, None),
    (
        "E10000006",
        "909",
        "Cumbria",
        "North West",
        "E12000002",
        None,
        "2023-03-31",
        "E06000063",
    ),
    (
        "E06000063",
        "942",
        "Cumberland",
        "North West",
        "E12000002",
        "2023-04-01",
        None,
        None,
    ),
]
OWNERS = {
    "sunrise-care-ltd": "Sunrise Care Ltd",
    "bright-futures-ltd": "Bright Futures Ltd",
    "birmingham-city-council": "Birmingham City Council",
}
LA_NAMES = {la[0]: (la[2], la[3]) for la in LOCAL_AUTHORITIES}

# urn, sector, la_code, places, owner, latest judgement, its date, status, registered
HOMES = [
    (
        "SC100001",
        "Private",
        "E06000001",
        4,
        "sunrise-care-ltd",
        "Good",
        "2024-05-10",
        "active",
        "2015-01-05",
    ),
    (
        "SC100002",
        "Private",
        "E08000025",
        3,
        "sunrise-care-ltd",
        "Outstanding",
        "2024-09-01",
        "active",
        "2016-02-01",
    ),
    (
        "1000003",
        "Local Authority",
        "E08000025",
        5,
        "birmingham-city-council",
        "Requires improvement to be good",
        "2024-07-01",
        "active",
        "2010-04-01",
    ),
    (
        "SC100004",
        "Voluntary",
        "E09000012",
        6,
        "bright-futures-ltd",
        "Inadequate",
        "2025-01-15",
        "active",
        "2012-06-01",
    ),
    (
        "SC100005",
        "Private",
        "E09000012",
        2,
        "bright-futures-ltd",
        None,
        None,
        "active",
        "2024-11-01",
    ),
    (
        "SC100006",
        "Private",
        "E06000063",
        4,
        "sunrise-care-ltd",
        "Good",
        "2023-11-01",
        "active",
        "2018-03-01",
    ),
    (
        "1000007",
        "Private",
        "E06000001",
        3,
        "bright-futures-ltd",
        "Good",
        "2022-03-01",
        "inactive",
        "2011-01-01",
    ),
]
# The 2024-03-31 list: every home but SC100005 (registered later), with the
# judgement in force then.
SNAPSHOT_2024_JUDGEMENTS = {
    "SC100001": "Good",
    "SC100002": "Good",
    "1000003": "Good",
    "SC100004": "Good",
    "SC100006": "Good",
    "1000007": "Good",
}
# urn, date, type, judgement
INSPECTIONS = [
    ("SC100001", "2021-06-01", "Full inspection", "Outstanding"),
    ("SC100001", "2023-02-01", "Full inspection", "Good"),
    ("SC100001", "2024-05-10", "Full inspection", "Good"),
    ("SC100002", "2022-09-01", "Full inspection", "Good"),
    ("SC100002", "2024-09-01", "Full inspection", "Outstanding"),
    ("1000003", "2022-07-01", "Full inspection", "Good"),
    ("1000003", "2023-08-01", "Monitoring inspection", None),
    ("1000003", "2024-07-01", "Full inspection", "Requires improvement to be good"),
    ("SC100004", "2023-01-01", "Full inspection", "Good"),
    ("SC100004", "2025-01-15", "Full inspection", "Inadequate"),
    ("SC100006", "2021-10-01", "Full inspection", "Good"),
    ("SC100006", "2023-11-01", "Full inspection", "Good"),
    ("1000007", "2022-03-01", "Full inspection", "Good"),
]
# urn, inspection date, page, text, mentions [(kind, count, quote)]
REPORTS = [
    (
        "SC100001",
        "2024-05-10",
        5,
        "Children went missing from the home on 14 occasions since the last inspection. Staff reported each episode to the police.",
        [
            (
                "missing",
                14,
                "Children went missing from the home on 14 occasions since the last inspection.",
            )
        ],
    ),
    (
        "SC100001",
        "2023-02-01",
        4,
        "One child was away from placement without authorisation on 3 occasions.",
        [
            (
                "away",
                3,
                "One child was away from placement without authorisation on 3 occasions.",
            )
        ],
    ),
    (
        "SC100002",
        "2024-09-01",
        6,
        "A child went missing twice; staff followed the home's procedures.",
        [
            (
                "missing",
                2,
                "A child went missing twice; staff followed the home's procedures.",
            )
        ],
    ),
    (
        "1000003",
        "2024-07-01",
        3,
        "There were 20 missing episodes involving two children.",
        [("missing", 20, "There were 20 missing episodes involving two children.")],
    ),
    (
        "SC100006",
        "2021-10-01",
        7,
        "Young people went missing 9 times in the year.",
        [("missing", 9, "Young people went missing 9 times in the year.")],
    ),
    (
        "SC100004",
        "2025-01-15",
        2,
        "Leaders do not understand the risks of exploitation.",
        [
            (
                "exploitation",
                None,
                "Leaders do not understand the risks of exploitation.",
            )
        ],
    ),
]
# DfE measures by the short names extract/dfe.py gives them.
INCIDENTS = "missing_incidents"
CHILDREN = "children_missing"
LOOKED_AFTER = "children_looked_after"
PERCENT = "pct_children_missing"
AWAY = "away_incidents"
# year, level, la_code, area_code, la_name, region_name, measure, value, symbol, release
LA_STATS = [
    (
        2024,
        "Local authority",
        "E06000001",
        "E06000001",
        "Hartlepool",
        "North East",
        INCIDENTS,
        120,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E06000001",
        "E06000001",
        "Hartlepool",
        "North East",
        CHILDREN,
        30,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E06000001",
        "E06000001",
        "Hartlepool",
        "North East",
        LOOKED_AFTER,
        400,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E06000001",
        "E06000001",
        "Hartlepool",
        "North East",
        PERCENT,
        7.5,
        None,
        "2025",
    ),
    (
        2023,
        "Local authority",
        "E06000001",
        "E06000001",
        "Hartlepool",
        "North East",
        INCIDENTS,
        100,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E08000025",
        "E08000025",
        "Birmingham",
        "West Midlands",
        INCIDENTS,
        900,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E08000025",
        "E08000025",
        "Birmingham",
        "West Midlands",
        CHILDREN,
        150,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E08000025",
        "E08000025",
        "Birmingham",
        "West Midlands",
        LOOKED_AFTER,
        2000,
        None,
        "2025",
    ),
    (
        2023,
        "Local authority",
        "E08000025",
        "E08000025",
        "Birmingham",
        "West Midlands",
        INCIDENTS,
        1000,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E09000012",
        "E09000012",
        "Hackney",
        "London",
        INCIDENTS,
        None,
        "c",
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E09000012",
        "E09000012",
        "Hackney",
        "London",
        CHILDREN,
        40,
        None,
        "2025",
    ),
    (
        2024,
        "Local authority",
        "E09000012",
        "E09000012",
        "Hackney",
        "London",
        LOOKED_AFTER,
        500,
        None,
        "2025",
    ),
    (2023, "National", None, "E92000001", None, None, INCIDENTS, 81890, None, "2024"),
    (2023, "National", None, "E92000001", None, None, INCIDENTS, 82110, None, "2025"),
    (2023, "National", None, "E92000001", None, None, AWAY, 10520, None, "2025"),
    (2023, "National", None, "E92000001", None, None, CHILDREN, 12790, None, "2025"),
    (2024, "National", None, "E92000001", None, None, INCIDENTS, 83920, None, "2025"),
    (2024, "National", None, "E92000001", None, None, AWAY, 10780, None, "2025"),
    (2024, "National", None, "E92000001", None, None, CHILDREN, 13010, None, "2025"),
    (
        2024,
        "Regional",
        None,
        "E12000001",
        None,
        "North East",
        INCIDENTS,
        3000,
        None,
        "2025",
    ),
    (2024, "Regional", None, "E12000001", None, "North East", AWAY, 400, None, "2025"),
    (
        2024,
        "Regional",
        None,
        "E12000001",
        None,
        "North East",
        CHILDREN,
        500,
        None,
        "2025",
    ),
]


def report_sha(urn: str, day: str) -> str:
    return hashlib.sha256(f"{urn}|{day}".encode()).hexdigest()


def build_registry(path: Path, *, is_sample: bool = True) -> Path:
    """Write the fixture registry to ``path`` and return it."""
    db = open_registry(path)
    with db.conn:
        _sources(db, is_sample)
        db["local_authorities"].upsert_all(
            [
                dict(
                    zip(
                        (
                            "la_code",
                            "old_la_code",
                            "name",
                            "region",
                            "region_code",
                            "valid_from",
                            "valid_to",
                            "replaced_by",
                        ),
                        la,
                        strict=True,
                    )
                )
                for la in LOCAL_AUTHORITIES
            ],
            pk="la_code",
        )
        db["owners"].upsert_all(
            [{"id": k, "name": v} for k, v in OWNERS.items()], pk="id"
        )
        _homes(db)
        _reports(db)
        _inspections(db)
        db["la_missing_stats"].upsert_all(
            [
                dict(
                    zip(
                        (
                            "year",
                            "geographic_level",
                            "la_code",
                            "area_code",
                            "la_name",
                            "region_name",
                            "measure",
                            "value",
                            "symbol",
                            "release",
                        ),
                        row,
                        strict=True,
                    ),
                    source_id=SOURCE_DFE,
                )
                for row in LA_STATS
            ],
            pk=("year", "area_code", "measure", "release"),
        )
        _incident_counts(db)
        # issue 13: the accuracy scoreboard, as a load computes it
        from registry.reports.accuracy import record_report_checks

        record_report_checks(db, now="2026-01-01T00:00:00Z")
        db["problems"].upsert_all(
            [
                {
                    "id": "p1",
                    "source_id": SOURCE_A,
                    "file_name": "providers_2025.csv",
                    "sheet": "Provider_level",
                    "row": 12,
                    "column": "Places",
                    "value": "lots",
                    "message": "Places is not a number",
                },
                {
                    "id": "p2",
                    "source_id": SOURCE_A,
                    "file_name": "providers_2025.csv",
                    "sheet": "Provider_level",
                    "row": 40,
                    "column": "URN",
                    "value": "X1",
                    "message": "Not a URN",
                },
            ],
            pk="id",
        )
        # what the loader derives from the rows written above by hand
        derive_summaries(db)
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path


def _incident_counts(db) -> None:
    """One FOI reply matched to SC100001 (the tables of registry.incidents.incidents)."""
    db["incident_sources"].upsert(
        {
            "source_id": SOURCE_FOI,
            "name": "Cleveland Police FOI 123/24",
            "file_name": "foi.csv",
            "licence": "OGL v3.0",
            "loaded_at": "2026-01-01T00:00:00Z",
        },
        pk="source_id",
    )
    db["incident_counts"].upsert(
        {
            "id": "foi-1",
            "source_id": SOURCE_FOI,
            "source_name": "Cleveland Police FOI 123/24",
            "licence": "OGL v3.0",
            "file_rows": "2",
            "row_key": "r2",
            "urn": "SC100001",
            "match_status": "matched",
            "match_method": "urn",
            "kind": "missing",
            "period_label": "2023-24",
            "period_start": "2023-04-01",
            "period_end": "2024-03-31",
            "incidents_count": 17,
            "incidents_shown": "17",
            "children_shown": "<5",
            "is_suppressed": 1,
        },
        pk="id",
    )


def _sources(db, is_sample: bool) -> None:
    rows = [
        (
            SOURCE_A,
            "providers_2025.csv",
            "ofsted-providers",
            "2025-03-31",
            int(is_sample),
        ),
        (SOURCE_B, "providers_2024.csv", "ofsted-providers", "2024-03-31", 0),
        (SOURCE_DFE, "la_missing.csv", "dfe-la-missing", None, 0),
        (SOURCE_FOI, "foi.csv", "incidents", None, 0),
    ]
    db["sources"].upsert_all(
        [
            {
                "sha256": sha,
                "file_name": name,
                "kind": kind,
                "as_at": as_at,
                "is_sample": sample,
                "loaded_at": "2026-01-01T00:00:00Z",
                "rows_read": 10,
            }
            for sha, name, kind, as_at, sample in rows
        ],
        pk="sha256",
    )


def _homes(db) -> None:
    homes, snapshots = [], []
    for (
        urn,
        sector,
        la_code,
        places,
        owner,
        judgement,
        day,
        status,
        registered,
    ) in HOMES:
        la_name, region = LA_NAMES[la_code]
        common = {
            "urn": urn,
            "provision_type": "Children's home",
            "sector": sector,
            "is_independent": 1 if sector in ("Private", "Voluntary") else 0,
            "local_authority": la_name,
            "la_code": la_code,
            "ofsted_region": region,
            "region": region,
            "places": places,
            "registration_date": registered,
            "registration_status": "Active" if status == "active" else "Closed",
            "owner": owner,
        }
        homes.append(
            {
                **common,
                "latest_full_inspection_date": day,
                "latest_judgement": judgement,
                "status": status,
                "first_seen": "2024-03-31" if urn != "SC100005" else "2025-03-31",
                "last_seen": "2025-03-31" if status == "active" else "2024-03-31",
            }
        )
        if status == "active":
            snapshots.append(
                {
                    **common,
                    "as_at": "2025-03-31",
                    "latest_judgement": judgement,
                    "latest_full_inspection_date": day,
                    "owner_as_published": OWNERS[owner],
                    "source_id": SOURCE_A,
                }
            )
        if urn in SNAPSHOT_2024_JUDGEMENTS:
            snapshots.append(
                {
                    **common,
                    "as_at": "2024-03-31",
                    "latest_judgement": SNAPSHOT_2024_JUDGEMENTS[urn],
                    "owner_as_published": OWNERS[owner].upper(),
                    "registration_status": "Active",
                    "source_id": SOURCE_B,
                }
            )
    db["homes"].upsert_all(homes, pk="urn")
    db["home_snapshots"].upsert_all(snapshots, pk=("urn", "as_at"))


def _inspections(db) -> None:
    rows = []
    for urn, day, kind, judgement in INSPECTIONS:
        has_report = any(r[0] == urn and r[1] == day for r in REPORTS)
        rows.append(
            {
                "id": inspection_id(urn, day, kind),
                "urn": urn,
                "inspection_date": day,
                "event_type": kind,
                "event_type_as_published": kind,
                "judgement": judgement,
                "judgement_as_published": judgement,
                "framework": "SCCIF",
                "source_id": SOURCE_A,
                "report_sha256": report_sha(urn, day) if has_report else None,
            }
        )
    db["inspections"].upsert_all(rows, pk="id")


def _reports(db) -> None:
    """Rows in the report tables of ``registry.reports.reports`` (issue 3)."""
    for number, (urn, day, page, text, mentions) in enumerate(REPORTS):
        sha = report_sha(urn, day)
        db["sources"].upsert(
            {
                "sha256": sha,
                "file_name": f"{urn}-{day}.pdf",
                "kind": "report",
                "loaded_at": "2026-01-01T00:00:00Z",
            },
            pk="sha256",
        )
        db["reports"].upsert(
            {
                "sha256": sha,
                "urn": urn,
                "url": f"https://files.ofsted.gov.uk/v1/file/{50000000 + number}",
                "file_name": f"{urn}-{day}.pdf",
                "inspection_date": day,
                "inspection_type": "Full inspection",
                "layout": "sccif",
                "registered_provider": OWNERS[{h[0]: h[4] for h in HOMES}[urn]],
                "pages": 8,
                "extractor_version": "test",
                "extracted_at": "2026-01-01T00:00:00Z",
            },
            pk="sha256",
        )
        db["report_pages"].upsert(
            {"report": sha, "page": page, "urn": urn, "text": text},
            pk=("report", "page"),
        )
        for kind, count, quote in mentions:
            db["report_mentions"].upsert(
                {
                    "id": f"{sha[:12]}-{page}-{kind}",
                    "urn": urn,
                    "report": sha,
                    "inspection_date": day,
                    "page": page,
                    "kind": kind,
                    "quote": quote,
                    "count": count,
                },
                pk="id",
            )


@pytest.fixture(scope="session")
def registry_path(tmp_path_factory) -> Path:
    return build_registry(tmp_path_factory.mktemp("publish") / "registry.db")


@pytest.fixture(scope="session")
def plain_registry_path(tmp_path_factory, registry_path) -> Path:
    """The same registry without sample data."""
    path = tmp_path_factory.mktemp("plain") / "registry.db"
    return build_registry(path, is_sample=False)


@pytest.fixture(scope="session")
def ds(registry_path) -> Datasette:
    """One public Datasette for the read-only tests (nothing can change it)."""
    return make_datasette(registry_path)


@pytest.fixture
def private_db_path(tmp_path) -> Path:
    path = tmp_path / "foi.db"
    from sqlite_utils import Database

    db = Database(path)
    db["annex_a_counts"].insert(
        {"urn": "SC100001", "away_count": 31, "secret": "PRIVATE-MARKER"}
    )
    db.close()
    return path


def ofsted_homes_command() -> str:
    """The `ofsted-homes` console script of the environment running the tests
    (beside its Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("ofsted-homes")
    if beside.exists():
        return str(beside)
    found = shutil.which("ofsted-homes")
    if found is None:
        pytest.fail("no `ofsted-homes` command: install the project (pip install -e .)")
    return found


def start_server(db_path: Path, *args: str, env: dict | None = None):
    """``ofsted-homes serve`` as a real process on a free loopback port;
    returns (process, base_url) once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [
            ofsted_homes_command(),
            "serve",
            str(db_path),
            "--port",
            str(port),
            "--silent",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode())
        try:
            urllib.request.urlopen(base + "/robots.txt", timeout=1).read()
            return process, base
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("ofsted-homes serve did not answer within 30 s")


def stop_server(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live_server(registry_path):
    process, base = start_server(registry_path)
    yield base
    stop_server(process)


FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def loaded_registry_path(tmp_path_factory) -> Path:
    """A registry built by the real loaders from the project's spreadsheet and
    report fixtures (tests/fixtures), marked as sample data."""
    from registry.loading.files import load_files

    path = tmp_path_factory.mktemp("loaded") / "registry.db"
    files = sorted((FIXTURES / "spreadsheets").glob("*.csv")) + sorted(
        (FIXTURES / "pdfs").glob("*.pdf")
    )
    db = open_registry(path)
    results = load_files(db, files, is_sample=True)
    refused = [r.summary for r in results if not r.ok]
    assert not refused, refused
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path


@pytest.fixture(params=["registry_path", "loaded_registry_path"])
def any_registry_path(request) -> Path:
    """Each fixture registry in turn: the hand-built one and the loaded one."""
    return request.getfixturevalue(request.param)


SAMPLE_GROUPS = (
    "owner,pattern,group,source\n"
    "Sunrise Care Limited,,Dawn Group,Sample claim: not about a real company\n"
    ",bright*,Dawn Group,Sample claim: not about a real company\n"
)


@pytest.fixture(scope="session")
def groups_server(tmp_path_factory, registry_path):
    """The fixture registry with a sample owner-to-group mapping, served."""
    import shutil

    from registry.derive.groups import load_groups

    folder = tmp_path_factory.mktemp("groups")
    path = folder / "registry.db"
    shutil.copy(registry_path, path)
    mapping = folder / "sample_groups.csv"
    mapping.write_text(SAMPLE_GROUPS, encoding="utf-8")
    db = open_registry(path)
    load_groups(db, mapping, is_sample=True)
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    process, base = start_server(path)
    yield base
    stop_server(process)
