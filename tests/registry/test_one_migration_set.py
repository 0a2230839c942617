"""The registry's schema is one migration set in one ordered list
(``registry.schema.migrations``), and registries built before it, which
recorded their steps under five set names, migrate without running anything
twice, end with the schema a fresh registry has, keep their data and serve.

``tests/fixtures/registries/before-one-set.db`` (and its ``.private.db``) were
built by the code before the one set (commit 0a873c7): ``load`` of three
fixture spreadsheets and three fixture PDFs, ``load-incidents`` of a four-row
FOI file (public and ``--private``) and ``load-groups`` of the sample groups.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from net_support import free_port
from sqlite_utils import Database

from registry.cli.main import cli
from registry.incidents.incidents import open_private, unmigrated_reason
from registry.schema import migrations as one_set
from registry.schema.db import open_registry
from registry.schema.incidents import PRIVATE_SET, PRIVATE_STEPS, private_migrations
from registry.schema.steps import Steps

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "registries"
BEFORE = FIXTURES / "before-one-set.db"
BEFORE_PRIVATE = FIXTURES / "before-one-set.private.db"
OLD_SET_NAMES = {"ofsted-homes", *one_set.OLD_SETS}
# Columns a step written after the fixture rewrites on purpose
# (m005_one_ranking_and_pending_derivation: one ranking of sources).
REWRITTEN = {("inspection_observations", "source_rank")}


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def recorded(path: Path) -> list[tuple[str, str, str]]:
    with _connect(path) as conn:
        return conn.execute(
            "select migration_set, name, applied_at from _sqlite_migrations order by id"
        ).fetchall()


def schema(path: Path) -> set[tuple[str, str, str]]:
    """Every table, index, view and trigger with its SQL, whitespace and
    ``IF NOT EXISTS`` normalised."""
    with _connect(path) as conn:
        rows = conn.execute(
            "select type, name, sql from sqlite_master where sql is not null"
        ).fetchall()
    normalised = set()
    for kind, name, sql in rows:
        sql = re.sub(r"\s+", " ", sql).strip()
        sql = re.sub(r"\s*([(),])\s*", r"\1", sql)
        sql = re.sub(r"(?i)\bIF NOT EXISTS\b ", "", sql)
        normalised.add((kind, name, sql))
    return normalised


def data(path: Path, columns_of: Path | None = None) -> dict[str, list[tuple]]:
    """Every row of every table; the columns of the registry at ``columns_of``
    (default ``path``): a migrated registry's rows, read as they were."""
    with _connect(columns_of or path) as conn:
        shape = {
            t: [r[1] for r in conn.execute(f'pragma table_info("{t}")')]
            for (t,) in conn.execute(
                "select name from sqlite_master where type = 'table'"
            )
        }
    with _connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select name from sqlite_master where type = 'table' "
                "and name not like 'report_pages_fts%' and name != '_sqlite_migrations'"
            )
        ]
        out = {}
        for table in tables:
            columns = [c for c in shape.get(table, []) if (table, c) not in REWRITTEN]
            if not columns:
                continue
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = conn.execute(f'select {quoted} from "{table}"').fetchall()
            out[table] = sorted(rows, key=repr)
    return out


@pytest.fixture
def old_registry(tmp_path) -> Path:
    path = tmp_path / "registry.db"
    shutil.copy(BEFORE, path)
    return path


def test_the_fixture_is_an_old_style_registry():
    sets = {s for s, _, _ in recorded(BEFORE)}
    # recorded under the five old names, so the test below can fail
    assert sets == OLD_SET_NAMES
    assert {s for s, _, _ in recorded(BEFORE_PRIVATE)} == {PRIVATE_SET}


def test_an_old_registry_migrates_without_running_a_step_twice(old_registry, tmp_path):
    before = recorded(old_registry)
    old_data = data(old_registry)
    open_registry(old_registry).close()
    after = recorded(old_registry)
    # every step recorded before is still recorded once, at the time it ran
    # then (had it run again, its time would be new or a second row would exist)
    assert after[: len(before)] == [
        (one_set.SET_NAME, name, applied_at) for _, name, applied_at in before
    ]
    names = [name for _, name, _ in after]
    assert len(names) == len(set(names))
    # what ran now is exactly the steps written since the fixture was built
    new = [name for _, name, _ in after[len(before) :]]
    listed = [f.__name__ for f in one_set.ORDER]
    assert new == [n for n in listed if n not in {n for _, n, _ in before}]
    assert {s for s, _, _ in after} == {one_set.SET_NAME}
    # the same schema as a registry built today
    fresh = tmp_path / "fresh.db"
    open_registry(fresh).close()
    assert schema(old_registry) == schema(fresh)
    assert [n for _, n, _ in recorded(fresh)] == listed
    # and every row kept
    new_data = data(old_registry, columns_of=BEFORE)
    for table, rows in old_data.items():
        assert new_data[table] == rows, table
    assert old_data["homes"] and old_data["reports"] and old_data["incident_counts"]
    assert unmigrated_reason(old_registry) is None
    # opening it again changes nothing
    open_registry(old_registry).close()
    assert recorded(old_registry) == after


