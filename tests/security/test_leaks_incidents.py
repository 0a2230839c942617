"""Leaks through the incident tables, tried as an attacker would: with
everything the public instance serves (every table, view and canned query as
HTML, JSON and CSV, and arbitrary SQL over every table), try to recover a
home's address or postcode (by hashing guesses of them) or a count shown as
<5 (from row ranges, rows read, problems, ids).

A registry built before row keys were keyed is aged into the old format and
migrated: afterwards no old key, id or row range is left in the file, and
review decisions made under the old keys still apply."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from registry_support import add_active_homes

from extract.incidents import read_incidents
from registry.errors import RegistryError
from registry.incidents.incidents import (
    ROWS_NOT_SHOWN,
    load_incidents,
    unmigrated_reason,
)
from registry.incidents.matching import ROW_KEY_ENV, keyed
from registry.incidents.reviews import decide, open_reviews
from registry.schema.db import open_registry

HOMES = [
    # urn, la_code, la name, owner, places
    ("SC200001", "E08000025", "Birmingham", "Kingfisher Care Group Ltd", 4),
    ("SC200002", "E08000025", "Birmingham", "Kingfisher Care Group Ltd", 8),
    ("1200003", "E09000008", "Croydon", "Safe Haven Residential Ltd", 6),
    ("1200004", "E09000008", "Croydon", "Safe Haven Residential Ltd", 6),
]

# The small home (4 places): 3 incidents, shown as <5 everywhere.
SMALL = {
    "address": "12 Secret Lane, Edgbaston",
    "postcode": "B15 2TT",
    "name": "Sunnyside House",
}
BIG = {"address": "99 Hidden Road, Selly Oak", "postcode": "B29 6QQ", "name": "Oakview"}
QUIET = {"address": "7 Quiet Close", "postcode": "CR0 9ZZ", "name": "Meadow Lodge"}
HIDDEN_COUNT = 3
BIG_COUNT = 73561
BY_HOME_TOTAL = 3 + BIG_COUNT + 15  # the totals line: visible + suppressed


def _registry(path: Path):
    db = open_registry(path)
    with db.conn:
        add_active_homes(db, HOMES)
    return db


def _write(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _per_incident_file(path: Path) -> Path:
    header = [
        "URN",
        "Date reported",
        "Provider",
        "Local authority",
        "Capacity",
        "Address",
        "Postcode",
        "Child ID",
        "Type",
    ]
    rows = [header]
    small = [
        "SC2000",
        "",
        "Kingfisher Care Group Ltd",
        "Birmingham",
        4,
        SMALL["address"],
        SMALL["postcode"],
    ]
    big = [
        "",
        "",
        "Kingfisher Care Group Ltd",
        "Birmingham",
        8,
        BIG["address"],
        BIG["postcode"],
    ]
    # Sorted by home, as police exports are: the small home's rows in a block.
    for number, day in enumerate(["03/05/2022", "10/06/2022", "11/07/2022"]):
        row = list(small)
        row[1] = day
        rows.append([*row, f"CHILD-A{number}", "Missing"])
    for number in range(7):
        row = list(big)
        row[1] = f"{number + 1:02d}/09/2022"
        rows.append([*row, f"CHILD-B{number}", "Missing"])
    return _write(path, rows)


def _by_home_file(path: Path) -> Path:
    return _write(
        path,
        [
            [
                "URN",
                "Home name",
                "Provider",
                "Local authority",
                "Address",
                "Postcode",
                "Places",
                "Year",
                "Incidents",
                "Children",
            ],
            [
                "SC200001",
                SMALL["name"],
                "Kingfisher Care Group Ltd",
                "Birmingham",
                SMALL["address"],
                SMALL["postcode"],
                4,
                "2022",
                3,
                2,
            ],
            [
                "SC200002",
                BIG["name"],
                "Kingfisher Care Group Ltd",
                "Birmingham",
                BIG["address"],
                BIG["postcode"],
                8,
                "2022",
                BIG_COUNT,
                9,
            ],
            [
                "",
                QUIET["name"],
                "Safe Haven Residential Ltd",
                "Croydon",
                QUIET["address"],
                QUIET["postcode"],
                6,
                "2022",
                15,
                3,
            ],
            ["Total", "", "", "", "", "", "", "", BY_HOME_TOTAL, 14],
        ],
    )


@pytest.fixture
def row_key(tmp_path, monkeypatch):
    monkeypatch.setenv(ROW_KEY_ENV, str(tmp_path / "config" / "row-key"))


@pytest.fixture
def built(tmp_path, row_key):
    """A registry with both files loaded and a review decision made."""
    db = _registry(tmp_path / "registry.db")
    files = [
        _per_incident_file(tmp_path / "police-foi-per-incident.csv"),
        _by_home_file(tmp_path / "council-foi-by-home.csv"),
    ]
    for path in files:
        load_incidents(db, path, source_name=f"FOI {path.stem}", auto_fuzzy=False)
    reviews = {r["row"]: r for r in open_reviews(db)}
    (quiet,) = [r for k, r in reviews.items() if "Safe Haven" in k]
    decide(db, quiet["row_key"], "1200003", "accept")
    db.conn.close()
    return tmp_path / "registry.db", files


# ------------------------------------------------------------- the attacker


def _variants(text: str) -> set[str]:
    folded = re.sub(r"[^a-z0-9 ]+", "", text.lower()).strip()
    return {
        text,
        text.lower(),
        text.upper(),
        folded,
        folded.replace(" ", ""),
        text.replace(" ", ""),
        text.replace(" ", "").lower(),
    }


def _guess_digests(files: list[Path]) -> dict[str, str]:
    """Hex digests an attacker would try: every address/postcode field, alone
    and in combination with the published fields, hashed every common way;
    and the reader's own (formerly published) row keys."""
    guesses: set[str] = set()
    for home in (SMALL, BIG, QUIET):
        pieces = _variants(home["address"]) | _variants(home["postcode"])
        guesses |= pieces
        for a, p in itertools.product(
            _variants(home["address"]), _variants(home["postcode"])
        ):
            for sep in ("|", " ", ",", ", ", ""):
                guesses.add(f"{a}{sep}{p}")
    digests: dict[str, str] = {}
    for guess in guesses:
        for name in ("md5", "sha1", "sha256", "sha512", "blake2b"):
            digests[hashlib.new(name, guess.encode()).hexdigest()] = f"{name}({guess})"
    for path in files:
        for record in read_incidents(path).records:
            digests[record.identity_key()] = f"unkeyed row key of {path.name}"
    return digests


