"""Provenance: the file a row came from (``sources``) and what was wrong in it
(``problems``).

Every loader receives a :class:`Source` (path, sha256, URL, fetch time) and
returns a :class:`FileResult`; it records the file with :func:`record_source`
and bad cells with :func:`record_problem`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database


@dataclass(frozen=True)
class Source:
    """A file about to be loaded, with its provenance."""

    path: Path
    sha256: str
    url: str | None = None
    fetched_at: str | None = None
    is_sample: bool = False

    @property
    def file_name(self) -> str:
        return self.path.name


@dataclass
class FileResult:
    path: Path
    ok: bool
    summary: str
    skipped: bool = False
    kind: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def utc_now() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


def record_source(
    db: Database,
    source: Source,
    *,
    kind: str,
    description: str | None = None,
    as_at: str | None = None,
    year: str | None = None,
    release: str | None = None,
    rows_read: int = 0,
    rows_loaded: int = 0,
    rows_skipped: int = 0,
    problems_count: int = 0,
) -> None:
    db["sources"].upsert(
        {
            "sha256": source.sha256,
            "file_name": source.file_name,
            "kind": kind,
            "description": description,
            "as_at": as_at,
            "year": year,
            "release": release,
            "url": source.url,
            "fetched_at": source.fetched_at,
            "rows_read": rows_read,
            "rows_loaded": rows_loaded,
            "rows_skipped": rows_skipped,
            "problems_count": problems_count,
            "is_sample": int(source.is_sample),
            "loaded_at": utc_now(),
        },
        pk="sha256",
    )


def record_problem(
    db: Database,
    source: Source,
    message: str,
    *,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    value: object = None,
) -> None:
    """A bad cell or row, published as data in the `problems` table."""
    text_value = None if value is None else str(value)[:500]
    problem_id = hashlib.sha1(
        "|".join(
            str(p) for p in (source.sha256, sheet, row, column, text_value, message)
        ).encode()
    ).hexdigest()[:20]
    db["problems"].upsert(
        {
            "id": problem_id,
            "source_id": source.sha256,
            "file_name": source.file_name,
            "sheet": sheet,
            "row": row,
            "column": column,
            "value": text_value,
            "message": message,
        },
        pk="id",
    )
