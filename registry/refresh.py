"""`ofsted-homes refresh registry.db`: crawl, check, load, publish.

One command, safe from cron:

1. take a lock (``registry.db.lock``), so two refreshes never overlap;
2. run the spiders (``releases``, ``reports``) as subprocesses; each writes
   raw files, a JSON Lines manifest and a summary under the data directory;
3. **gate**: a crawl that ended other than ``finished``, gave up retries, hit
   robots.txt, logged errors or unreadable layouts, yielded nothing, or (a
   full crawl) listed far fewer homes than the last good one, refuses the
   whole merge: nothing changes and the command exits non-zero saying why;
4. build a copy of the registry, load what was fetched (files through
   ``registry.load.load_file`` with their URL and fetch time; provider pages
   as observations through ``registry.derive``), apply the missing →
   inactive → active status logic after a complete crawl, record the crawls;
5. publish the copy atomically (``registry.publish``).

Example::

    result = refresh("registry.db", data_dir="data")
    result.ok, result.reasons
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database, Migrations

from extract.normalise import inspection_id, normalise_event_type
from registry.errors import RegistryError
from registry.load import utc_now

logger = logging.getLogger(__name__)

SPIDERS = ("releases", "reports")
FILE_KINDS = ("workbook", "dfe-csv", "report")

migrations = Migrations("ofsted-homes-crawls")


@migrations()
def m001_crawls(db: Database) -> None:
    db.executescript(
        """
        -- One row per crawl a refresh considered, merged or refused, with why.
        CREATE TABLE crawls (
            id TEXT PRIMARY KEY,
            spider TEXT NOT NULL,
            mode TEXT,
            since TEXT,
            started_at TEXT,
            finished_at TEXT,
            finish_reason TEXT,
            requests INTEGER,
            bytes INTEGER,
            items INTEGER,
            errors INTEGER,
            retries INTEGER,
            retries_given_up INTEGER,
            homes_listed INTEGER,
            files_stored INTEGER,
            outcome TEXT NOT NULL CHECK (outcome IN ('merged', 'refused')),
            reason TEXT,
            refreshed_at TEXT
        ) STRICT;

        -- What a crawl saw of a home that is not a file: a provider page that
        -- answered 404/410, a report that came back as HTML.
        CREATE TABLE crawl_observations (
            crawl_id TEXT NOT NULL REFERENCES crawls(id),
            urn TEXT,
            url TEXT NOT NULL,
            observation TEXT NOT NULL,
            http_status INTEGER,
            PRIMARY KEY (crawl_id, url, observation)
        ) STRICT;
        CREATE INDEX idx_crawl_observations_urn ON crawl_observations(urn);
        """
    )


class RefreshLocked(RegistryError):
    "Another refresh or load holds the registry's writer lock"


@dataclass
class Crawl:
    """One spider run: its summary and its manifest lines."""

    summary: dict
    entries: list[dict]

    @property
    def id(self) -> str:
        return self.summary["crawl_id"]

    @property
    def spider(self) -> str:
        return self.summary.get("spider", "?")

    @property
    def is_full_reports(self) -> bool:
        return self.spider == "reports" and self.summary.get("mode") == "full"

    def of_kind(self, kind: str) -> list[dict]:
        return [e for e in self.entries if e.get("kind") == kind]

    @property
    def listed(self) -> set[str]:
        return {e["urn"] for e in self.of_kind("listing")}


@dataclass
class Thresholds:
    min_homes_ratio: float = 0.9  # of the last good full crawl's listed homes
    max_error_share: float = 0.01  # errors and invalid items per request
    max_missing_share: float = 0.10  # homes newly missing in one refresh


@dataclass
class RefreshResult:
    ok: bool
    published: bool = False
    reasons: list[str] = field(default_factory=list)
    crawls: list[Crawl] = field(default_factory=list)
    loaded: int = 0
    load_failures: list[str] = field(default_factory=list)
    status_changes: dict[str, int] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)


# ------------------------------------------------------------------- lock


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


# ---------------------------------------------------------------- crawling


def run_spider(
    spider: str,
    *,
    data_dir: Path,
    settings: dict[str, object] | None = None,
    arguments: dict[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float | None = None,
) -> Crawl:
    """Run one spider in a subprocess (a fresh Twisted reactor each time) and
    read back its summary and manifest."""
    from crawler.spiders.base import new_crawl_id

    crawl_id = new_crawl_id(spider)
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        spider,
        "-a",
        f"crawl_id={crawl_id}",
    ]
    for name, value in (arguments or {}).items():
        command += ["-a", f"{name}={value}"]
    merged = {"DATA_DIR": str(data_dir), **(settings or {})}
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    log_path = log_path or data_dir / "logs" / f"{crawl_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logger.info("running %s (log: %s)", spider, log_path)
    with open(log_path, "w") as log:
        try:
            returncode = subprocess.run(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            returncode = -1
    return read_crawl(data_dir, crawl_id, spider=spider, returncode=returncode)


def read_crawl(
    data_dir: Path, crawl_id: str, *, spider: str = "?", returncode: int = 0
) -> Crawl:
    summary_path = data_dir / "crawls" / f"{crawl_id}.json"
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
    else:
        summary = {
            "crawl_id": crawl_id,
            "spider": spider,
            "finish_reason": f"no summary (exit code {returncode})",
        }
    if returncode not in (0,) and summary.get("finish_reason") == "finished":
        summary["finish_reason"] = f"exit code {returncode}"
    manifest = data_dir / "manifests" / f"{crawl_id}.jsonl"
    entries = []
    if manifest.exists():
        with open(manifest, encoding="utf-8") as fh:
            entries = [json.loads(line) for line in fh if line.strip()]
    return Crawl(summary, entries)


# -------------------------------------------------------------------- gate


def gate(
    crawl: Crawl, *, last_full_listed: int | None, thresholds: Thresholds
) -> list[str]:
    """Why this crawl must not be merged (empty: it may)."""
    s, reasons = crawl.summary, []
    stats = s.get("stats", {})
    name = f"{crawl.spider} crawl {crawl.id}"
    if s.get("finish_reason") != "finished":
        reasons.append(f"{name} ended with {s.get('finish_reason')!r}, not 'finished'")
    if s.get("retries_given_up"):
        reasons.append(f"{name} gave up retrying {s['retries_given_up']} request(s)")
    if s.get("robots_forbidden"):
        reasons.append(f"{name}: robots.txt forbade {s['robots_forbidden']} request(s)")
    layout = {k: v for k, v in stats.items() if k.startswith("ofsted/layout/")}
    if layout:
        parts = ", ".join(f"{k}={v}" for k, v in sorted(layout.items()))
        reasons.append(f"{name}: pages in an unexpected layout ({parts})")
    requests = max(int(s.get("requests") or 0), 1)
    bad = int(s.get("errors") or 0) + int(stats.get("ofsted/items/invalid", 0))
    if bad > thresholds.max_error_share * requests:
        reasons.append(
            f"{name}: {bad} errors or invalid items in {requests} requests "
            f"(over {thresholds.max_error_share:.0%})"
        )
    proof = "search-page" if crawl.spider == "reports" else "index"
    if not crawl.entries or not crawl.of_kind(proof):
        reasons.append(f"{name} yielded no items (no {proof} was read)")
    if crawl.is_full_reports and last_full_listed:
        listed = len(crawl.listed)
        if listed < thresholds.min_homes_ratio * last_full_listed:
            reasons.append(
                f"{name} listed {listed} homes, fewer than "
                f"{thresholds.min_homes_ratio:.0%} of the {last_full_listed} of the last good full crawl"
            )
    return reasons


# ------------------------------------------------------------------ refresh


def last_good(db_path: Path) -> dict:
    """From the published registry: the last merged reports crawl (any mode)
    and the number of homes the last merged full crawl listed."""
    out: dict = {"since": None, "full_listed": None}
    if not db_path.exists():
        return out
    db = Database(db_path)
    try:
        if "crawls" not in db.table_names():
            return out
        row = db.execute(
            "select started_at from crawls where spider = 'reports' and outcome = 'merged' "
            "order by started_at desc limit 1"
        ).fetchone()
        if row and row[0]:
            out["since"] = row[0][:10]
        row = db.execute(
            "select homes_listed from crawls where spider = 'reports' and outcome = 'merged' "
            "and mode = 'full' order by started_at desc limit 1"
        ).fetchone()
        if row:
            out["full_listed"] = row[0]
    finally:
        db.close()
    return out


def refresh(
    db_path: str | Path,
    *,
    data_dir: str | Path | None = None,
    spiders: tuple[str, ...] = SPIDERS,
    mode: str = "auto",
    settings: dict[str, object] | None = None,
    is_sample: bool = False,
    thresholds: Thresholds | None = None,
    echo: Callable[[str], None] | None = None,
    crawls: list[Crawl] | None = None,
) -> RefreshResult:
    """Crawl, gate, load and publish. ``crawls`` skips crawling and merges
    those (already run) crawls instead. Never raises for a refused crawl: the
    result says why; raises :class:`RefreshLocked` if another refresh runs."""
    db_path = Path(db_path)
    data_dir = Path(data_dir) if data_dir else db_path.parent / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    thresholds = thresholds or Thresholds()
    say = echo or (lambda _line: None)
    with refresh_lock(db_path):
        previous = last_good(db_path)
        if crawls is None:
            plans = []
            for spider in spiders:
                arguments = {}
                if spider == "reports":
                    since = (
                        previous["since"] if mode in ("auto", "incremental") else None
                    )
                    if mode == "incremental" and since is None:
                        say("No earlier good crawl: running a full crawl")
                    if since:
                        arguments["since"] = since
                say(
                    f"Crawling {spider}{' since ' + arguments['since'] if arguments else ''} …"
                )
                plans.append((spider, arguments))
            # the spiders crawl different sites: run them side by side
            with ThreadPoolExecutor(max_workers=len(plans) or 1) as pool:
                futures = [
                    pool.submit(
                        run_spider,
                        spider,
                        data_dir=data_dir,
                        settings=settings,
                        arguments=arguments,
                    )
                    for spider, arguments in plans
                ]
                crawls = [future.result() for future in futures]
            for crawl in crawls:
                say(_crawl_line(crawl))
        result = RefreshResult(ok=True, crawls=crawls)
        for crawl in crawls:
            result.reasons += gate(
                crawl, last_full_listed=previous["full_listed"], thresholds=thresholds
            )
        if result.reasons:
            result.ok = False
            _note_outcome(data_dir, crawls, "refused", result.reasons)
            return result
        from registry.publish import PublishRefused, build_copy, publish

        with build_copy(db_path) as (build_path, db):
            _merge(
                db,
                crawls,
                data_dir=data_dir,
                is_sample=is_sample,
                result=result,
                thresholds=thresholds,
                say=say,
            )
            db.close()
            try:
                if not result.reasons:
                    publish(build_path, db_path)
            except PublishRefused as error:
                result.reasons.append(str(error))
            if result.reasons:
                result.ok = False
                _note_outcome(data_dir, crawls, "refused", result.reasons)
                return result
        result.published = True
        _note_outcome(data_dir, crawls, "merged", [])
        return result


def _crawl_line(crawl: Crawl) -> str:
    s = crawl.summary
    return (
        f"  {crawl.id}: {s.get('finish_reason')}, {s.get('requests', 0)} requests, "
        f"{s.get('bytes', 0):,} bytes, {s.get('items', 0)} items, "
        f"{s.get('errors', 0)} errors, {s.get('retries', 0)} retries"
    )


def _note_outcome(
    data_dir: Path, crawls: list[Crawl], outcome: str, reasons: list[str]
) -> None:
    """Write the verdict into each crawl's summary file (the registry only
    learns about refused crawls at the next successful publish)."""
    for crawl in crawls:
        crawl.summary["outcome"] = outcome
        crawl.summary["reason"] = "; ".join(reasons) or None
        path = data_dir / "crawls" / f"{crawl.id}.json"
        if path.parent.exists():
            path.write_text(json.dumps(crawl.summary, indent=1))


# -------------------------------------------------------------------- merge


def _merge(
    db: Database,
    crawls: list[Crawl],
    *,
    data_dir: Path,
    is_sample: bool,
    result: RefreshResult,
    thresholds: Thresholds,
    say: Callable[[str], None],
) -> None:
    from registry.load import FileResult, is_pdf, load_file, sha256_of

    refreshed_at = utc_now()
    known = {r[0] for r in db.execute("select sha256 from sources")}
    # 1. files: those of these crawls, and any stored earlier but never loaded
    #    (immutable files of a refused crawl are still good files)
    pending = [
        e
        for e in _all_entries(data_dir)
        if e.get("kind") in FILE_KINDS
        and e.get("status") == "stored"
        and e.get("sha256") not in known
    ]
    pending.sort(key=lambda e: FILE_KINDS.index(e["kind"]))
    seen: set[str] = set()
    pdfs: dict[str, str | None] = {}  # path → URL: report PDFs, read in parallel below

    def count(outcome: FileResult) -> None:
        if outcome.ok and not outcome.skipped:
            result.loaded += 1
        elif not outcome.ok:
            result.load_failures.append(outcome.summary)

    for number, entry in enumerate(pending, start=1):
        if entry["sha256"] in seen:
            continue
        seen.add(entry["sha256"])
        path = data_dir / entry["path"]
        if not path.exists() or sha256_of(path) != entry["sha256"]:
            result.load_failures.append(f"{entry['path']}: missing or changed on disk")
            continue
        if is_pdf(path):
            pdfs[str(path)] = entry.get("url")
            continue
        count(
            load_file(
                db,
                path,
                url=entry.get("url"),
                fetched_at=entry.get("fetched_at"),
                is_sample=is_sample,
            )
        )
        if number % 200 == 0:
            say(f"  loaded {number}/{len(pending)} files")
    if pdfs:
        from registry.reports import load_reports

        def progress(done: int, total: int, _outcome: object) -> None:
            if done % 200 == 0 or done == total:
                say(f"  read {done}/{total} reports")

        for outcome in load_reports(
            db, list(pdfs), workers=2, urls=pdfs, is_sample=is_sample, progress=progress
        ):
            count(outcome)
    # 2. provider pages, as observations (their LA names map to the shipped list)
    from registry.la import ensure_reference_data

    with db.conn:
        ensure_reference_data(db)
    touched: set[str] = set()
    for crawl in crawls:
        for entry in crawl.of_kind("provider-page"):
            if entry.get("status") == "ok" and entry.get("sha256") not in known:
                touched |= _load_provider_page(
                    db, entry, data_dir=data_dir, is_sample=is_sample
                )
                known.add(entry["sha256"])
    if touched:
        from registry.derive import rebuild

        with db.conn:
            rebuild(db, touched)
    if "reports" in db.table_names():
        from registry.reports import link_reports

        with db.conn:
            link_reports(db)  # new inspections and new reports find each other
    # 3. the crawls themselves, earlier refused ones included
    with db.conn:
        _record_crawls(db, crawls, data_dir=data_dir, refreshed_at=refreshed_at)
        # 4. status after a complete (full, merged) crawl
        for crawl in crawls:
            if crawl.is_full_reports:
                changes = apply_status(db, crawl, thresholds=thresholds)
                if isinstance(changes, str):
                    result.reasons.append(changes)
                    return
                result.status_changes = changes
    result.summary.append(
        f"{result.loaded} files loaded, {len(touched)} homes updated from provider pages, "
        f"{len(result.load_failures)} files not loaded"
    )


def _all_entries(data_dir: Path) -> Iterator[dict]:
    from crawler.pipelines import read_manifests

    yield from read_manifests(data_dir)


def _load_provider_page(
    db: Database, entry: dict, *, data_dir: Path, is_sample: bool
) -> set[str]:
    """One parsed provider page → a `sources` row (kind ``provider-page``),
    a home observation and inspection observations (rebuilt by the caller)."""
    from registry.derive import add_home_observations, add_inspection_observations
    from registry.la import match_la
    from registry.load import Source, record_source

    path = data_dir / entry["path"]
    record = json.loads(path.read_text(encoding="utf-8"))
    fetched = (entry.get("fetched_at") or utc_now())[:10]
    source = Source(
        path, entry["sha256"], entry.get("url"), entry.get("fetched_at"), is_sample
    )
    urn = record["urn"]
    rows = []
    for event in record.get("events", []):
        event_type = normalise_event_type(event.get("event_type"))
        if not event_type or not event.get("inspection_date"):
            continue
        rows.append(
            {
                "inspection_id": inspection_id(
                    urn, event["inspection_date"], event_type
                ),
                "urn": urn,
                "inspection_date": event["inspection_date"],
                "publication_date": event.get("publication_date"),
                "event_type": event_type,
                "event_type_as_published": event.get("event_type"),
            }
        )
    la = match_la(record.get("local_authority"), dt.date.fromisoformat(fetched))
    with db.conn:
        record_source(
            db,
            source,
            kind="provider-page",
            description=f"Ofsted provider page {urn}",
            as_at=fetched,
            rows_read=len(record.get("events", [])),
            rows_loaded=len(rows),
        )
        add_home_observations(
            db,
            source,
            [
                {
                    "urn": urn,
                    "provision_type": record.get("provision_type"),
                    "local_authority": record.get("local_authority"),
                    "la_code": la.la_code if la else None,
                    "registration_date": record.get("registration_date"),
                }
            ],
            as_at=fetched,
        )
        if rows:
            add_inspection_observations(db, source, rows, as_at=fetched)
    return {urn}


def _record_crawls(
    db: Database, crawls: list[Crawl], *, data_dir: Path, refreshed_at: str
) -> None:
    merged_ids = {c.id for c in crawls}
    summaries = {c.id: (c.summary, c) for c in crawls}
    existing = {r[0] for r in db.execute("select id from crawls")}
    for path in sorted((data_dir / "crawls").glob("*.json")):
        crawl_id = path.stem
        if crawl_id in existing or crawl_id in summaries:
            continue
        try:
            summary = json.loads(path.read_text())
        except ValueError:
            continue
        if summary.get("outcome") == "refused":
            summaries[crawl_id] = (summary, None)
    for crawl_id, (summary, crawl) in summaries.items():
        outcome = "merged" if crawl_id in merged_ids else "refused"
        stats = summary.get("stats", {})
        listed = len(crawl.listed) if crawl is not None else None
        db["crawls"].upsert(
            {
                "id": crawl_id,
                "spider": summary.get("spider", "?"),
                "mode": summary.get("mode"),
                "since": summary.get("since"),
                "started_at": summary.get("started_at"),
                "finished_at": summary.get("finished_at"),
                "finish_reason": summary.get("finish_reason"),
                "requests": summary.get("requests"),
                "bytes": summary.get("bytes"),
                "items": summary.get("items"),
                "errors": summary.get("errors"),
                "retries": summary.get("retries"),
                "retries_given_up": summary.get("retries_given_up"),
                "homes_listed": listed,
                "files_stored": stats.get("ofsted/files/stored", 0),
                "outcome": outcome,
                "reason": summary.get("reason") if outcome == "refused" else None,
                "refreshed_at": refreshed_at,
            },
            pk="id",
        )
        if crawl is None:
            continue
        for entry in crawl.entries:
            status = entry.get("status")
            if status in ("not-found", "content-type-mismatch"):
                db["crawl_observations"].upsert(
                    {
                        "crawl_id": crawl_id,
                        "urn": entry.get("urn"),
                        "url": entry["url"],
                        "observation": status,
                        "http_status": entry.get("http_status"),
                    },
                    pk=("crawl_id", "url", "observation"),
                )


# ------------------------------------------------------------------ status

ACTIVE, MISSING, INACTIVE, NOT_FOUND = "active", "missing", "inactive", "not found"


def apply_status(
    db: Database, crawl: Crawl, *, thresholds: Thresholds
) -> dict[str, int] | str:
    """After a complete crawl: a home it does not list becomes ``missing``
    (``missing_since`` = the crawl's day), one still missing at the next
    complete crawl ``inactive``; a listed home is ``active`` again; a home
    whose provider page answered 404/410 is ``not found``. Nothing is
    deleted; every change goes into `home_status_history` with the crawl id.
    Returns counts of changes, or a refusal reason (too many going missing)."""
    listed = crawl.listed
    not_found = {
        e["urn"]
        for e in crawl.of_kind("provider-page")
        if e.get("status") == "not-found"
    }
    day = (crawl.summary.get("started_at") or utc_now())[:10]
    homes = list(
        db.query(
            "select urn, status, missing_since, registration_status from homes "
            "where status != 'active' or registration_status is null "
            "or lower(registration_status) = 'active'"
        )
    )
    changes: list[tuple[str, str, str, str | None]] = []
    for home in homes:
        urn, status = home["urn"], home["status"]
        if urn in not_found:
            new, reason = NOT_FOUND, "provider page answered 404/410"
        elif urn in listed:
            new, reason = ACTIVE, "listed by the search again"
        elif status == ACTIVE:
            new, reason = MISSING, "not listed by a complete crawl"
        elif status in (MISSING, NOT_FOUND):
            new, reason = INACTIVE, "not listed by two complete crawls in a row"
        else:
            continue
        if new != status:
            changes.append((urn, new, status, reason))
    going_missing = sum(1 for c in changes if c[1] == MISSING)
    active = sum(1 for h in homes if h["status"] == ACTIVE) or 1
    if going_missing > thresholds.max_missing_share * active:
        return (
            f"crawl {crawl.id} would mark {going_missing} of {active} active homes missing "
            f"(over {thresholds.max_missing_share:.0%}); refusing rather than guessing"
        )
    counts: dict[str, int] = {}
    for urn, new, old, reason in changes:
        update = {"status": new, "status_changed_at": day}
        if new == ACTIVE:
            update["missing_since"] = None
        elif old == ACTIVE:
            update["missing_since"] = day
        db["homes"].update(urn, update)
        db["home_status_history"].insert(
            {
                "urn": urn,
                "status": new,
                "previous_status": old,
                "changed_at": day,
                "crawl_id": crawl.id,
                "reason": reason,
            }
        )
        counts[new] = counts.get(new, 0) + 1
    return counts


# --------------------------------------------------------------------- CLI

import click  # noqa: E402


def _setting(_ctx, _param, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(
                f"{value!r}: use NAME=VALUE, e.g. DOWNLOAD_DELAY=2"
            )
        out[name] = setting
    return out


@click.command(name="refresh")
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Raw files, manifests and crawl summaries [default: data/ beside the registry]",
)
@click.option(
    "--full",
    "mode",
    flag_value="full",
    help="Walk the whole search (needed for missing/inactive status)",
)
@click.option(
    "--incremental",
    "mode",
    flag_value="incremental",
    help="Only homes with reports published since the last good crawl",
)
@click.option(
    "--spider",
    "spiders",
    multiple=True,
    type=click.Choice(SPIDERS),
    help="Run only this spider (repeatable) [default: both]",
)
@click.option(
    "--site",
    metavar="URL",
    help="Crawl a sample site (ofsted-homes sample-site) instead of the real sources",
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    callback=_setting,
    metavar="NAME=VALUE",
    help="A Scrapy setting for the spiders (repeatable)",
)
@click.option("--sample", is_flag=True, help="Mark everything loaded as sample data")
@click.option(
    "--min-homes-ratio",
    default=0.9,
    show_default=True,
    help="Refuse a full crawl listing fewer homes than this share of the last good one",
)
@click.option("--silent", is_flag=True, help="No progress or summary lines")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging")
def refresh_command(
    db_path,
    data_dir,
    mode,
    spiders,
    site,
    settings,
    sample,
    min_homes_ratio,
    silent,
    verbose,
) -> None:
    """Crawl the sources, load what changed, and publish the registry atomically.

    Fail-closed: a crawl that did not finish cleanly, gave up retries, was
    blocked by robots.txt, met an unknown page layout or listed far fewer
    homes than last time merges nothing; the command exits 1 and says why.
    By default it crawls incrementally once a good crawl exists; run a
    --full crawl (weekly, say) so that homes that disappear are marked
    missing, then inactive. Exit codes: 0 published, 1 refused, 2 locked.

    Example:

    \b
        ofsted-homes refresh registry.db
        ofsted-homes refresh registry.db --full --data-dir /srv/ofsted/data
        ofsted-homes refresh demo.db --site http://127.0.0.1:8002 --sample
    """
    from registry.cli import configure_logging

    configure_logging(verbose, silent)
    merged_settings = dict(settings)
    if site:
        merged_settings = {**site_settings(site), **merged_settings}
    echo = None if silent else (lambda line: click.echo(line, err=True))
    try:
        result = refresh(
            db_path,
            data_dir=data_dir,
            spiders=tuple(spiders) or SPIDERS,
            mode=mode or "auto",
            settings=merged_settings,
            is_sample=sample,
            thresholds=Thresholds(min_homes_ratio=min_homes_ratio),
            echo=echo,
        )
    except RefreshLocked as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    if not result.ok:
        for reason in result.reasons:
            click.echo(f"Refused: {reason}", err=True)
        click.echo(f"Nothing merged; {db_path} is unchanged.", err=True)
        sys.exit(1)
    for failure in result.load_failures[:20]:
        click.echo(f"Not loaded: {failure}", err=True)
    if not silent:
        for line in result.summary:
            click.echo(line, err=True)
        if result.status_changes:
            changes = ", ".join(
                f"{n} {s}" for s, n in sorted(result.status_changes.items())
            )
            click.echo(f"Status changes: {changes}", err=True)
        click.echo(f"Published {db_path}", err=True)


def site_settings(url: str) -> dict[str, str]:
    """Base-URL settings pointing every spider at a sample site."""
    url = url.rstrip("/")
    return {
        "GOVUK_URL": f"{url}/govuk",
        "EES_API_URL": f"{url}/ees",
        "OFSTED_REPORTS_URL": f"{url}/ofsted",
        "OFSTED_FILES_URL": f"{url}/files",
    }