def _assert_no_derived_value(text: str, digests: dict[str, str], where: str) -> None:
    for token in set(re.findall(r"[0-9a-fA-F]{10,}", text)):
        token = token.lower()
        for digest, what in digests.items():
            assert token not in digest, (where, token, what)


async def _everything_public(registry_path: Path) -> dict[str, str]:
    from registry.publish.serve import make_datasette

    ds = make_datasette(registry_path)
    db = open_registry(registry_path, migrate=False)
    tables = db.table_names() + db.view_names()
    hidden = [r[0] for r in db.execute("select name from sqlite_master").fetchall()] + [
        "sqlite_master"
    ]
    db.conn.close()
    queries = ds.metadata()["databases"]["registry"].get("queries", {})
    urls = ["/registry", "/registry.json", "/-/metadata.json"]
    for table in tables:
        urls += [
            f"/registry/{table}?_size=max",
            f"/registry/{table}.json?_shape=array&_size=max",
            f"/registry/{table}.csv?_size=max",
        ]
    for name in hidden:
        urls.append(f"/registry.json?_shape=array&sql=select+*+from+%22{name}%22")
    for query in queries:
        params = "min_incidents=0&months=600"
        urls += [
            f"/registry/{query}?{params}",
            f"/registry/{query}.json?{params}&_shape=array",
            f"/registry/{query}.csv?{params}",
        ]
    urls += [f"/home/{h[0]}" for h in HOMES]
    seen = {}
    for url in urls:
        response = await ds.client.get(url)
        if "incident" in url or "match_" in url or "problems" in url:
            assert response.status_code < 500, (url, response.status_code)
        seen[url] = response.text
    return seen


