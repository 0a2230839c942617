"""The load loop: reads in worker processes, writes as the reads finish, and
a worker that dies never costs a file."""

from __future__ import annotations

import os

from registry_support import FIXTURES, dump

import registry.loading.files as files
from registry.loading.files import load_files
from registry.writes import writer

SHEETS = sorted(FIXTURES.glob("*.csv"))


def die_reading(path, *, as_at=None):  # runs in a worker process
    os._exit(9)


def test_files_read_by_workers_give_the_registry_one_by_one_gives(tmp_path):
    together, apart = tmp_path / "together.db", tmp_path / "apart.db"
    with writer(together, "load", per_file=True) as db:
        results = load_files(db, SHEETS)
    assert [r.path for r in results] == SHEETS  # in the order given
    assert all(r.ok for r in results), [r.summary for r in results if not r.ok]
    for path in SHEETS:
        with writer(apart, "load", per_file=True) as db:
            assert load_files(db, [path])[0].ok
    assert dump(together) == dump(apart)


def test_a_worker_that_dies_costs_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "parse_tabular", die_reading)
    dead, alive = tmp_path / "dead.db", tmp_path / "alive.db"
    with writer(dead, "load", per_file=True) as db:
        results = load_files(db, SHEETS)
    assert all(r.ok for r in results), [r.summary for r in results if not r.ok]
    monkeypatch.undo()
    with writer(alive, "load", per_file=True) as db:
        load_files(db, SHEETS)
    assert dump(dead) == dump(alive)
