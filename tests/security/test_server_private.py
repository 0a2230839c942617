"""Issue 9, item 3: public mode never serves a private database.

The private database is the one ``ofsted-homes load-incidents --private``
writes (``registry.private.db``); it is recognised by its migration set, by
incident sources loaded as private, and by its name. Only ``--inspector``
opens it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest
from security.server_support import (
    COMMAND,
    PASSWORD_ENV,
    copy_registry,
    run_serve,
    sha256,
    start,
    stop,
)


@pytest.fixture
def private_db(security_registry, tmp_path):
    """A private database made by the real command."""
    registry = copy_registry(security_registry, tmp_path)
    annex = tmp_path / "annex-a.csv"
    annex.write_text("URN,Year,Incidents\nSC100001,2023,3\n", encoding="utf-8")
    done = subprocess.run(
        [
            str(COMMAND),
            "load-incidents",
            str(registry),
            str(annex),
            "--source",
            "Annex A",
            "--private",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    path = tmp_path / "registry.private.db"
    assert path.is_file()
    return path


def assert_refused(result, path):
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {path}: a private database")
    assert "--inspector" in lines[0]
    assert "Traceback" not in result.stderr


def test_public_serve_refuses_the_private_database(private_db):
    before = sha256(private_db)
    result = run_serve(private_db, "--port", "1")
    assert_refused(result, private_db)
    assert "made by load-incidents --private" in result.stderr
    assert sha256(private_db) == before


def test_a_renamed_private_database_is_still_refused(private_db, tmp_path):
    innocent = tmp_path / "registry-copy.db"
    shutil.copyfile(private_db, innocent)
    before = sha256(innocent)
    result = run_serve(innocent, "--port", "1")
    assert_refused(result, innocent)
    assert "made by load-incidents --private" in result.stderr
    assert sha256(innocent) == before


def test_a_registry_holding_private_counts_is_refused(security_registry, tmp_path):
    """A registry someone merged private rows into: it contains private data."""
    path = copy_registry(security_registry, tmp_path, "merged.db")
    conn = sqlite3.connect(path)
    conn.execute(
        "insert into incident_sources (source_id, name, file_name, is_private,"
        " loaded_at) values ('x', 'Annex A', 'annex.csv', 1, '2026-01-01')"
    )
    conn.commit()
    conn.close()
    before = sha256(path)
    result = run_serve(path, "--port", "1")
    assert_refused(result, path)
    assert "loaded with --private" in result.stderr
    assert sha256(path) == before


def test_a_private_name_is_refused_and_the_registry_is_not(security_registry, tmp_path):
    named = copy_registry(security_registry, tmp_path, "registry.private.db")
    assert_refused(run_serve(named, "--port", "1"), named)
    # Control: the same file under its own name is served.
    server = start(copy_registry(security_registry, tmp_path / "plain"))
    try:
        assert server.get("/registry/homes.json").status == 200
        assert server.unchanged()
    finally:
        stop(server)


def test_inspector_mode_may_open_the_private_database(private_db, password_hash):
    server = start(private_db, "--inspector", env={PASSWORD_ENV: password_hash})
    try:
        assert server.get("/registry~2Eprivate/incident_counts.json").status == 403
        login = server.login()
        assert login.status == 302
        cookie = {"ds_actor": login.cookies()["ds_actor"]}
        rows = server.get(
            "/registry~2Eprivate/incident_counts.json?_shape=array", cookies=cookie
        )
        assert rows.status == 200
        assert '"incidents_count": 3' in rows.text
        assert server.unchanged()
    finally:
        stop(server)