async def _rows(registry_path: Path, sql: str) -> list[dict]:
    from urllib.parse import quote

    from registry.publish.serve import make_datasette

    ds = make_datasette(registry_path)
    response = await ds.client.get(f"/registry.json?_shape=array&sql={quote(sql)}")
    assert response.status_code == 200, response.text
    return response.json()


async def _assert_nothing_leaks(registry_path: Path, files: list[Path]) -> None:
    pages = await _everything_public(registry_path)
    digests = _guess_digests(files)
    everything = "\n".join(pages.values())
    # The crawl reaches the incident tables and their keys, so it can fail.
    keys = {keyed(r.identity_key()) for f in files for r in read_incidents(f).records}
    assert all(k in everything for k in keys)
    for url, text in pages.items():
        _assert_no_derived_value(text, digests, url)
        for home in (SMALL, BIG, QUIET):
            for value in home.values():
                assert value not in text, (url, value)
                assert value.lower() not in text.lower(), (url, value)
        assert "CHILD-" not in text, url
        # The totals line would give the suppressed count by subtraction.
        total = rf"(?<![0-9.]){BY_HOME_TOTAL}(?![0-9])"
        assert not re.search(total, text.replace(",", "")), url
    await _assert_no_count_channel(registry_path, files)


async def _assert_no_count_channel(registry_path: Path, files: list[Path]) -> None:
    per_incident = files[0].name
    (source,) = await _rows(
        registry_path,
        f"select * from incident_sources where file_name = '{per_incident}'",
    )
    sha = source["source_id"]
    assert source["rows_read"] == 0
    (provenance,) = await _rows(
        registry_path, f"select * from sources where sha256 = '{sha}'"
    )
    assert provenance["rows_read"] == 0 and provenance["rows_skipped"] == 0
    counts = await _rows(
        registry_path, f"select * from incident_counts where source_id = '{sha}'"
    )
    assert counts and {c["file_rows"] for c in counts} == {ROWS_NOT_SHOWN}
    small = [c for c in counts if c["places_as_published"] == 4]
    assert small and all(c["incidents_shown"] == "<5" for c in small)
    assert all(c["incidents_count"] is None for c in small)
    # Brute force the row number behind a published id (the old id was a
    # plain SHA-1 of the file, the row key, kind, period and first row).
    for count in counts:
        for first_row in range(1, 200):
            guess = "|".join(
                [
                    sha,
                    count["row_key"],
                    count["kind"],
                    count["period_label"] or "",
                    str(first_row),
                ]
            )
            assert hashlib.sha1(guess.encode()).hexdigest()[:20] != count["id"]
    problems = await _rows(
        registry_path, f"select * from problems where source_id = '{sha}'"
    )
    # One line per kind of problem: no row numbers, no values, no per-row count.
    assert problems, "the invalid URN on the small home's rows is a problem"
    assert all(p["row"] is None and p["value"] is None for p in problems)
    assert len({(p["column"], p["message"]) for p in problems}) == len(problems)
    assert provenance["problems_count"] == len(problems)
    candidates = await _rows(registry_path, "select * from match_candidates")
    for candidate in candidates:
        if candidate["row_summary"].startswith(per_incident):
            assert not re.search(r"\brow [0-9]", candidate["row_summary"]), candidate


async def test_no_public_value_locates_a_home_or_counts_a_suppressed_figure(built):
    registry_path, files = built
    assert unmigrated_reason(registry_path) is None
    await _assert_nothing_leaks(registry_path, files)


# ------------------------------------------------------------- migration


