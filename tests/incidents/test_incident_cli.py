"""`ofsted-homes load-incidents` and `ofsted-homes review` end to end: data on
stdout, chatter on stderr, one clear line and no traceback for an expected
failure; and a real `ofsted-homes serve` process that does not show a private
load."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from net_support import free_port

from registry.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_load_review_accept(registry, tmp_path, kit):
    db_path = tmp_path / "registry.db"
    registry.conn.close()
    path = kit.write_csv(
        tmp_path / "foi.csv",
        [
            ["Home", "Owner", "Council", "Beds", "Month", "Episodes"],
            [
                "Rose Cottage",
                "Safe Haven Residential Ltd",
                "Birmingham City Council",
                "6",
                "April 2023",
                "4",
            ],
            [
                "Rose Cottage",
                "Safe Haven Residential Ltd",
                "Birmingham City Council",
                "6",
                "May 2023",
                "9",
            ],
        ],
    )
    result = run(
        "load-incidents", db_path, path, "--source", "Test FOI", "--licence", "OGL v3.0"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert (
        "2 counts from 2 rows" in result.stderr
        and "2 queued for review" in result.stderr
    )
    listing = run("review", db_path)
    lines = [line.split("\t") for line in listing.stdout.splitlines()]
    assert {line[1] for line in lines} == {"1000007", "1000008"}
    assert "1 rows wait for review" in listing.stderr
    assert (
        "Rose Cottage" not in listing.stdout
    )  # the home's name is never shown or kept
    row_key = lines[0][0]
    accepted = run("review", db_path, "--accept", f"{row_key}=1000008")
    assert accepted.exit_code == 0
    assert "2 incident rows changed" in accepted.stderr
    assert run("review", db_path).stdout == ""


def test_private_flag_and_errors(registry, tmp_path, kit):
    db_path = tmp_path / "registry.db"
    registry.conn.close()
    path = kit.write_csv(
        tmp_path / "annex.csv",
        [["URN", "Year", "Incidents"], ["SC100001", "2023", "8"]],
    )
    result = run("load-incidents", db_path, path, "--source", "Annex A", "--private")
    assert result.exit_code == 0
    assert "[private]" in result.stderr
    assert (tmp_path / "registry.private.db").exists()
    # expected failures: one line naming the file and the fix, exit 1
    odd = kit.write_csv(tmp_path / "odd.csv", [["a", "b"], ["1", "2"]])
    failed = run("load-incidents", db_path, odd, "--source", "x")
    assert failed.exit_code == 1
    assert failed.stderr.startswith("Error: odd.csv: no header row")
    assert "--map" in failed.stderr and "Traceback" not in failed.stderr
    bad_map = run("load-incidents", db_path, path, "--source", "x", "--map", "Beds")
    assert bad_map.exit_code == 2 and "COLUMN=FIELD" in bad_map.stderr
    missing = run("load-incidents", tmp_path / "nope.db", path, "--source", "x")
    assert missing.exit_code == 1 and "no such registry" in missing.stderr
    typo = run("review", db_path, "--accept", "nosuchkey=SC10001")
    assert typo.exit_code == 1 and "is not a URN" in typo.stderr
    absent = run("review", db_path, "--accept", "nosuchkey=SC999999")
    assert absent.exit_code == 1 and "not a home in the registry" in absent.stderr
    unknown = run("review", db_path, "--accept", "nosuchkey=SC100001")
    assert unknown.exit_code == 1 and "no incident rows with key" in unknown.stderr


def test_real_server_does_not_serve_the_private_load(registry, tmp_path, kit):
    db_path = tmp_path / "registry.db"
    registry.conn.close()
    secret = kit.write_csv(
        tmp_path / "annex.csv",
        [["URN", "Year", "Incidents"], ["SC100001", "2023", "8642"]],
    )
    assert (
        run(
            "load-incidents", db_path, secret, "--source", "Secret Annex", "--private"
        ).exit_code
        == 0
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("ofsted-homes")),
            "serve",
            str(db_path),
            "--port",
            str(port),
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/databases.json", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        for path in (
            "/registry/incident_counts.csv",
            "/registry/incident_sources.json",
            "/-/databases.json",
        ):
            body = urllib.request.urlopen(base + path, timeout=5).read().decode()
            assert "8642" not in body and "Secret Annex" not in body
        assert (
            "private"
            not in urllib.request.urlopen(base + "/-/databases.json").read().decode()
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
