"""Run ``extract_report`` in child processes with memory, CPU and wall-clock
limits, so that no PDF can crash or stall the caller.

pdfium and pdfminer decompress streams with no size cap: a 5 KB PDF can ask
for 2 GB. Each worker process sets ``RLIMIT_AS`` (memory) and ``RLIMIT_CPU``
(per file) on itself; the parent kills a worker that passes the wall-clock
limit and starts a new one. Every file ends as exactly one :class:`Outcome`:
a report, or a failure classified with a ``kind`` from
``extract.reports.ERROR_KINDS``. The parent only receives small picklable
records, so its memory stays flat however bad the files are.

Example::

    with SandboxPool(workers=2) as pool:
        for outcome in pool.map(paths, progress=lambda done, total, o: ...):
            if outcome.ok:
                print(outcome.report.urn)
            else:
                print(outcome.error_kind, outcome.message)
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import resource
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from extract.reports import (
    MAX_BYTES,
    MAX_OBJECTS,
    MAX_PAGES,
    READER_MODULES,
    InspectionReport,
    ReportError,
    extract_report,
    report_error,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Limits for parsing one PDF in a worker process."""

    memory_bytes: int = 1 << 30
    cpu_seconds: int = 60
    wall_seconds: float = 90.0
    max_bytes: int = MAX_BYTES
    max_pages: int = MAX_PAGES
    #: Drawing objects in one PDF: a counted work limit, the same on every machine.
    max_objects: int = MAX_OBJECTS
    #: A worker is replaced after this many files (pdfium keeps caches: a
    #: worker's resident memory grows from about 24 MB to 29 MB over 200
    #: sample reports, 46 MB over 1,000). Each new worker costs a fork and
    #: its first-touch page copies.
    tasks_per_worker: int = 200

    def __post_init__(self) -> None:
        for name in (
            "memory_bytes",
            "cpu_seconds",
            "wall_seconds",
            "max_bytes",
            "max_objects",
        ):
            value = getattr(self, name)
            if value <= 0:
                raise ValueError(f"{name} must be positive: {value}")
        if self.memory_bytes < 128 << 20:
            raise ValueError(
                f"memory_bytes must be at least 128 MB to start Python: {self.memory_bytes}"
            )
        if self.tasks_per_worker < 1:
            raise ValueError(
                f"tasks_per_worker must be at least 1: {self.tasks_per_worker}"
            )

    @classmethod
    def resolve(cls, value: Limits | dict | None) -> Limits:
        if value is None:
            return cls()
        if isinstance(value, Limits):
            return value
        return cls(**value)


@dataclass(frozen=True)
class Outcome:
    """What became of one PDF: a report, or a classified failure."""

    path: Path
    report: InspectionReport | None
    error_kind: str | None = None
    message: str | None = None
    seconds: float = 0.0
    #: CPU time the worker spent on this file (None when the worker died).
    cpu_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None

    def error(self) -> ReportError:
        return report_error(self.error_kind or "parse_error", self.message or "")


ProgressCallback = Callable[[int, int, Outcome], None]

# ------------------------------------------------------------------- worker