def _age(registry_path: Path, files: list[Path]) -> dict[str, str]:
    """Rewrite a registry into the format written before row keys were keyed
    (unkeyed row keys and ids, row ranges, per-row problems with values, rows
    read), and forget the migrations that fix it. Returns old key → new key."""
    from types import SimpleNamespace

    from registry.incidents.incidents import _rows_text
    from registry.provenance import record_problem

    db = open_registry(registry_path, migrate=False)
    old_keys = {}
    with db.conn:
        for path in files:
            parsed = read_incidents(path)
            (sha,) = [
                r[0]
                for r in db.execute(
                    "select source_id from incident_sources where file_name = ?",
                    [path.name],
                )
            ]
            for record in parsed.records:
                old = record.identity_key()
                new = keyed(old)
                old_keys[old] = new
                period = record.period.label if record.period else ""
                old_id = hashlib.sha1(
                    "|".join(
                        [sha, old, record.kind, period, str(record.rows[0])]
                    ).encode()
                ).hexdigest()[:20]
                db.execute(
                    """update incident_counts set id = ?, file_rows = ?
                       where source_id = ? and row_key = ? and kind = ?
                       and coalesce(period_label, '') = ?""",
                    [old_id, _rows_text(record.rows), sha, new, record.kind, period],
                )
                db.execute(
                    """update match_candidates set row_summary = ? || ' row ' || ? ||
                       substr(row_summary, length(?) + 1)
                       where row_key = ? and row_summary like ? || '%'
                       and row_summary not like ? || ' row %'""",
                    [path.name, record.rows[0], path.name, new, path.name, path.name],
                )
            db.execute("delete from problems where source_id = ?", [sha])
            source = SimpleNamespace(sha256=sha, file_name=path.name)
            for row, column, message, value in parsed.problems:
                record_problem(db, source, message, row=row, column=column, value=value)
            db.execute(
                "update sources set rows_read = ?, problems_count = ? where sha256 = ?",
                [parsed.rows_read, len(parsed.problems), sha],
            )
            db.execute(
                "update incident_sources set rows_read = ? where source_id = ?",
                [parsed.rows_read, sha],
            )
        for old, new in old_keys.items():
            for table in ("incident_counts", "match_candidates", "match_decisions"):
                db.execute(
                    f"update {table} set row_key = ? where row_key = ?", [old, new]
                )
        db.execute(
            "delete from _sqlite_migrations where name in "
            "('m002_keyed_row_keys_and_hidden_rows', 'm003_vacuum_old_keys')"
        )
    db.conn.close()
    return old_keys


def _file_bytes(registry_path: Path) -> bytes:
    data = registry_path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = registry_path.with_name(registry_path.name + suffix)
        if extra.exists():
            data += extra.read_bytes()
    return data


