"""`ofsted-homes refresh registry.db`: crawl, check, load, publish.

One command, safe from cron:

1. take the writer lock (``registry.db.lock``, ``registry.writes``), so two refreshes
   never overlap;
2. run the spiders (``releases``, ``reports``) as subprocesses
   (``registry.crawls``); each writes raw files, a JSON Lines manifest and a
   summary under the data directory;
3. **gate**: a crawl that ended other than ``finished``, gave up retries, hit
   robots.txt, logged errors or unreadable layouts, yielded nothing, or (a
   full crawl) listed far fewer homes than the last good one, refuses the
   whole merge: nothing changes and the command exits non-zero saying why;
4. build a copy of the registry, load what was fetched (files through
   ``registry.loading.files.load_file`` with their URL and fetch time; provider pages
   as observations through ``registry.provider_pages``), apply the missing →
   inactive → active status logic (``registry.status``) after a complete
   crawl, record the crawls;
5. publish the copy atomically (``registry.publish``).

Example::

    result = refresh("registry.db", data_dir="data")
    result.ok, result.reasons
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlite_utils import Database

from registry.derive.derive import rebuild
from registry.derive.status import apply_status
from registry.la import ensure_reference_data
from registry.loading.files import FileToLoad, load_files
from registry.provenance import FileResult, sha256_of, utc_now
from registry.publish.publish import PublishRefused, publish
from registry.refresh.crawls import (
    Crawl,
    Thresholds,
    expected_homes,
    find_interrupted,
    gate,
    judge_monitors,
    last_good,
    monitor_lines,
    note_outcome,
    politeness_note,
    previous_monitors,
    read_monitors,
    record_crawls,
    run_spider,
)
from registry.refresh.provider_pages import load_provider_page
from registry.reports.reports import link_reports
from registry.writes import building, write_lock

logger = logging.getLogger(__name__)

SPIDERS = ("releases", "reports")
FILE_KINDS = ("workbook", "dfe-csv", "report")


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


# ------------------------------------------------------------------ refresh


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
    resume: bool = True,
    progress_items: int = 100,
    progress_seconds: float | None = 15.0,
) -> RefreshResult:
    """Crawl, gate, load and publish. ``crawls`` skips crawling and merges
    those (already run) crawls instead. An interrupted crawl (killed, or
    stopped part-way) of a spider is resumed rather than started again
    (``resume=False``: always start afresh). Never raises for a refused crawl: the
    result says why; raises :class:`RefreshLocked` if another refresh runs.

    With ``echo``, it says before crawling whether politeness delays apply
    and what they cost, and while crawling what each spider has fetched so
    far (every ``progress_items`` items, and every ``progress_seconds`` when
    something new came)."""
    db_path = Path(db_path)
    data_dir = Path(data_dir) if data_dir else db_path.parent / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    thresholds = thresholds or Thresholds()
    say = echo or (lambda _line: None)
    with write_lock(db_path):
        previous = last_good(db_path)
        if crawls is None:
            plans = []
            for spider in spiders:
                arguments = {}
                interrupted = find_interrupted(data_dir, spider) if resume else None
                if interrupted:
                    crawl_id, arguments = interrupted
                    say(f"Resuming the interrupted crawl {crawl_id} …")
                    plans.append((spider, arguments, crawl_id))
                    continue
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
                plans.append((spider, arguments, None))
            if echo is not None and plans:
                full = any(
                    spider == "reports" and "since" not in arguments
                    for spider, arguments, _ in plans
                )
                homes, per_home = expected_homes(db_path) if full else (None, None)
                say(
                    politeness_note(
                        settings,
                        homes=homes,
                        requests_per_home=per_home,
                        fast_option=(
                            FAST_SAMPLE_SITE_OPTION if is_local_site(settings) else None
                        ),
                    )
                )
            # the spiders crawl different sites: run them side by side
            with ThreadPoolExecutor(max_workers=len(plans) or 1) as pool:
                futures = [
                    pool.submit(
                        run_spider,
                        spider,
                        data_dir=data_dir,
                        settings=settings,
                        arguments=arguments,
                        resume=crawl_id,
                        progress=echo,
                        progress_items=progress_items,
                        progress_seconds=progress_seconds,
                    )
                    for spider, arguments, crawl_id in plans
                ]
                crawls = [future.result() for future in futures]
            for crawl in crawls:
                say(_crawl_line(crawl))
        result = RefreshResult(ok=True, crawls=crawls)
        for crawl in crawls:
            crawl.previous = previous_monitors(db_path, crawl.summary.get("mode"))
            result.reasons += gate(
                crawl,
                last_full_listed=previous["full_listed"],
                thresholds=thresholds,
                data_dir=data_dir,
                previous=crawl.previous,
            )
            for line in monitor_lines(crawl):
                say(line)
        if result.reasons:
            result.ok = False
            note_outcome(data_dir, crawls, "refused", result.reasons)
            return result
        with building(db_path, "refresh") as (build_path, db):
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
                note_outcome(data_dir, crawls, "refused", result.reasons)
                return result
        result.published = True
        note_outcome(data_dir, crawls, "merged", [])
        return result


def _crawl_line(crawl: Crawl) -> str:
    s = crawl.summary
    return (
        f"  {crawl.id}: {s.get('finish_reason')}, {s.get('requests', 0)} requests, "
        f"{s.get('bytes', 0):,} bytes, {s.get('items', 0)} items, "
        f"{s.get('errors', 0)} errors, {s.get('retries', 0)} retries"
    )


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
    files: list[FileToLoad] = []

    def count(outcome: FileResult) -> None:
        if outcome.ok and not outcome.skipped:
            result.loaded += 1
        elif not outcome.ok:
            result.load_failures.append(outcome.summary)

    for entry in pending:
        if entry["sha256"] in seen:
            continue
        seen.add(entry["sha256"])
        path = data_dir / entry["path"]
        if not path.exists() or sha256_of(path) != entry["sha256"]:
            result.load_failures.append(f"{entry['path']}: missing or changed on disk")
            continue
        files.append(FileToLoad(path, entry.get("url"), entry.get("fetched_at")))
    # the same loop as `ofsted-homes load`: spreadsheets one by one, report
    # PDFs in parallel in sandboxed child processes
    for outcome in load_files(
        db, files, is_sample=is_sample, echo=say, echo_every=200, workers=2
    ):
        count(outcome)
    # 2. provider pages, as observations (their LA names map to the shipped list)
    with db.conn:
        ensure_reference_data(db)
    touched: set[str] = set()
    for crawl in crawls:
        for entry in crawl.of_kind("provider-page"):
            if entry.get("status") == "ok" and entry.get("sha256") not in known:
                touched |= load_provider_page(
                    db, entry, data_dir=data_dir, is_sample=is_sample
                )
                known.add(entry["sha256"])
    if touched:
        with db.conn:
            rebuild(db, touched)
    if "reports" in db.table_names():
        with db.conn:
            link_reports(db)  # new inspections and new reports find each other
    # 2b. what the report reader made of this crawl's PDFs: gated before publishing
    for crawl in crawls:
        read = read_monitors(crawl, db)
        if read:
            result.reasons += judge_monitors(
                crawl, read, getattr(crawl, "previous", {}) or {}, thresholds
            )
            crawl.summary["monitors"] = crawl.summary.get("monitors", []) + read
            for line in monitor_lines(crawl, only=read):
                say(line)
    if result.reasons:
        return
    # 3. the crawls themselves, earlier refused ones included
    with db.conn:
        record_crawls(db, crawls, data_dir=data_dir, refreshed_at=refreshed_at)
        # 4. status after a complete (full, merged) crawl
        for crawl in crawls:
            if crawl.is_full_reports:
                changes = apply_status(
                    db, crawl, thresholds=thresholds, is_sample=is_sample
                )
                if isinstance(changes, str):
                    result.reasons.append(changes)
                    return
                result.status_changes = changes
    result.summary.append(
        f"{result.loaded} files loaded, {len(touched)} homes updated from provider pages, "
        f"{len(result.load_failures)} files not loaded"
    )


def _all_entries(data_dir: Path) -> Iterator[dict]:
    from crawler.pipelines import read_manifests  # imports Scrapy: only when crawling

    yield from read_manifests(data_dir)


# The option of `ofsted-homes refresh` that drops the politeness delays,
# allowed only against a site on this machine (fast_site_settings).
FAST_SAMPLE_SITE_OPTION = "--fast-sample-site"
FAST_SITE_SETTINGS = {"AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0"}
_SITE_URL_SETTINGS = (
    "GOVUK_URL",
    "EES_API_URL",
    "OFSTED_REPORTS_URL",
    "OFSTED_FILES_URL",
)


def _is_local_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_local_site(settings: dict[str, object] | None) -> bool:
    """Whether every source the spiders read is on this machine (a sample
    site given with ``--site``)."""
    settings = settings or {}
    return all(
        _is_local_host(urlsplit(str(settings.get(name) or "")).hostname)
        for name in _SITE_URL_SETTINGS
    )


def fast_site_settings(
    url: str | None, settings: dict[str, object] | None = None
) -> dict[str, object]:
    """``settings`` (the spiders' settings for the sample site at ``url``)
    without the politeness delays (a setting given explicitly wins), for a
    site on this machine only: ValueError, the message to print, when
    ``url`` or any source URL in ``settings`` is elsewhere."""
    if not url:
        raise ValueError(
            f"{FAST_SAMPLE_SITE_OPTION} needs --site URL, a sample site on this "
            "machine (ofsted-homes sample-site); the real sources are always "
            "crawled politely"
        )
    merged = {**site_settings(url), **(settings or {})}
    if not is_local_site(merged):
        raise ValueError(
            f"{FAST_SAMPLE_SITE_OPTION}: {url} (or a source URL set with -s) is "
            "not on this machine (127.0.0.1, ::1 or localhost); any other site is "
            f"crawled politely. Drop {FAST_SAMPLE_SITE_OPTION}, or run the sample "
            "site here."
        )
    return {**FAST_SITE_SETTINGS, **merged}


def site_settings(url: str) -> dict[str, str]:
    """Base-URL settings pointing every spider at a sample site."""
    url = url.rstrip("/")
    return {
        "GOVUK_URL": f"{url}/govuk",
        "EES_API_URL": f"{url}/ees",
        "OFSTED_REPORTS_URL": f"{url}/ofsted",
        "OFSTED_FILES_URL": f"{url}/files",
    }
