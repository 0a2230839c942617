"""Serve each newly published registry without a restart.

Every write reaches the published file as a whole new file renamed over it
(``registry.publish.publish``), never as a change in place, so the file a
Datasette ``Database`` opened ``immutable`` never changes under it. Before
each request this plugin compares the file at each database's path with the
one its ``Database`` object was made for (inode, device, size, modification
time). When a new file has been published, a fresh ``Database`` object takes
the name: the request and every later one read the new file from their
first query, while requests already running finish on the old object's
connections, which still hold the old file open. Each query therefore reads
one published registry, the old or the new, never a mix, and nobody has to
restart the server after a refresh. The old object's connections are closed
a few minutes later.

The crossdb ``_memory`` database (inspector mode) attaches the other
databases when its connections open, so it is replaced at the same time.
"""

from __future__ import annotations

import asyncio
import os
import threading

from datasette.database import Database

from datasette import hookimpl

# Requests that started on the old file have at most this long to finish
# before its connections are closed (queries are limited to seconds).
CLOSE_AFTER_SECONDS = 300

# A published (immutable) file is read through a memory map of up to this
# many bytes: SQLite reads pages in place instead of copying each into its
# cache, about a third off the stories that look up many rows at random at
# ten times today's registry (bench/bench_serve.py). Safe because a published
# file is never changed or shortened in place: it is replaced by a rename.
MMAP_BYTES = 1 << 30


class PublishedDatabase(Database):
    """A ``Database`` whose connections belong to the object, not to its
    name: Datasette 0.65 keeps each thread's connection under the database's
    name, so a fresh object of the same name would go on reading the old
    file through them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._connections = threading.local()

    def connect(self, write=False):
        conn = super().connect(write=write)
        if not (write or self.is_mutable or self.is_memory):
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        return conn

    async def execute_fn(self, fn):
        if self.ds.executor is None:  # non-threaded mode: one per object already
            return await super().execute_fn(fn)

        def in_thread():
            conn = getattr(self._connections, "conn", None)
            if conn is None:
                conn = self.connect()
                self.ds._prepare_connection(conn, self.name)
                self._connections.conn = conn
            return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(
            self.ds.executor, in_thread
        )


def _identity(path: str) -> tuple[int, int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:  # gone for a moment: keep serving the file we have
        return None
    return (stat.st_ino, stat.st_dev, stat.st_size, stat.st_mtime_ns)


def follow_published(datasette) -> list[str]:
    """Swap in a fresh ``Database`` for each file-backed database whose file
    is not the one its object was made for; the names swapped."""
    databases = datasette.databases
    stale = []
    for name, db in databases.items():
        if db.is_memory or not db.path:
            continue
        now = _identity(db.path)
        if now is not None and getattr(db, "_ofsted_identity", None) != now:
            stale.append((name, now))
    if not stale:
        return []
    replaced = dict(databases)
    old = []
    for name, now in stale:
        db = databases[name]
        fresh = PublishedDatabase(datasette, path=db.path, is_mutable=db.is_mutable)
        fresh.name, fresh.route = db.name, db.route
        fresh._ofsted_identity = now
        replaced[name] = fresh
        old.append(db)
    memory = databases.get("_memory")
    if datasette.crossdb and memory is not None:
        fresh = PublishedDatabase(datasette, is_memory=True)
        fresh.name, fresh.route = memory.name, memory.route
        replaced["_memory"] = fresh
        old.append(memory)
    datasette.databases = replaced  # one assignment: requests see old or new
    _close_later(old)
    return [name for name, _ in stale]


def _close_later(databases: list[Database]) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for db in databases:
        # first sight of a database (no identity yet) swaps an object that
        # may never have opened a connection: closing it is harmless
        loop.call_later(CLOSE_AFTER_SECONDS, db.close)


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def follow_then_serve(scope, receive, send):
            if scope.get("type") == "http":
                follow_published(datasette)
            await app(scope, receive, send)

        return follow_then_serve

    return wrap
