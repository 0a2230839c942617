"""Build-check-rename publication: readers see the old registry or the new
one, never a mix, and a running ``serve`` picks up each new file by itself.

Every write to a registry goes through here (``registry.writes``):

1. :func:`build_copy` copies the published file with SQLite's online backup
   (a consistent snapshot even while it is being read) to
   ``<name>.build-<pid>`` beside it (same file system, so the rename is atomic),
   and yields it open with migrations applied;
2. :func:`publish` switches the copy to ``journal_mode=DELETE`` (no ``-wal``
   beside a published file), checks it (``PRAGMA integrity_check`` and
   ``PRAGMA foreign_key_check``; ``checks=False`` for the writers other than refresh,
   whose transactions were checked by SQLite as they ran), fsyncs it, and
   ``os.replace``-s it over the published file, then fsyncs the directory.

The published file is never changed in place, so ``serve`` can keep opening
it ``immutable`` (no locking, cached counts, the database download); its
``ofsted_reload`` plugin notices the new file (a new inode) and serves it
from the next request on, while requests already running finish on the old
one.

A failure anywhere leaves the published file untouched and removes the copy.

Example::

    with build_copy(Path("registry.db")) as (path, db):
        db["crawls"].insert({...})
        db.close()
        publish(path, Path("registry.db"))
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlite_utils import Database

from registry.errors import RegistryError
from registry.schema.db import open_registry

logger = logging.getLogger(__name__)


class PublishRefused(RegistryError):
    "The new copy failed its checks; the published registry is unchanged"


@contextlib.contextmanager
def build_copy(
    db_path: Path, opener: Callable[[Path], Database] | None = None
) -> Iterator[tuple[Path, Database]]:
    db_path = Path(db_path)
    build_path = db_path.with_name(f"{db_path.name}.build-{os.getpid()}")
    _remove(build_path)
    if db_path.exists():
        source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        target = sqlite3.connect(build_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    db = (opener or open_registry)(build_path)
    try:
        yield build_path, db
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):
            db.close()
        _remove(build_path)


def check(path: Path) -> list[str]:
    """What is wrong with the database at ``path`` (empty: nothing)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [
            row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"
        ]
        orphans = conn.execute("PRAGMA foreign_key_check").fetchall()
        if orphans:
            tables = sorted({row[0] for row in orphans})
            problems.append(
                f"{len(orphans)} rows point at missing rows (tables: {', '.join(tables)})"
            )
    except sqlite3.DatabaseError as error:
        problems = [f"not a readable SQLite database ({error})"]
    finally:
        conn.close()
    return problems


def publish(build_path: Path, db_path: Path, *, checks: bool = True) -> None:
    """Check ``build_path`` (unless ``checks`` is false) and rename it over
    ``db_path``; raises :class:`PublishRefused` (leaving ``db_path`` as it
    was) if it fails."""
    build_path, db_path = Path(build_path), Path(db_path)
    conn = sqlite3.connect(build_path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    finally:
        conn.close()
    if mode.lower() != "delete":
        raise PublishRefused(f"{build_path.name}: could not leave WAL mode ({mode})")
    problems = check(build_path) if checks else []
    if problems:
        raise PublishRefused(
            f"{build_path.name}: failed its checks, so {db_path.name} was not replaced: "
            + "; ".join(problems[:5])
        )
    wal = Path(f"{db_path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise PublishRefused(
            f"{db_path.name}: another process has it open for writing (a non-empty "
            f"{wal.name} exists); stop it and run the refresh again"
        )
    with open(build_path, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(build_path, db_path)
    directory = os.open(db_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    logger.info("published %s", db_path)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()