async def test_an_old_registry_is_migrated_and_keeps_its_decisions(built, tmp_path):
    registry_path, files = built
    old_keys = _age(registry_path, files)
    aged = _file_bytes(registry_path)
    # The aged registry is the old, leaking one (so the test can fail) ...
    assert all(old.encode() in aged for old in old_keys)
    assert b"2-4" in aged
    # public serve refuses to show it as it is (the crawl of a served copy
    # is test_serving_an_old_registry_migrates_it_first)
    with pytest.raises(RegistryError, match="ofsted-homes migrate"):
        await _assert_nothing_leaks(registry_path, files)
    assert "ofsted-homes migrate" in unmigrated_reason(registry_path)
    command = Path(sys.executable).with_name("ofsted-homes")
    migrated = subprocess.run(
        [command, "migrate", registry_path], capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stderr.strip() == "registry.db: migrated"
    assert unmigrated_reason(registry_path) is None
    data = _file_bytes(registry_path)
    for old in old_keys:
        assert old.encode() not in data, old
    for name in (files[0].name + " row ",):
        assert name.encode() not in data
    # ... and now serves nothing derived from an address or a row count.
    await _assert_nothing_leaks(registry_path, files)
    # The decision made under the old key applies to a later file.
    db = open_registry(registry_path)
    later = _write(
        tmp_path / "council-foi-2023.csv",
        [
            [
                "Home name",
                "Provider",
                "Local authority",
                "Address",
                "Postcode",
                "Places",
                "Year",
                "Incidents",
            ],
            [
                QUIET["name"],
                "Safe Haven Residential Ltd",
                "Croydon",
                QUIET["address"],
                QUIET["postcode"],
                6,
                "2023",
                21,
            ],
        ],
    )
    load = load_incidents(db, later, source_name="Later FOI", auto_fuzzy=False)
    assert load.matched == 1
    (row,) = db.query(
        "select urn, match_method from incident_counts where period_label = '2023'"
    )
    assert row == {"urn": "1200003", "match_method": "review"}


def test_an_old_private_database_is_rekeyed_and_keeps_its_decisions(tmp_path, row_key):
    """The private database had the same plain row keys: it is rekeyed the
    same way (it keeps its row ranges: only inspectors see it)."""
    from registry.incidents.incidents import open_private

    registry = _registry(tmp_path / "registry.db")
    private_path = tmp_path / "registry.private.db"
    private = open_private(private_path)
    by_home = _by_home_file(tmp_path / "annex-a.csv")
    load_incidents(
        registry, by_home, source_name="Annex A", private_db=private, auto_fuzzy=False
    )
    (review,) = [r for r in open_reviews(private) if "Safe Haven" in r["row"]]
    decide(private, review["row_key"], "1200003", "accept")
    olds = {
        r.identity_key(): keyed(r.identity_key())
        for r in read_incidents(by_home).records
    }
    with private.conn:
        for old, new in olds.items():
            for sql in (
                "update incident_counts set row_key = ? where row_key = ?",
                "update match_candidates set row_key = ? where row_key = ?",
                "update match_decisions set row_key = ? where row_key = ?",
            ):
                private.execute(sql, [old, new])
        private.execute(
            "delete from _sqlite_migrations where migration_set = ? and name in (?, ?)",
            [
                "ofsted-homes-incidents-private",
                "m002_private_keyed_row_keys",
                "m003_private_vacuum",
            ],
        )
    private.conn.close()
    assert all(old.encode() in _file_bytes(private_path) for old in olds)
    assert unmigrated_reason(private_path)
    private = open_private(private_path)
    assert unmigrated_reason(private_path) is None
    data = _file_bytes(private_path)
    assert not any(old.encode() in data for old in olds)
    keys = {r["row_key"] for r in private.query("select row_key from match_decisions")}
    assert keys == {review["row_key"]}  # keyed(old): what a load computes now
    assert {
        r["file_rows"] for r in private.query("select file_rows from incident_counts")
    } == {"2", "3", "4"}
    later = _write(
        tmp_path / "annex-a-2023.csv",
        [
            [
                "Provider",
                "Local authority",
                "Address",
                "Postcode",
                "Places",
                "Home name",
                "Year",
                "Incidents",
            ],
            [
                "Safe Haven Residential Ltd",
                "Croydon",
                QUIET["address"],
                QUIET["postcode"],
                6,
                QUIET["name"],
                "2023",
                21,
            ],
        ],
    )
    load = load_incidents(
        registry,
        later,
        source_name="Annex A 2023",
        private_db=private,
        auto_fuzzy=False,
    )
    assert load.matched == 1


async def test_serving_an_old_registry_migrates_it_first(built):
    """Public serve never shows an older version's keys: make_datasette refuses
    the file, and `ofsted-homes serve` migrates it (through the write path)
    before it serves anything."""
    from security.server_support import start, stop

    from registry.publish.serve import make_datasette

    registry_path, files = built
    old_keys = _age(registry_path, files)
    with pytest.raises(RegistryError, match="ofsted-homes migrate"):
        make_datasette(registry_path)
    server = start(registry_path)
    try:
        assert unmigrated_reason(registry_path) is None
        reply = server.get("/registry/incident_counts.json?_shape=array&_size=max")
        assert reply.status == 200
        assert json.loads(reply.body)
        for old in old_keys:
            assert old not in reply.text
    finally:
        stop(server)
    await _assert_nothing_leaks(registry_path, files)
