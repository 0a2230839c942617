"""Load files into the registry: recognise each by its content, read it with the
pure readers in `extract`, and write it in one transaction. ``load_files`` is
the one "load many files" loop: ``ofsted-homes load`` and ``refresh`` both use it.

Contract for every loader (spreadsheets in ``registry.loading.spreadsheets``,
report PDFs in ``registry.reports.reports``, police tables in
``registry.incidents.police``; provenance helpers in ``registry.provenance``):

* it receives a :class:`Source` (path, sha256, provenance) and returns a
  :class:`FileResult`;
* it runs inside the single transaction ``load_file`` opens, so a failure
  leaves nothing behind;
* it records the file with :func:`record_source` and bad cells with
  :func:`record_problem`; rows are upserted, never replaced or deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from extract.errors import ExtractError
from extract.kinds import is_pdf, parse_tabular
from registry.derive.derive import derive_pending
from registry.loading.spreadsheets import load_tabular
from registry.provenance import FileResult, Source, record_source, sha256_of
from registry.reports.reports import link_reports, load_report, load_reports

logger = logging.getLogger(__name__)


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
    derive: bool = True,
) -> FileResult:
    """Load one file in one transaction. Never raises for a bad file: the
    result says what went wrong, and nothing of that file is kept.

    ``prepared`` is a future of ``extract.kinds.parse_tabular`` when a
    worker process has read the file already. With ``derive`` (the default)
    the homes it observed are derived in the same transaction; ``load_files``
    derives once per batch instead."""
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
    loader = load_report if is_pdf(path) else load_tabular
    try:
        with db.atomic():  # one transaction: all of the file or none of it
            # a provisional row that problems can point at; the loader completes it
            record_source(db, source, kind="pending")
            extra = {"parsed": prepared} if prepared is not None else {}
            result = loader(db, source, as_at=as_at, strict=strict, **extra)
            if derive:
                derive_pending(db)
            return result
    except ExtractError as error:
        return FileResult(path, False, str(error))


class _Readahead:
    """Read (parse) spreadsheets in two worker processes while the main
    process writes the ones already read: the reads, most of a load's work,
    use both cores and the writes fill the gaps. The largest file is read
    first, so the longest read starts at once; files are written as their
    reads finish (the registry is the same in any order). At most
    ``LOOKAHEAD`` reads are in flight, so memory stays flat however many
    files there are. Files already loaded are not read."""

    LOOKAHEAD = 3
    WORKERS = 2

    def __init__(
        self, db: Database, paths: list[Path], *, as_at: dt.date | None
    ) -> None:
        self.as_at = as_at
        self.paths = list(paths)
        queue = [p for p in paths if _needs_loading(db, p)] if len(paths) > 1 else []
        self.queue = sorted(queue, key=_size, reverse=True)
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Readahead:
        if len(self.queue) > 1:
            self.pool = ProcessPoolExecutor(
                max_workers=min(self.WORKERS, len(self.queue))
            )
        return self

    def __iter__(self) -> Iterator[tuple[Path, Future | None]]:
        """Every path once, with its read when a worker read it: first the
        files read here (already loaded, unreadable, or no pool), then the
        others as their reads finish."""
        queued = set(self.queue) if self.pool is not None else set()
        for path in self.paths:
            if path not in queued:
                yield path, None
        waiting = list(self.queue) if self.pool is not None else []
        running: dict[Future, Path] = {}
        while waiting or running:
            while waiting and len(running) < self.LOOKAHEAD:
                try:
                    assert self.pool is not None
                    future = self.pool.submit(
                        parse_tabular, waiting[0], as_at=self.as_at
                    )
                except BrokenProcessPool:
                    # a worker died (killed, out of memory): read the rest here
                    for future, path in running.items():
                        yield path, future
                    for path in waiting:
                        yield path, None
                    return
                running[future] = waiting.pop(0)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: str(running[f])):
                yield running.pop(future), future

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _needs_loading(db: Database, path: Path) -> bool:
    try:
        if is_pdf(path) or path.stat().st_size == 0:
            return False
        return not db["sources"].count_where("sha256 = ?", [sha256_of(path)])
    except OSError:
        return False


@dataclass(frozen=True)
class FileToLoad:
    """A file with where it was fetched from (a crawl's manifest entry)."""

    path: Path
    url: str | None = None
    fetched_at: str | None = None


def load_files(
    db: Database,
    paths: Iterable[Path | FileToLoad],
    *,
    as_at: dt.date | None = None,
    strict: bool = False,
    is_sample: bool = False,
    echo: Callable[[str], None] | None = None,
    echo_every: int = 1,
    workers: int = 2,
) -> list[FileResult]:
    """Load many files; one bad file never stops the others.

    Spreadsheets and CSV files are read in worker processes and written one
    by one as their reads finish, each in its own transaction;
    what they observed is derived once, after the last of them, in one more
    transaction (homes left marked by an interrupted batch are derived first).
    Report PDFs are parsed in parallel in sandboxed child processes
    (``registry.reports.reports.load_reports``). Afterwards inspections are
    linked to the reports that describe them. A :class:`FileToLoad` carries
    the URL and fetch time a crawl recorded; ``echo`` gets a progress line
    every ``echo_every`` files.
    """
    files = [f if isinstance(f, FileToLoad) else FileToLoad(Path(f)) for f in paths]
    paths = [Path(f.path) for f in files]
    fetched = {Path(f.path): f for f in files}
    pdfs = [p for p in paths if is_pdf(p)]
    others = [p for p in paths if p not in set(pdfs)]
    results: dict[Path, FileResult] = {}
    with db.atomic():  # an earlier batch that stopped before deriving
        derive_pending(db)
    with _Readahead(db, others, as_at=as_at) as readahead:
        for number, (path, prepared) in enumerate(readahead, start=1):
            if echo and len(others) > 1 and number % echo_every == 0:
                echo(f"[{number}/{len(others)}] {path.name} …")
            options = {
                "as_at": as_at,
                "strict": strict,
                "is_sample": is_sample,
                "url": fetched[path].url,
                "fetched_at": fetched[path].fetched_at,
            }
            try:
                try:
                    results[path] = load_file(
                        db, path, **options, prepared=prepared, derive=False
                    )
                except BrokenProcessPool:
                    # A read-ahead worker died (killed, out of memory): read
                    # this file here, still on its own.
                    results[path] = load_file(db, path, **options, derive=False)
            except Exception as error:  # one bad file never stops the others
                logger.debug("%s: load failed", path, exc_info=True)
                detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                results[path] = FileResult(
                    path,
                    False,
                    f"{path.name}: could not be loaded ({detail}); nothing of it "
                    "was kept. Check the file, or report this with the file attached.",
                )
    with db.atomic():  # once for the whole batch
        derive_pending(db)
    if pdfs:

        def progress(done: int, total: int, _outcome: object) -> None:
            if echo and (done == total or done % max(25, echo_every) == 0):
                echo(f"Reading reports: {done:,}/{total:,}")

        urls = {str(p): fetched[p].url for p in pdfs if fetched[p].url}
        for result in load_reports(
            db,
            pdfs,
            workers=workers,
            progress=progress,
            is_sample=is_sample,
            strict=strict,
            urls=urls or None,
        ):
            results[result.path] = result
    elif "reports" in db.table_names():
        with db.atomic():
            link_reports(db)
    return [results[p] for p in paths if p in results]
