"""Issue 9, item 11, for the owner-to-group mapping: a CSV the csv module
cannot parse (here one 200 KB field) handed to the real ``ofsted-homes
load-groups`` command gets a one-line refusal naming the file and line, exit
status 1, and nothing of it is loaded: a command that only refuses leaves
the database byte for byte as it was, and a good mapping in the same command
still loads."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

COMMAND = Path(sys.executable).with_name("ofsted-homes")
OWNERS = ("Keys Child Care Ltd", "Cambian Childcare Ltd", "Sunrise Care Limited")
GOOD = (
    "owner,pattern,group,source\n"
    "Keys Child Care Ltd,,Keys Group,Companies House PSC register (test)\n"
    ",Cambian*,Cambian Group,Annual report (test)\n"
)


def _run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(COMMAND), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def _sha256(path: Path) -> str:
    """The database as a reader would see it: the file and any WAL beside it."""
    digest = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        digest.update(wal.read_bytes())
    return digest.hexdigest()


def _long_field(path: Path) -> Path:
    """Line 3 has a 200 KB group name, over the CSV reader's field limit."""
    path.write_text(
        "owner,pattern,group,source\n"
        "Sunrise Care Limited,,Dawn Group,Companies House (test)\n"
        f'Sunrise Care Limited,,"{"G" * 200_000}",Companies House (test)\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def db_path(tmp_path) -> Path:
    """A registry with three owners and one mapping loaded by the real command."""
    from extract.normalise import owner_id
    from registry.schema.db import open_registry

    path = tmp_path / "registry.db"
    db = open_registry(path)
    with db.conn:
        for name in OWNERS:
            db["owners"].insert({"id": owner_id(name), "name": name})
    db.close()
    good = tmp_path / "first.csv"
    good.write_text(GOOD, encoding="utf-8")
    loaded = _run("load-groups", path, good)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("first.csv: 2 rules, 2 owners in 2 groups")
    return path


def _rules(path: Path) -> list[tuple[str, str]]:
    from registry.schema.db import open_registry

    db = open_registry(path, migrate=False)
    try:
        return sorted(
            (r["match"], r["group_id"])
            for r in db.query("select match, group_id from owner_group_rules")
        )
    finally:
        db.close()


def _assert_one_line_refusal(result, name: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"Error: {name} line 3: refused"), lines[0]
    assert "131,072 characters" in lines[0], lines[0]
    assert len(lines[0]) < 300, lines[0]


def test_a_bad_csv_is_refused_in_one_line_and_changes_nothing(db_path, tmp_path):
    bad = _long_field(tmp_path / "groups-long-field.csv")
    before = _sha256(db_path)
    rules = _rules(db_path)
    result = _run("load-groups", db_path, bad)
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stdout == ""
    _assert_one_line_refusal(result, bad.name)
    assert _sha256(db_path) == before
    assert _rules(db_path) == rules and len(rules) == 2


def test_a_bad_csv_does_not_stop_the_good_one_after_it(db_path, tmp_path):
    bad = _long_field(tmp_path / "groups-long-field.csv")
    good = tmp_path / "second.csv"
    good.write_text(
        "owner,pattern,group,source\nSunrise Care Limited,,Dawn Group,Test claim\n",
        encoding="utf-8",
    )
    result = _run("load-groups", db_path, bad, good)
    assert result.returncode == 1, result.stderr[-2000:]
    _assert_one_line_refusal(result, bad.name)
    assert result.stdout.startswith("second.csv: 1 rules, 1 owners in 1 groups")
    assert _rules(db_path) == [
        ("Cambian*", "cambian-group"),
        ("Keys Child Care Ltd", "keys-group"),
        ("Sunrise Care Limited", "dawn-group"),
    ]
    from registry.schema.db import open_registry

    db = open_registry(db_path, migrate=False)
    files = {r["file_name"] for r in db.query("select file_name from sources")}
    db.close()
    assert files == {"first.csv", "second.csv"}