def test_a_step_recorded_under_an_old_set_would_fail_if_run_again(old_registry):
    """Without the relabelling the old steps would run again, and fail: the
    relabelling is what the test above sees working."""
    db = open_registry(old_registry, migrate=False)
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        one_set.migrations.apply(db)
    db.close()


def test_an_old_private_database_keeps_its_set_and_its_steps(tmp_path):
    path = tmp_path / "registry.private.db"
    shutil.copy(BEFORE_PRIVATE, path)
    before = recorded(path)
    old_data = data(path)
    open_private(path).close()
    after = recorded(path)
    assert after[: len(before)] == before
    assert [(s, n) for s, n, _ in after[len(before) :]] == [
        (PRIVATE_SET, "m001_writes")
    ]
    fresh = tmp_path / "fresh.private.db"
    open_private(fresh).close()
    assert schema(path) == schema(fresh)
    new_data = data(path)
    for table, rows in old_data.items():
        assert new_data[table] == rows, table
    assert old_data["incident_counts"]


def test_a_private_database_whose_writes_step_was_recorded_apart(tmp_path):
    """Earlier versions recorded a private database's `writes` table under the
    set ``ofsted-homes-writes``: it is relabelled, not created again."""
    path = tmp_path / "registry.private.db"
    open_private(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "update _sqlite_migrations set migration_set = 'ofsted-homes-writes' "
            "where name = 'm001_writes'"
        )
    before = recorded(path)
    open_private(path).close()  # would fail with "table writes already exists"
    assert [(n, at) for _, n, at in recorded(path)] == [(n, at) for _, n, at in before]
    assert {s for s, _, _ in recorded(path)} == {PRIVATE_SET}


def test_every_step_is_listed_once():
    topic = Steps("somewhere.py")

    @topic()
    def m001_a(db):
        pass

    @topic()
    def m002_b(db):
        pass

    one_set.check_listed([m001_a, m002_b], [topic])
    with pytest.raises(ValueError, match=r"somewhere\.py: migration step m002_b"):
        one_set.check_listed([m001_a], [topic])
    with pytest.raises(ValueError, match="m001_a is listed twice"):
        one_set.check_listed([m001_a, m002_b, m001_a], [topic])
    # the real list: every old set's steps are in it, under the same names
    listed = {f.__name__ for f in one_set.ORDER}
    for names in one_set.OLD_SETS.values():
        assert set(names) <= listed
    # the private set's names, as the read-only check knows them
    assert [
        m.name for m in private_migrations.pending(Database(memory=True))
    ] == PRIVATE_STEPS


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_an_old_registry_says_it_needs_migrating(old_registry):
    reason = unmigrated_reason(old_registry)
    assert reason.startswith("registry.db: written by an older ofsted-homes")
    assert "m006_rules_as_reference" in reason
    assert f"ofsted-homes migrate {old_registry}" in reason
    result = CliRunner().invoke(cli, ["migrate", str(old_registry)])
    assert result.exit_code == 0, result.output
    assert unmigrated_reason(old_registry) is None


@pytest.mark.slow
def test_an_old_registry_is_served_by_ofsted_homes_serve(old_registry):
    """`serve` on the file as the older version left it: it brings the schema
    up to date first (through the write path), then every page answers."""
    with _connect(old_registry) as conn:
        (urn,) = conn.execute("select urn from homes order by urn limit 1").fetchone()
    port = free_port()
    command = Path(sys.executable).with_name("ofsted-homes")
    process = subprocess.Popen(
        [command, "serve", old_registry, "--port", str(port), "--silent"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            assert process.poll() is None, process.stderr.read().decode()
            try:
                urllib.request.urlopen(base + "/robots.txt", timeout=1).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        status, body = _get(base + "/registry/homes.json?_shape=array")
        assert status == 200
        assert urn.encode() in body
        status, body = _get(f"{base}/home/{urn}")
        assert status == 200, body[:300]
        assert urn.encode() in body
        for page in ("/overview", "/registry/market_snapshot", "/registry/owners"):
            status, body = _get(base + page)
            assert status == 200, (page, body[:300])
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert {s for s, _, _ in recorded(old_registry)} == {one_set.SET_NAME}
    assert unmigrated_reason(old_registry) is None
