"""One write path: every writing command goes through ``registry.writes``
(the writer lock, foreign keys on, a ``writes`` row), so a refresh that
builds a copy and renames it over the registry can never drop a write made
while it ran: the other writers are refused while it holds the lock, and
their writes land in full once it has published."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from sqlite_utils import Database

from registry.incidents.incidents import open_private
from registry.writes import writer

ROOT = Path(__file__).resolve().parents[2]
LOCKED = "another refresh or load is writing to it"

# A refresh stand-in with the real parts refresh uses: it builds a copy under
# the writer lock (registry.writes.building), waits until told to go on, then
# checks and publishes the copy over the registry (registry.publish.publish).
REFRESH = """
import sys, time
from pathlib import Path
from registry.publish.publish import publish
from registry.writes import building
db_path, go = Path(sys.argv[1]), Path(sys.argv[2])
with building(db_path, "refresh") as (build_path, db):
    db["crawls"].insert({"id": "c1", "spider": "reports", "outcome": "merged"})
    db.close()
    print("building", flush=True)
    while not go.exists():
        time.sleep(0.05)
    publish(build_path, db_path)
print("published", flush=True)
"""


def ofsted_homes(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("ofsted-homes")), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _queued(kit, tmp_path: Path) -> tuple[Path, Path, str]:
    """A registry with one FOI row queued for review, and a second FOI file."""
    db_path = tmp_path / "registry.db"
    kit.build_registry(db_path).close()
    rows = [
        ["Home", "Owner", "Council", "Beds", "Month", "Episodes"],
        ["Rose Cottage", "Safe Haven Residential Ltd", "Birmingham City Council"],
    ]
    rows[1] += ["6", "April 2023", "4"]
    first = kit.write_csv(tmp_path / "foi.csv", rows)
    loaded = ofsted_homes("load-incidents", db_path, first, "--source", "FOI one")
    assert loaded.returncode == 0, loaded.stderr
    listing = ofsted_homes("review", db_path)
    row_key = listing.stdout.split("\t")[0]
    second = kit.write_csv(
        tmp_path / "annex.csv",
        [["URN", "Year", "Incidents"], ["SC100001", "2023", "7"]],
    )
    return db_path, second, row_key


def test_writers_during_a_refresh_are_refused_then_land_in_full(kit, tmp_path):
    db_path, second, row_key = _queued(kit, tmp_path)
    go = tmp_path / "go"
    refresh = subprocess.Popen(
        [sys.executable, "-c", REFRESH, str(db_path), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert refresh.stdout.readline().strip() == "building", refresh.stderr.read()
        # while the refresh holds its copy, every other writer is refused at once
        review = ofsted_homes("review", db_path, "--accept", f"{row_key}=1000008")
        load = ofsted_homes("load-incidents", db_path, second, "--source", "Annex A")
        for result in (review, load):
            assert result.returncode == 2, result.stderr
            assert LOCKED in result.stderr and "Traceback" not in result.stderr
        go.touch()
        assert refresh.stdout.readline().strip() == "published", refresh.stderr.read()
    finally:
        go.touch()
        refresh.wait(timeout=60)
    assert refresh.returncode == 0
    # after the publish, the same writes go through, on top of the refresh's
    assert (
        ofsted_homes("review", db_path, "--accept", f"{row_key}=1000008").returncode
        == 0
    )
    loaded = ofsted_homes("load-incidents", db_path, second, "--source", "Annex A")
    assert loaded.returncode == 0, loaded.stderr
    db = Database(db_path)
    assert db["crawls"].count == 1  # the refresh's
    assert db["match_decisions"].count == 1  # the review's
    assert db["incident_sources"].count_where("name = 'Annex A'") == 1  # the load's
    writes = [r["purpose"] for r in db.query("select purpose from writes order by id")]
    assert writes[-3:] == ["refresh", "review", "load-incidents"]


def test_writers_at_once_never_lose_a_write(kit, tmp_path):
    """Refresh, review and load-incidents started together: whatever the
    order, each either lands in the published registry or is refused."""
    db_path, second, row_key = _queued(kit, tmp_path)
    go = tmp_path / "go"
    go.touch()  # the refresh stand-in publishes as soon as it has built
    commands = {
        "refresh": [sys.executable, "-c", REFRESH, str(db_path), str(go)],
        "review": [
            str(Path(sys.executable).with_name("ofsted-homes")),
            "review",
            str(db_path),
            "--accept",
            f"{row_key}=1000008",
        ],
        "load": [
            str(Path(sys.executable).with_name("ofsted-homes")),
            "load-incidents",
            str(db_path),
            str(second),
            "--source",
            "Annex A",
        ],
    }
    running = {
        name: subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, command in commands.items()
    }
    codes = {}
    for name, process in running.items():
        _, err = process.communicate(timeout=120)
        codes[name] = process.returncode
        if process.returncode != 0:  # refused, never half-done
            assert LOCKED in err, (name, err)
    db = Database(db_path)
    done = {r["purpose"] for r in db.query("select purpose from writes")}
    assert ("refresh" in done) == (codes["refresh"] == 0)
    assert (db["crawls"].count == 1) == (codes["refresh"] == 0)
    assert (db["match_decisions"].count == 1) == (codes["review"] == 0)
    assert (db["incident_sources"].count_where("name = 'Annex A'") == 1) == (
        codes["load"] == 0
    )
    assert any(code == 0 for code in codes.values())


def test_the_writer_opens_with_foreign_keys_and_records_the_write(kit, tmp_path):
    db_path = tmp_path / "registry.db"
    kit.build_registry(db_path).close()
    private = open_private(tmp_path / "registry.private.db")
    private.close()
    for path in (db_path, tmp_path / "registry.private.db"):
        with writer(path, "test") as db:
            assert db.execute("pragma foreign_keys").fetchone()[0] == 1
            db["match_decisions"].insert(
                {"row_key": "k", "urn": "SC100001", "decision": "accept"}
                | {"decided_at": "2024-01-01"}
            )
        rows = list(Database(path).query("select purpose, outcome from writes"))
        assert rows == [{"purpose": "test", "outcome": "done"}]
    # the private database stays private: no registry tables appear in it
    assert "homes" not in Database(tmp_path / "registry.private.db").table_names()
    # a block that fails leaves nothing, not even its writes row
    try:
        with writer(db_path, "broken") as db:
            db["match_decisions"].insert(
                {"row_key": "k2", "urn": "SC100002", "decision": "accept"}
                | {"decided_at": "2024-01-01"}
            )
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    after = Database(db_path)
    assert after["match_decisions"].count == 1
    assert after["writes"].count == 1
    # a block that changes nothing leaves no writes row
    with writer(db_path, "look"):
        pass
    assert Database(db_path)["writes"].count == 1


# Modules that may open a database: the write path itself, the schema, the
# build copy of a refresh, the private database's opener, and the refresh's
# read of its last good crawl (under the writer lock).
OPENERS = {
    "registry/writes.py",
    "registry/schema/db.py",
    "registry/publish/publish.py",
    "registry/incidents/incidents.py",
    "registry/refresh/crawls.py",
}


def test_no_command_opens_the_registry_except_through_the_writer():
    """A new command cannot bypass the write path: outside the modules above,
    nothing in registry/ calls Database(...) or open_registry(...)."""
    found = []
    for path in sorted((ROOT / "registry").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in OPENERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.attr
                    if isinstance(func, ast.Attribute)
                    else getattr(func, "id", "")
                )
                if name in {"Database", "open_registry"}:
                    found.append(f"{relative}:{node.lineno} {name}(...)")
    assert found == []


def test_a_private_load_leaves_no_trace_in_the_registry(kit, tmp_path):
    db_path = tmp_path / "registry.db"
    kit.build_registry(db_path).close()
    secret = kit.write_csv(
        tmp_path / "annex.csv",
        [["URN", "Year", "Incidents"], ["SC100001", "2023", "9"]],
    )
    result = ofsted_homes(
        "load-incidents", db_path, secret, "--source", "Annex A", "--private"
    )
    assert result.returncode == 0, result.stderr
    assert Database(db_path)["writes"].count == 0
    private = Database(tmp_path / "registry.private.db")
    assert private["incident_counts"].count == 1
    assert private["sources"].count == 1  # its provenance stays private too
