"""Load files into the registry: recognise each by its content, read it with the
pure readers in `extract`, and write it in one transaction.

Contract for every loader (spreadsheets here, report PDFs in
``registry.reports``, police tables in ``registry.police``):

* it receives a :class:`Source` (path, sha256, provenance) and returns a
  :class:`FileResult`;
* it runs inside the single transaction ``load_file`` opens, so a failure
  leaves nothing behind;
* it records the file with :func:`record_source` and bad cells with
  :func:`record_problem`; rows are upserted, never replaced or deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from extract.errors import ExtractError

logger = logging.getLogger(__name__)


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


def load_file(
    db: Database,
    path: Path,
    *,
    as_at: dt.date | None = None,
    strict: bool = False,
    is_sample: bool = False,
    url: str | None = None,
    fetched_at: str | None = None,
) -> FileResult:
    """Load one file in one transaction. Never raises for a bad file: the
    result says what went wrong, and nothing of that file is kept."""
    path = Path(path)
    try:
        if not path.exists():
            return FileResult(path, False, f"{path}: no such file")
        if path.stat().st_size == 0:
            return FileResult(path, False, f"{path.name}: the file is empty")
        source = Source(path, sha256_of(path), url, fetched_at, is_sample)
    except OSError as error:
        return FileResult(
            path, False, f"{path.name}: cannot read it ({error.strerror})"
        )
    existing = db["sources"].count_where("sha256 = ?", [source.sha256])
    if existing:
        return FileResult(
            path,
            True,
            f"{path.name}: already loaded (same SHA-256), skipped",
            skipped=True,
        )
    loader = _choose_loader(path)
    try:
        with db.atomic():  # one transaction: all of the file or none of it
            # a provisional row that problems can point at; the loader completes it
            record_source(db, source, kind="pending")
            return loader(db, source, as_at=as_at, strict=strict)
    except ExtractError as error:
        return FileResult(path, False, str(error))


Loader = Callable[..., FileResult]


def _choose_loader(path: Path) -> Loader:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF"):
        return lazy_loader("registry.reports:load_report")
    return lazy_loader("registry.spreadsheets:load_tabular")


def lazy_loader(spec: str) -> Loader:
    """A loader imported on first use, named ``"module:function"``."""
    module_name, _, attribute = spec.partition(":")

    def loader(db: Database, source: Source, **options: object) -> FileResult:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            return FileResult(
                source.path,
                False,
                f"{source.file_name}: this kind of file is not supported yet",
            )
        return getattr(module, attribute)(db, source, **options)

    return loader


def load_files(
    db: Database,
    paths: Iterable[Path],
    *,
    as_at: dt.date | None = None,
    strict: bool = False,
    is_sample: bool = False,
    echo: Callable[[str], None] | None = None,
) -> list[FileResult]:
    """Load many files; one bad file never stops the others. After loading,
    the derived tables (`homes`, `inspections`) are brought up to date."""
    results = []
    paths = list(paths)
    for number, path in enumerate(paths, start=1):
        if echo and len(paths) > 1:
            echo(f"[{number}/{len(paths)}] {Path(path).name} …")
        results.append(
            load_file(db, path, as_at=as_at, strict=strict, is_sample=is_sample)
        )
    return results