def _set_limits(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # No RLIMIT_FSIZE: it also stops the worker writing to a stderr that is
    # redirected to a file, and pdfium writes no files.


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_main(conn: Connection, limits: Limits) -> None:
    """A worker: receive paths, send back ("ok", report) or ("error", kind,
    message), until it receives None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_limits(limits)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        # RLIMIT_CPU counts the whole process: allow cpu_seconds more each
        # file by moving the soft limit (SIGXCPU) only; raising the hard limit
        # again would need privileges.
        soft = int(_cpu_used()) + limits.cpu_seconds + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        path = Path(task)
        cpu_before = _cpu_used()
        try:
            report = extract_report(
                path,
                max_bytes=limits.max_bytes,
                max_pages=limits.max_pages,
                max_objects=limits.max_objects,
            )
            message: tuple = ("ok", report)
        except ReportError as error:
            message = ("error", error.kind, str(error))
        except MemoryError:
            message = (
                "error",
                "memory",
                f"{path.name}: reading it needed more than the "
                f"{limits.memory_bytes >> 20} MB limit (a decompression bomb?)",
            )
        except RecursionError:
            message = (
                "error",
                "parse_error",
                f"{path.name}: nesting too deep to parse",
            )
        except Exception as error:  # an unexpected library failure on bad input
            message = (
                "error",
                "parse_error",
                f"{path.name}: {type(error).__name__}: {str(error)[:300]}",
            )
        try:
            conn.send((*message, _cpu_used() - cpu_before))
        except (MemoryError, OSError):
            return


def _describe_death(
    path: Path, exitcode: int | None, limits: Limits
) -> tuple[str, str]:
    """Classify a worker that died while reading ``path``."""
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        if number == signal.SIGXCPU:
            return "timeout", (
                f"{path.name}: reading it used more than {limits.cpu_seconds} s of CPU"
            )
        if number in (
            signal.SIGABRT,
            signal.SIGSEGV,
            signal.SIGBUS,
            signal.SIGTRAP,
            signal.SIGILL,
        ):
            return "memory", (
                f"{path.name}: the PDF library died ({signal.Signals(number).name}) "
                f"under the {limits.memory_bytes >> 20} MB memory limit (a "
                "decompression bomb?)"
            )
        if number == signal.SIGKILL:
            return "memory", (
                f"{path.name}: the worker was killed (out of memory?) while reading it"
            )
    return "parse_error", (
        f"{path.name}: the PDF library exited unexpectedly (exit code {exitcode})"
    )


# --------------------------------------------------------------------- pool


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(
            ["extract.sandbox", "extract.reports", *READER_MODULES, "pypdfium2"]
        )
        return ctx
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Hide the parent's main script while a worker starts.

    A forkserver or spawned child runs the parent's ``__main__`` again, in case
    the target was defined there. Under the CLI that is the ``ofsted-homes``
    script, which imports the whole command line (half a second of CPU or
    more, in every worker). The worker's target lives in this module and needs
    none of it, so the child is told there is no main script.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    spec = getattr(main, "__spec__", None)
    missing = object()
    path = main.__dict__.pop("__file__", missing)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__spec__ = spec
        if path is not missing:
            main.__file__ = path


def start_server() -> None:
    """Start the process the workers are forked from (it imports the PDF
    library and the readers) without waiting for it: call it before other
    work (hashing the files, opening the registry) so that the two overlap."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        _context()  # sets what the server imports
        forkserver.ensure_running()


#: Files a worker holds at once: the one it reads and the next.
_DEPTH = 2


class _Worker:
    def __init__(
        self, ctx: multiprocessing.context.BaseContext, limits: Limits
    ) -> None:
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child_conn, limits), daemon=True
        )
        with _main_hidden():
            self.process.start()
        child_conn.close()
        #: Files sent and not yet answered, in order: the first is being read.
        self.tasks: deque[Path] = deque()
        #: When the first of ``tasks`` was started (as far as the parent knows).
        self.started = 0.0
        self.done = 0

    @property
    def task(self) -> Path | None:
        return self.tasks[0] if self.tasks else None

    def send(self, path: Path) -> None:
        if not self.tasks:
            self.started = time.monotonic()
        self.tasks.append(path)
        self.conn.send(str(path))

    def answered(self) -> None:
        """The first task's answer came: the next one has started."""
        self.tasks.popleft()
        self.done += 1
        self.started = time.monotonic()

    def stop(self, *, kill: bool = False) -> None:
        if self.process.is_alive():
            if kill:
                self.process.kill()
            else:
                with contextlib.suppress(OSError, ValueError):
                    self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(ValueError):
            self.process.close()


