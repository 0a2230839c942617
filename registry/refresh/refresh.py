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

import logging
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from registry.derive.derive import rebuild
from registry.derive.status import apply_status
from registry.la import ensure_reference_data
from registry.loading.files import FileToLoad, load_files
from registry.lock import RefreshLocked
from registry.logs import configure_logging
from registry.provenance import FileResult, sha256_of, utc_now
from registry.publish.publish import PublishRefused, publish
from registry.refresh.crawls import (
    Crawl,
    Thresholds,
    find_interrupted,
    gate,
    judge_monitors,
    last_good,
    monitor_lines,
    note_outcome,
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
) -> RefreshResult:
    """Crawl, gate, load and publish. ``crawls`` skips crawling and merges
    those (already run) crawls instead. An interrupted crawl (killed, or
    stopped part-way) of a spider is resumed rather than started again
    (``resume=False``: always start afresh). Never raises for a refused crawl: the
    result says why; raises :class:`RefreshLocked` if another refresh runs."""
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
    type=float,
    help="Refuse a full crawl listing fewer homes than this share of the last "
    "good one [default: 0.9]",
)
@click.option(
    "--min-share",
    type=float,
    help="Floor of each coverage share: pages fetched and understood, report "
    "PDFs fetched and read [default: 0.95]",
)
@click.option(
    "--min-report-share",
    type=float,
    help="Floor of the share of new report links whose PDF was fetched, and of "
    "fetched PDFs read; 0 allows a status walk (-s OFSTED_DOWNLOAD_REPORTS=False) "
    "[default: 0.95]",
)
@click.option(
    "--min-timeline-share",
    type=float,
    help="Floor of the share of timeline items (the opening aside) that have a "
    "report link [default: 0.8]",
)
@click.option(
    "--min-field-fill",
    type=float,
    help="Floor of the fill of each field relied on (title, report type, "
    "publication date, the PDF's inspection date and type) [default: 0.9]",
)
@click.option(
    "--max-fill-drop",
    type=float,
    help="Largest fall of any share since the last good crawl [default: 0.25]",
)
@click.option(
    "--max-not-found-share",
    type=float,
    help="Ceiling of dead provider pages and report links [default: 0.05]",
)
@click.option(
    "--min-sample",
    type=int,
    help="Shares over fewer items are only checked for zero [default: 10]",
)
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A TOML file with a [thresholds] table (options given here win)",
)
@click.option(
    "--no-resume",
    is_flag=True,
    help="Start afresh even when an interrupted crawl could be resumed",
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
    min_share,
    min_report_share,
    min_timeline_share,
    min_field_fill,
    max_fill_drop,
    max_not_found_share,
    min_sample,
    thresholds_file,
    no_resume,
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
    configure_logging(verbose, silent)
    merged_settings = dict(settings)
    if site:
        merged_settings = {**site_settings(site), **merged_settings}
    echo = None if silent else (lambda line: click.echo(line, err=True))
    given = {
        "min_homes_ratio": min_homes_ratio,
        "min_share": min_share,
        "min_report_share": min_report_share,
        "min_timeline_share": min_timeline_share,
        "min_field_fill": min_field_fill,
        "max_fill_drop": max_fill_drop,
        "max_not_found_share": max_not_found_share,
        "min_sample": min_sample,
    }
    try:
        thresholds = (
            Thresholds.from_file(thresholds_file, **given)
            if thresholds_file
            else Thresholds(**{k: v for k, v in given.items() if v is not None})
        )
    except ValueError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    try:
        result = refresh(
            db_path,
            data_dir=data_dir,
            spiders=tuple(spiders) or SPIDERS,
            mode=mode or "auto",
            settings=merged_settings,
            is_sample=sample,
            thresholds=thresholds,
            echo=echo,
            resume=not no_resume,
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
