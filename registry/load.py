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
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
    prepared: Future | None = None,
) -> FileResult:
    """Load one file in one transaction. Never raises for a bad file: the
    result says what went wrong, and nothing of that file is kept.

    ``prepared`` is a future of ``registry.spreadsheets.parse_tabular`` when a
    worker process has read the file already."""
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
            extra = {"parsed": prepared} if prepared is not None else {}
            return loader(db, source, as_at=as_at, strict=strict, **extra)
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


class _Readahead:
    """Read (parse) the next spreadsheets in a worker process while the main
    process writes the current one: the two cores work at once. Files already
    loaded are not read."""

    LOOKAHEAD = 2

    def __init__(
        self, db: Database, paths: list[Path], *, as_at: dt.date | None
    ) -> None:
        self.as_at = as_at
        self.queue = (
            [p for p in paths if _needs_loading(db, p)] if len(paths) > 1 else []
        )
        self.futures: dict[Path, Future] = {}
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Readahead:
        if len(self.queue) > 1:
            self.pool = ProcessPoolExecutor(max_workers=1)
            for path in self.queue[: self.LOOKAHEAD]:
                self._submit(path)
        return self

    def _submit(self, path: Path) -> None:
        from registry.spreadsheets import parse_tabular

        assert self.pool is not None
        self.futures[path] = self.pool.submit(parse_tabular, path, as_at=self.as_at)

    def next_for(self, path: Path) -> Future | None:
        future = self.futures.pop(path, None)
        if self.pool is not None and path in self.queue:
            index = self.queue.index(path) + self.LOOKAHEAD
            if index < len(self.queue) and self.queue[index] not in self.futures:
                self._submit(self.queue[index])
        return future

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _needs_loading(db: Database, path: Path) -> bool:
    try:
        if is_pdf(path) or path.stat().st_size == 0:
            return False
        return not db["sources"].count_where("sha256 = ?", [sha256_of(path)])
    except OSError:
        return False


def is_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"%PDF-"
    except OSError:
        return False


def load_files(
    db: Database,
    paths: Iterable[Path],
    *,
    as_at: dt.date | None = None,
    strict: bool = False,
    is_sample: bool = False,
    echo: Callable[[str], None] | None = None,
    workers: int = 2,
) -> list[FileResult]:
    """Load many files; one bad file never stops the others.

    Spreadsheets and CSV files load one by one, each in its own transaction.
    Report PDFs are parsed in parallel in sandboxed child processes
    (``registry.reports.load_reports``). Afterwards inspections are linked to
    the reports that describe them.
    """
    paths = [Path(p) for p in paths]
    pdfs = [p for p in paths if is_pdf(p)]
    others = [p for p in paths if p not in set(pdfs)]
    results: dict[Path, FileResult] = {}
    with _Readahead(db, others, as_at=as_at) as readahead:
        for number, path in enumerate(others, start=1):
            if echo and len(others) > 1:
                echo(f"[{number}/{len(others)}] {path.name} …")
            options = {"as_at": as_at, "strict": strict, "is_sample": is_sample}
            try:
                try:
                    prepared = readahead.next_for(path)
                    results[path] = load_file(db, path, **options, prepared=prepared)
                except BrokenProcessPool:
                    # The read-ahead worker died (killed, out of memory): read
                    # this file and the rest here, each still on its own.
                    readahead.queue, readahead.futures = [], {}
                    results[path] = load_file(db, path, **options)
            except Exception as error:  # one bad file never stops the others
                logger.debug("%s: load failed", path, exc_info=True)
                detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                results[path] = FileResult(
                    path,
                    False,
                    f"{path.name}: could not be loaded ({detail}); nothing of it "
                    "was kept. Check the file, or report this with the file attached.",
                )
    if pdfs:
        from registry.reports import load_reports

        def progress(done: int, total: int, _outcome: object) -> None:
            if echo and (done == total or done % 25 == 0):
                echo(f"Reading reports: {done:,}/{total:,}")

        for result in load_reports(
            db,
            pdfs,
            workers=workers,
            progress=progress,
            is_sample=is_sample,
            strict=strict,
        ):
            results[result.path] = result
    elif "reports" in db.table_names():
        from registry.reports import link_reports

        with db.atomic():
            link_reports(db)
    return [results[p] for p in paths if p in results]
