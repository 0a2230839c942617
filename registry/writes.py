"""The one way to write a registry: every command that writes goes through
:func:`writer` (in place: ``load``, ``load-reports``, ``load-incidents``,
``review``) or :func:`building` (a copy built, checked and published:
``refresh``).

Both take the writer lock (``<db>.lock``; see ``registry.lock``), so a write
can never be lost to a refresh renaming a copy over the file while it runs;
both open the database with foreign keys on and migrations applied; both
record what wrote in the ``writes`` table (provenance of every write, beside
``sources`` for every file).

Example::

    with writer("registry.db", "review") as db:
        decide(db, row_key, urn, "accept")

Transactions: by default the whole block is one transaction (its ``writes``
row included), so it lands completely or not at all; loaders' own
transactions nest inside it as savepoints. Bulk loads pass ``per_file=True``:
each file keeps its own transaction (a bad or interrupted file never undoes
the others) and the ``writes`` row is committed at the end. A block that
touched nothing in the database leaves no row (a private incidents load
writes only the private database, so the public registry does not even show
when it happened); a block whose files were all refused still leaves one.

``serve`` does not write and does not come through here.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

from registry.incidents.incidents import open_private
from registry.lock import refresh_lock
from registry.provenance import utc_now
from registry.publish.publish import build_copy, publish
from registry.schema.db import open_registry

# Locks this process holds (a refresh holds the lock while it crawls, then
# builds its copy under the same lock).
_HELD: dict[Path, int] = {}


@contextlib.contextmanager
def write_lock(db_path: str | Path) -> Iterator[None]:
    """The registry's writer lock, re-entrant within one process; raises
    ``RefreshLocked`` at once if another process holds it."""
    key = Path(db_path).resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    with refresh_lock(Path(db_path)):
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]


def table_names(path: str | Path) -> set[str]:
    """The tables of the database at ``path``, read without writing (empty
    when there is no such file): to check what a file is before writing it."""
    path = Path(path)
    if not path.is_file():
        return set()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("select name from sqlite_master where type = 'table'")
        return {row[0] for row in rows}
    except sqlite3.DatabaseError:
        return set()
    finally:
        conn.close()


def _is_private(path: Path) -> bool:
    """A private incidents database: incident tables and no registry."""
    tables = table_names(path)
    return "incident_counts" in tables and "homes" not in tables


def _open(path: Path, private: bool | None) -> Database:
    if private is None:
        private = _is_private(path)
    if private:
        return open_private(path)  # its own set, `writes` included
    return open_registry(path)


def _record(db: Database, purpose: str, started_at: str, outcome: str) -> None:
    db["writes"].insert(
        {
            "purpose": purpose,
            "started_at": started_at,
            "finished_at": utc_now(),
            "outcome": outcome,
            "pid": os.getpid(),
        }
    )


@contextlib.contextmanager
def writer(
    db_path: str | Path,
    purpose: str,
    *,
    per_file: bool = False,
    private: bool | None = None,
) -> Iterator[Database]:
    """Write the registry (or a private incidents database: ``private``, or
    found by its tables) at ``db_path``, under the writer lock. ``purpose``
    names what writes; a ``writes`` row records it when the block committed
    anything. Raises ``RefreshLocked`` at once if another process writes.

    The registry is written in a copy that is published over it when the
    block ends (``registry.publish.publish``), so a running ``serve`` never
    sees a file change under it and picks up the new one by itself. With
    ``per_file``, what was committed before an error is still published; a
    block that committed nothing (every file refused or already loaded)
    publishes nothing, so the file stays byte for byte as it was. A private
    incidents database is written the same way (the inspector serves it).
    """
    path = Path(db_path)
    with write_lock(path):
        if private is None:
            private = _is_private(path)
        opener = (lambda p: _open(p, True)) if private else None
        with build_copy(path, opener) as (build_path, db):
            migrated = db.conn.total_changes > 0  # opening applied migrations
            # sqlite-utils probes once for upsert support with a scratch
            # table: done now, before commits are watched
            _ = db.supports_on_conflict
            commits = _CommitWatch(build_path)
            keep = per_file  # what a per-file load committed survives an error
            try:
                with _recorded(db, purpose, per_file, commits):
                    yield db
                keep = True
            finally:
                changed = keep and (migrated or commits.seen())
                commits.close()
                db.close()
                if changed:
                    publish(build_path, path, checks=False)


class _CommitWatch:
    """Whether anything was committed to the database at ``path`` since this
    was made: ``PRAGMA data_version`` on a second connection changes exactly
    when another connection commits (a rolled-back file counts for nothing,
    unlike in ``total_changes``)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        self.start = self._version()

    def _version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def seen(self) -> bool:
        return self._version() != self.start

    def close(self) -> None:
        self.conn.close()


@contextlib.contextmanager
def _recorded(
    db: Database, purpose: str, per_file: bool, commits: _CommitWatch
) -> Iterator[None]:
    """The block's transaction(s) and its ``writes`` row (see :func:`writer`)."""
    started_at = utc_now()
    before = db.conn.total_changes
    if per_file:
        try:
            yield
        except BaseException:
            if commits.seen():
                with db.atomic():
                    _record(db, purpose, started_at, "failed")
            raise
        if commits.seen():
            with db.atomic():
                _record(db, purpose, started_at, "done")
    else:
        with db.atomic():
            yield
            if db.conn.total_changes > before:
                _record(db, purpose, started_at, "done")


@contextlib.contextmanager
def building(db_path: str | Path, purpose: str) -> Iterator[tuple[Path, Database]]:
    """A copy of the registry to build under the writer lock, to be checked
    and published over it (``registry.publish.publish.publish``); its
    ``writes`` row is part of the copy, so it exists exactly when the copy is
    published."""
    with write_lock(db_path), build_copy(Path(db_path)) as (build_path, db):
        started_at = utc_now()
        with db.atomic():
            _record(db, purpose, started_at, "published")
        yield build_path, db