class SandboxPool:
    """A pool of limited worker processes (``workers`` defaults to the CPU
    count). Use as a context manager; :meth:`map` yields one :class:`Outcome`
    per path, in the order they finish."""

    def __init__(
        self, *, workers: int | None = None, limits: Limits | dict | None = None
    ):
        self.limits = Limits.resolve(limits)
        self.size = max(1, workers or os.cpu_count() or 1)
        self._ctx = _context()
        self._workers: list[_Worker] = []

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers = []

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.limits)
        self._workers.append(worker)
        return worker

    def _retire(
        self, worker: _Worker, queue: deque[Path] | None = None, *, kill: bool = False
    ) -> None:
        """Stop a worker; files it was given but had not started go back to
        the front of ``queue`` for another worker."""
        worker.stop(kill=kill)
        self._workers.remove(worker)
        if queue is not None:
            queue.extendleft(reversed(worker.tasks))
        worker.tasks.clear()

    def map(
        self, paths: Iterable[Path | str], *, progress: ProgressCallback | None = None
    ) -> Iterator[Outcome]:
        queue = deque(Path(p) for p in paths)
        total = len(queue)
        done = 0
        while queue or any(w.task is not None for w in self._workers):
            self._hand_out(queue)
            busy = [w for w in self._workers if w.task is not None]
            now = time.monotonic()
            deadline = min(w.started + self.limits.wall_seconds for w in busy)
            ready = wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy],
                timeout=max(0.0, deadline - now),
            )
            finished = [
                outcome
                for outcome in (self._collect(w, ready, queue) for w in busy)
                if outcome is not None
            ]
            # the next files go out before the caller sees these outcomes, so
            # the workers read while the caller writes
            self._hand_out(queue)
            for outcome in finished:
                done += 1
                if progress is not None:
                    progress(done, total, outcome)
                yield outcome

    def _hand_out(self, queue: deque[Path]) -> None:
        """Give every worker a file to read and, behind it, the next one (so
        it never waits for this process between files), spawning workers up
        to the pool's size. A worker is given no more than it has left to read
        before it is replaced."""
        for depth in range(1, _DEPTH + 1):
            while queue:
                takers = [
                    w
                    for w in self._workers
                    if len(w.tasks) < depth
                    and w.done + len(w.tasks) < self.limits.tasks_per_worker
                ]
                if not takers:
                    if len(self._workers) >= self.size:
                        break
                    takers = [self._spawn()]
                takers[0].send(queue.popleft())

    def _collect(
        self, worker: _Worker, ready: list, queue: deque[Path]
    ) -> Outcome | None:
        path = worker.task
        assert path is not None
        elapsed = time.monotonic() - worker.started
        if worker.conn in ready:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                message = None
            if message is not None:
                worker.answered()
                if worker.done >= self.limits.tasks_per_worker:
                    self._retire(worker, queue)
                if message[0] == "ok":
                    return Outcome(
                        path, message[1], seconds=elapsed, cpu_seconds=message[2]
                    )
                return Outcome(
                    path,
                    None,
                    message[1],
                    message[2],
                    seconds=elapsed,
                    cpu_seconds=message[3],
                )
        if worker.conn in ready or worker.process.sentinel in ready:
            worker.process.join(timeout=5)
            kind, text = _describe_death(path, worker.process.exitcode, self.limits)
            worker.tasks.popleft()
            self._retire(worker, queue, kill=True)
            return Outcome(path, None, kind, text, seconds=elapsed)
        if elapsed >= self.limits.wall_seconds:
            worker.tasks.popleft()
            self._retire(worker, queue, kill=True)
            return Outcome(
                path,
                None,
                "timeout",
                f"{path.name}: reading it took more than {self.limits.wall_seconds:g} s; "
                "it was stopped",
                seconds=elapsed,
            )
        return None


def extract_many(
    paths: Iterable[Path | str],
    *,
    workers: int | None = None,
    limits: Limits | dict | None = None,
    progress: ProgressCallback | None = None,
) -> Iterator[Outcome]:
    """Extract many reports in parallel, each in a limited child process."""
    with SandboxPool(workers=workers, limits=limits) as pool:
        yield from pool.map(paths, progress=progress)


def run_sandboxed(path: Path | str, *, limits: Limits | dict | None = None) -> Outcome:
    """Extract one report in a limited child process."""
    with SandboxPool(workers=1, limits=limits) as pool:
        return next(iter(pool.map([path])))


def extract_sandboxed(
    path: Path | str, *, limits: Limits | dict | None = None
) -> InspectionReport:
    """Like ``extract_report`` but in a limited child process; raises the
    classified :class:`ReportError` for a bad file."""
    outcome = run_sandboxed(path, limits=limits)
    if outcome.report is None:
        raise outcome.error()
    return outcome.report
