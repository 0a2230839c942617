"""The registry's writer lock: one refresh or load writes at a time.

Example::

    with refresh_lock(Path("registry.db")):
        ...  # raises RefreshLocked if another process holds it
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from registry.errors import RegistryError
from registry.provenance import utc_now


class RefreshLocked(RegistryError):
    "Another refresh or load holds the registry's writer lock"


@contextmanager
def refresh_lock(db_path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on ``<db>.lock`` (released on exit,
    and by the kernel if the process dies)."""
    lock_path = Path(f"{db_path}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise RefreshLocked(
                f"{db_path}: another refresh or load is writing to it ({holder}); "
                f"wait for it, or remove {lock_path} if none is running"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {utc_now()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
