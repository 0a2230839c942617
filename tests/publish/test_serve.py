"""`ofsted-homes serve`: its errors, and a real server process."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request

from click.testing import CliRunner

from registry.cli.main import cli
from registry.publish.serve import PASSWORD_HASH_ENV


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serve_help_has_an_example():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    assert "ofsted-homes serve registry.db" in result.output
    assert PASSWORD_HASH_ENV in result.output


def test_serve_refuses_a_missing_registry(tmp_path):
    result = CliRunner().invoke(cli, ["serve", str(tmp_path / "nope.db")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'nope.db'}: no such registry. Build one first: "
        f"ofsted-homes load {tmp_path / 'nope.db'} FILES..."
    ]


def test_serve_refuses_a_private_database_in_public_mode(
    registry_path, private_db_path
):
    result = CliRunner().invoke(
        cli, ["serve", str(registry_path), "--private-db", str(private_db_path)]
    )
    assert result.exit_code == 1
    assert "only served in inspector mode" in result.output
    assert "Traceback" not in result.output


def test_inspector_mode_needs_a_password_hash(registry_path, monkeypatch):
    monkeypatch.delenv(PASSWORD_HASH_ENV, raising=False)
    result = CliRunner().invoke(cli, ["serve", str(registry_path), "--inspector"])
    assert result.exit_code == 1
    assert f"${PASSWORD_HASH_ENV} is not set" in result.output


def test_real_server_serves_pages_read_only(live_server, registry_path):
    before = hashlib.sha256(registry_path.read_bytes()).hexdigest()
    status, _, body = get(live_server + "/home/SC100001")
    assert status == 200
    assert b"Children's home SC100001" in body
    status, _, body = get(live_server + "/registry/market_snapshot.json?_shape=array")
    assert status == 200
    assert json.loads(body)[0]["sector"] == "Private"
    status, _, body = get(live_server + "/registry.json?sql=delete+from+homes")
    assert status == 400
    request = urllib.request.Request(
        live_server + "/registry/homes", data=b"x=1", method="POST"
    )
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("POST accepted")
    except urllib.error.HTTPError as error:
        assert error.code == 405
    status, _, body = get(live_server + "/registry.db")
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == before
    assert hashlib.sha256(registry_path.read_bytes()).hexdigest() == before
    assert not registry_path.with_name(registry_path.name + "-wal").exists()


def test_serve_refuses_a_registry_with_unmerged_wal(registry_path, tmp_path):
    import shutil
    import sqlite3

    path = tmp_path / "registry.db"
    shutil.copyfile(registry_path, path)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("insert into owners (id, name) values ('late', 'Late Ltd')")
    writer.commit()
    try:
        result = CliRunner().invoke(cli, ["serve", str(path)])
        assert result.exit_code == 1
        assert "registry.db-wal holds changes not yet in the database" in result.output
    finally:
        writer.close()
