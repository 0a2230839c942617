"""Crawls: run a spider as a subprocess, read back its summary and manifest,
gate it (fail closed), and record the verdict in its summary and the
`crawls` table.

Example::

    crawl = run_spider("reports", data_dir=Path("data"))
    reasons = gate(crawl, last_full_listed=None, thresholds=Thresholds())
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from crawler import settings as crawler_settings
from registry.provenance import utc_now

logger = logging.getLogger(__name__)


@dataclass
class Crawl:
    """One spider run: its summary and its manifest lines."""

    summary: dict
    entries: list[dict]
    previous: dict = dataclasses.field(
        default_factory=dict
    )  # last good crawl's monitors

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
    """The gate's settings. Defaults are documented in docs/scheduling.md;
    ``refresh`` takes each as an option and all of them from a TOML file."""

    min_homes_ratio: float = 0.9  # of the last good full crawl's listed homes
    max_error_share: float = 0.01  # errors and invalid items per request
    max_missing_share: float = 0.10  # homes newly missing in one refresh
    min_homes_listed: int = 1  # a full crawl's search must list at least this
    min_share: float = 0.95  # floor of the page coverage shares (fetched, understood)
    min_report_share: float = 0.95  # floor of report PDFs fetched and read
    # floor of timeline items with a report link (the live site may show
    # events without a report that nobody here has seen)
    min_timeline_share: float = 0.8
    max_not_found_share: float = 0.05  # dead provider pages or report links
    min_field_fill: float = 0.90  # floor of the fill of each field relied on
    max_fill_drop: float = 0.25  # largest fall of any share since the last good crawl
    min_sample: int = 10  # shares over fewer items are only checked for zero

    @classmethod
    def from_file(cls, path: Path, **overrides: object) -> Thresholds:
        """A TOML file with a ``[thresholds]`` table (names as above)."""
        import dataclasses
        import tomllib

        try:
            values = tomllib.loads(Path(path).read_text()).get("thresholds", {})
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(
                f"{path}: cannot read the gate settings ({error}); "
                "write a [thresholds] table of NAME = number"
            ) from None
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"{path}: unknown threshold(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(names))}"
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# ---------------------------------------------------------------- crawling


def job_dir(data_dir: Path, crawl_id: str) -> Path:
    """Where a crawl keeps what it needs to resume: its arguments
    (``job.json``) and Scrapy's ``JOBDIR`` (``scrapy/``)."""
    return data_dir / "jobs" / crawl_id


def start_spider(
    spider: str,
    *,
    data_dir: Path,
    settings: dict[str, object] | None = None,
    arguments: dict[str, str] | None = None,
    crawl_id: str | None = None,
    log_path: Path | None = None,
) -> tuple[subprocess.Popen, str]:
    """Start one spider in a subprocess (a fresh Twisted reactor each time).
    With the ``crawl_id`` of an interrupted crawl, resume it: same id, same
    arguments, same ``JOBDIR``, and ``resume=1`` (the spider asks again for
    what its manifest lacks). Returns the process and the crawl id."""
    from crawler.spiders.base import new_crawl_id

    job = None
    if crawl_id is not None:
        job = json.loads((job_dir(data_dir, crawl_id) / "job.json").read_text())
        arguments = {**job["arguments"], "resume": "1"}
        summary = data_dir / "crawls" / f"{crawl_id}.json"
        clean = summary.exists() and json.loads(summary.read_text()).get(
            "finish_reason"
        ) in ("shutdown", "closespider_timeout", "closespider_errorcount")
        if not clean:
            # killed: Scrapy's queue and seen-set were never written out
            # whole; drop them, the spider works from its manifest alone
            import shutil

            shutil.rmtree(job_dir(data_dir, crawl_id) / "scrapy", ignore_errors=True)
    else:
        crawl_id = new_crawl_id(spider)
        arguments = dict(arguments or {})
    folder = job_dir(data_dir, crawl_id)
    folder.mkdir(parents=True, exist_ok=True)
    if job is None:
        job = {
            "spider": spider,
            "arguments": arguments,
            "started_at": utc_now(),
        }
        (folder / "job.json").write_text(json.dumps(job, indent=1))
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    command += ["-a", f"crawl_id={crawl_id}"]
    for name, value in arguments.items():
        command += ["-a", f"{name}={value}"]
    merged = {
        "DATA_DIR": str(data_dir),
        "JOBDIR": str(folder / "scrapy"),
        "OFSTED_CRAWL_STARTED_AT": job["started_at"],
        **(settings or {}),
    }
    for name, value in merged.items():
        command += ["-s", f"{name}={value}"]
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    log_path = log_path or data_dir / "logs" / f"{crawl_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    logger.info("running %s (log: %s)", spider, log_path)
    with open(log_path, "a") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return process, crawl_id


def run_spider(
    spider: str,
    *,
    data_dir: Path,
    settings: dict[str, object] | None = None,
    arguments: dict[str, str] | None = None,
    log_path: Path | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    progress: Callable[[str], None] | None = None,
    progress_items: int = 100,
    progress_seconds: float | None = 15.0,
) -> Crawl:
    """Run one spider (or resume the interrupted crawl ``resume``) in a
    subprocess and read back its summary and manifest. With ``progress``,
    say what the crawl has fetched so far while it runs (``CrawlProgress``:
    every ``progress_items`` items, and every ``progress_seconds`` when
    something new came)."""
    process, crawl_id = start_spider(
        spider,
        data_dir=data_dir,
        settings=settings,
        arguments=arguments,
        crawl_id=resume,
        log_path=log_path,
    )
    watcher = None
    if progress is not None:
        watcher = CrawlProgress(
            data_dir / "manifests" / f"{crawl_id}.jsonl",
            crawl_id,
            every_items=progress_items,
            every_seconds=progress_seconds,
        )
    deadline = None if timeout is None else time.monotonic() + timeout
    returncode = None
    while returncode is None:
        wait = 1.0 if watcher else None
        if deadline is not None:
            left = max(0.0, deadline - time.monotonic())
            wait = left if wait is None else min(wait, left)
        try:
            returncode = process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            if deadline is not None and time.monotonic() >= deadline:
                process.kill()
                process.wait()
                returncode = -1
        if watcher is not None:
            for line in watcher.poll():
                progress(line)
    return read_crawl(data_dir, crawl_id, spider=spider, returncode=returncode)


# What the progress lines call each kind of manifest item, in this order.
PROGRESS_LABELS = {
    "search-page": "search pages",
    "listing": "homes listed",
    "provider-page": "provider pages",
    "report": "report PDFs",
    "index": "index pages",
    "workbook": "Ofsted workbooks",
    "dfe-csv": "DfE files",
}


class CrawlProgress:
    """What a running crawl has fetched, read from its manifest as the
    spider writes it (one flushed JSON line per item): ``poll()`` reads the
    lines added since the last call and returns the progress lines due, one
    each time the count of items reaches a multiple of ``every_items`` (its
    counts are those at that item, so the lines do not depend on when
    ``poll`` runs) and one when ``every_seconds`` have passed since the last
    line and something new came. A resumed crawl's earlier items count."""

    def __init__(
        self,
        manifest: Path,
        crawl_id: str,
        *,
        every_items: int = 100,
        every_seconds: float | None = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.manifest = manifest
        self.crawl_id = crawl_id
        self.every_items = max(1, every_items)
        self.every_seconds = every_seconds
        self.clock = clock
        self.started = self.last_line = clock()
        self.offset = 0
        self.items = 0
        self.items_at_last_line = 0
        self.kinds: dict[str, int] = {}
        self.stored_reports = 0

    def poll(self) -> list[str]:
        lines = []
        try:
            with open(self.manifest, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            data = b""
        # whole lines only: the spider may be half-way through one
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        for raw in complete.splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            kind = str(entry.get("kind") or "other")
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if kind == "report" and entry.get("status") == "stored":
                self.stored_reports += 1
            self.items += 1
            if self.items % self.every_items == 0:
                lines.append(self.line())
        now = self.clock()
        if (
            not lines
            and self.every_seconds is not None
            and self.items > self.items_at_last_line
            and now - self.last_line >= self.every_seconds
        ):
            lines.append(self.line())
        return lines

    def line(self) -> str:
        self.last_line = self.clock()
        self.items_at_last_line = self.items
        elapsed = int(self.last_line - self.started)
        order = [k for k in PROGRESS_LABELS if k in self.kinds]
        order += sorted(k for k in self.kinds if k not in PROGRESS_LABELS)
        parts = []
        for kind in order:
            part = f"{self.kinds[kind]:,} {PROGRESS_LABELS.get(kind, kind)}"
            if kind == "report":
                part += f" ({self.stored_reports:,} new)"
            parts.append(part)
        return (
            f"  {self.crawl_id}: {self.items:,} items so far after "
            f"{elapsed // 60}m{elapsed % 60:02d}s: {', '.join(parts)}"
        )


# --------------------------------------------------------------- politeness

# Requests a full crawl of the reports site makes per home when no good
# crawl says better: the search page share, the provider page, its report
# PDFs (the sample site: 959 requests for 200 homes).
REQUESTS_PER_HOME = 5.0


def _setting_is_on(value: object) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def politeness(settings: dict[str, object] | None) -> tuple[float, bool]:
    """(delay between requests to one site in seconds, AutoThrottle on) as
    the spiders will run with ``settings`` over the project's defaults."""
    settings = settings or {}
    delay = float(settings.get("DOWNLOAD_DELAY", crawler_settings.DOWNLOAD_DELAY))
    throttle = _setting_is_on(
        settings.get("AUTOTHROTTLE_ENABLED", crawler_settings.AUTOTHROTTLE_ENABLED)
    )
    return delay, throttle


def _minutes(n: int) -> str:
    return f"{n:,} minute{'' if n == 1 else 's'}"


def politeness_note(
    settings: dict[str, object] | None,
    *,
    homes: int | None = None,
    requests_per_home: float | None = None,
    fast_option: str | None = None,
) -> str:
    """One line saying, before a crawl, whether politeness delays apply and
    what they cost: with ``homes`` (a full crawl's expected homes) in
    minutes for those homes, else per 100 homes. ``fast_option`` names the
    option that drops the delays, said only when it may be used (a sample
    site on this machine)."""
    delay, throttle = politeness(settings)
    if delay <= 0 and not throttle:
        return "No politeness delays: requests go as fast as the site answers."
    per_home = requests_per_home or REQUESTS_PER_HOME
    pace = max(delay, 0.0)
    if throttle:
        pace = max(pace, 1.0)  # AutoThrottle never goes below DOWNLOAD_DELAY
    what = f"{delay:g} s between requests to each site" if delay > 0 else ""
    if throttle:
        what += (", " if what else "") + "AutoThrottle on (slower when a site is)"
    if homes:
        minutes = math.ceil(homes * per_home * pace / 60)
        cost = f"a full crawl of {homes:,} homes takes about {_minutes(minutes)}"
    else:
        minutes = math.ceil(100 * per_home * pace / 60)
        cost = f"about {_minutes(minutes)} per 100 homes"
    note = f"Polite crawl: {what}; {cost}"
    if fast_option:
        note += f"; {fast_option} drops the delays (a sample site on this machine only)"
    return note + "."


def expected_homes(db_path: Path) -> tuple[int | None, float | None]:
    """From the published registry: how many homes a full crawl should list
    (the last good full crawl's count, else the homes on the newest list) and
    the requests that crawl made per home (None when unknown)."""
    if not db_path.exists():
        return None, None
    db = Database(db_path)
    try:
        tables = set(db.table_names())
        if "crawls" in tables:
            row = db.execute(
                "select homes_listed, requests from crawls where spider = 'reports'"
                " and outcome = 'merged' and mode = 'full' and homes_listed > 0"
                " order by started_at desc limit 1"
            ).fetchone()
            if row:
                return row[0], (row[1] / row[0] if row[1] else None)
        if "homes" in tables:
            (active,) = db.execute(
                "select count(*) from homes where status = 'active'"
            ).fetchone()
            return active or None, None
    finally:
        db.close()
    return None, None


# finish reasons of a crawl that stopped part-way and may be resumed
_NOT_RESUMABLE = ("finished", "layout_check_failed")


def find_interrupted(
    data_dir: Path, spider: str, *, max_age_hours: float = 48.0
) -> tuple[str, dict] | None:
    """The newest crawl of ``spider`` that stopped part-way (killed: no
    summary; or ended ``shutdown``, a timeout, an error count...) and was
    never merged, started less than ``max_age_hours`` ago: (id, arguments)."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    found = []
    for path in (data_dir / "jobs").glob(f"{spider}-*/job.json"):
        try:
            job = json.loads(path.read_text())
            started = dt.datetime.fromisoformat(
                job["started_at"].replace("Z", "+00:00")
            )
        except (ValueError, KeyError, OSError):
            continue
        if (now - started).total_seconds() > max_age_hours * 3600:
            continue
        crawl_id = path.parent.name
        summary_path = data_dir / "crawls" / f"{crawl_id}.json"
        if summary_path.exists():
            try:
                summary = json.loads(summary_path.read_text())
            except ValueError:
                summary = {}
            if summary.get("finish_reason") in _NOT_RESUMABLE:
                continue
            if summary.get("outcome") == "merged":
                continue
        found.append((job["started_at"], crawl_id, job["arguments"]))
    if not found:
        return None
    _, crawl_id, arguments = max(found)
    return crawl_id, arguments


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
    crawl: Crawl,
    *,
    last_full_listed: int | None,
    thresholds: Thresholds,
    data_dir: Path | None = None,
    previous: dict[str, dict] | None = None,
) -> list[str]:
    """Why this crawl must not be merged (empty: it may). With ``data_dir``
    the crawl-time coverage monitors are computed (into
    ``crawl.summary["monitors"]``) and judged against ``previous``, the
    monitors of the last good crawl."""
    s, reasons = crawl.summary, []
    stats = s.get("stats", {})
    name = f"{crawl.spider} crawl {crawl.id}"
    if s.get("finish_reason") != "finished":
        reasons.append(f"{name} ended with {s.get('finish_reason')!r}, not 'finished'")
    for failure in s.get("check_failures") or []:
        reasons.append(f"{name}: first-pages check failed: {failure}")
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
    if data_dir is not None and crawl.spider == "reports":
        monitors = compute_monitors(crawl, data_dir)
        reasons += judge_monitors(crawl, monitors, previous or {}, thresholds)
        s["monitors"] = monitors
    return reasons


# ------------------------------------------------------------- recording


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


def note_outcome(
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


def record_crawls(
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
        if summary.get("monitors"):
            record_monitors(db, crawl_id, summary["monitors"])
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


# ------------------------------------------------------------ coverage monitors
#
# What a reports crawl read, per page kind and per field, as shares. Each
# monitor has a floor (or a ceiling) and is compared with the same monitor of
# the last good crawl; the gate refuses the merge when one trips. The figures
# are kept in `crawl_monitors`.

# (monitor, page kind, field, floor attribute, ceiling attribute)
_FIELDS_RELIED_ON = {"provider.title", "event.event_type", "event.publication_date"}
_PDF_FIELDS = {
    # field of `reports` → floor attribute (None: compared with the last crawl only)
    "inspection_date": "min_field_fill",
    "inspection_type": "min_field_fill",
    "judgement": None,
}


def _monitor(
    name: str,
    page_kind: str,
    field: str | None,
    count: int,
    seen: int,
    *,
    floor: str | None = None,
    ceiling: str | None = None,
    describe: str = "",
) -> dict:
    return {
        "monitor": name,
        "page_kind": page_kind,
        "field": field,
        "count": count,
        "seen": seen,
        "share": round(count / seen, 4) if seen else None,
        "floor_setting": floor,
        "ceiling_setting": ceiling,
        "describe": describe,
    }


def compute_monitors(crawl: Crawl, data_dir: Path) -> list[dict]:
    """The crawl-time monitors of a reports crawl (from its manifest, so a
    resumed crawl counts everything it read, in every run)."""
    if crawl.spider != "reports":
        return []
    from crawler.pipelines import read_manifests

    searches = crawl.of_kind("search-page")
    listed = crawl.listed
    pages: dict[str, dict] = {}
    for entry in crawl.of_kind("provider-page"):
        pages[entry["urn"]] = entry  # the last answer for a home counts
    ok = [p for p in pages.values() if p.get("status") == "ok"]
    understood_or_not = [
        p for p in pages.values() if p.get("status") in ("ok", "not-understood")
    ]
    dead = [p for p in pages.values() if p.get("status") == "not-found"]
    events = [e for p in ok for e in p.get("events") or []]
    links = {e["report_url"] for e in events if e.get("report_url")}
    stored_before = {
        e["url"]
        for e in read_manifests(data_dir)
        if e.get("crawl_id") != crawl.id
        and e.get("kind") == "report"
        and e.get("status") in ("stored", "known")
    }
    to_fetch = links - stored_before
    reports: dict[str, dict] = {}
    for entry in crawl.of_kind("report"):
        reports[entry["url"]] = entry
    stored = {u for u, e in reports.items() if e.get("status") == "stored"}
    report_dead = {u for u, e in reports.items() if e.get("status") == "not-found"}
    listings = crawl.of_kind("listing")
    out = [
        _monitor(
            "search.pages_read",
            "search",
            None,
            len(searches),
            len(searches),
            describe="search result pages read",
        ),
        _monitor(
            "search.homes_listed",
            "search",
            None,
            len(listed),
            len(listed),
            describe="homes listed by the search",
        ),
        _monitor(
            "search.urns_read",
            "search",
            "urn",
            sum(int(p.get("urns_read") or 0) for p in searches),
            sum(int(p.get("results") or 0) for p in searches),
            floor="min_share",
            describe="search results whose link gave a URN",
        ),
        _monitor(
            "provider.fetched",
            "provider",
            None,
            len(listed & set(pages)),
            len(listed),
            floor="min_share",
            describe="listed homes whose provider page was fetched",
        ),
        _monitor(
            "provider.understood",
            "provider",
            None,
            len(ok),
            len(understood_or_not),
            floor="min_share",
            describe="live provider pages with a title or timeline",
        ),
        _monitor(
            "provider.not_found",
            "provider",
            None,
            len(dead),
            len(pages),
            ceiling="max_not_found_share",
            describe="provider pages that were 404/410 or 'Report not found'",
        ),
        _monitor(
            "timeline.understood",
            "timeline",
            None,
            sum(int(p.get("timeline_understood") or 0) for p in ok),
            sum(int(p.get("timeline_items") or 0) for p in ok),
            floor="min_timeline_share",
            describe="timeline items (not the opening) with a report link",
        ),
        _monitor(
            "report.fetched",
            "report",
            None,
            len(stored & to_fetch),
            len(to_fetch),
            floor="min_report_share",
            describe="new report links whose PDF was fetched",
        ),
        _monitor(
            "report.not_found",
            "report",
            None,
            len(report_dead & to_fetch),
            len(to_fetch),
            ceiling="max_not_found_share",
            describe="new report links that were 404/410 or 'Report not found'",
        ),
    ]
    for field, floor in (
        ("title", "min_field_fill"),
        ("provision_type", None),
        ("local_authority", None),
        ("registration_date", None),
    ):
        out.append(
            _monitor(
                f"provider.{field}",
                "provider",
                field,
                sum(1 for p in ok if p.get(field)),
                len(ok),
                floor=floor,
                describe=f"provider pages with {field}"
                + ("" if floor else " (optional extra)"),
            )
        )
    for field, floor in (
        ("event_type", "min_field_fill"),
        ("publication_date", "min_field_fill"),
        ("inspection_date", None),
    ):
        out.append(
            _monitor(
                f"event.{field}",
                "timeline",
                field,
                sum(1 for e in events if e.get(field)),
                len(events),
                floor=floor,
                describe=f"report links with {field}"
                + ("" if floor else " (optional extra: the PDF says it)"),
            )
        )
    out.append(
        _monitor(
            "listing.latest_report_date",
            "search",
            "latest_report_date",
            sum(1 for e in listings if e.get("latest_report_date")),
            len(listings),
            describe="search results with a latest report date (optional extra)",
        )
    )
    return out


def read_monitors(crawl: Crawl, db: Database) -> list[dict]:
    """The read-time monitors: of the PDFs this crawl stored, how many the
    report reader read, and how full each field it read is (``db`` holds the
    loaded copy, before it is published)."""
    if crawl.spider != "reports" or "reports" not in db.table_names():
        return []
    digests = sorted(
        {
            e["sha256"]
            for e in crawl.of_kind("report")
            if e.get("status") == "stored" and e.get("sha256")
        }
    )
    rows = []
    for chunk in range(0, len(digests), 500):
        part = digests[chunk : chunk + 500]
        marks = ",".join("?" * len(part))
        rows += list(
            db.query(
                "select inspection_date, inspection_type, judgement from reports "  # noqa: S608 - placeholders only
                f"where sha256 in ({marks})",
                part,
            )
        )
    out = [
        _monitor(
            "report.read",
            "report",
            None,
            len(rows),
            len(digests),
            floor="min_report_share",
            describe="fetched PDFs the report reader read",
        )
    ]
    for field, floor in _PDF_FIELDS.items():
        out.append(
            _monitor(
                f"report.{field}",
                "report",
                field,
                sum(1 for r in rows if r[field]),
                len(rows),
                floor=floor,
                describe=f"read PDFs with {field}",
            )
        )
    return out


def previous_monitors(db_path: Path, mode: str | None = None) -> dict[str, dict]:
    """The monitors of the last merged reports crawl (of the same mode when
    there is one), by name."""
    if not db_path.exists():
        return {}
    db = Database(db_path)
    try:
        if "crawl_monitors" not in db.table_names():
            return {}
        for clause in ("and mode = ?", ""):
            params = [mode] if clause else []
            row = db.execute(
                "select c.id from crawls c where spider = 'reports' and outcome = 'merged' "  # noqa: S608 - fixed clauses
                f"and exists (select 1 from crawl_monitors m where m.crawl_id = c.id) {clause} "
                "order by started_at desc limit 1",
                params,
            ).fetchone()
            if row:
                return {
                    r["monitor"]: r
                    for r in db.query(
                        "select * from crawl_monitors where crawl_id = ?", [row[0]]
                    )
                }
        return {}
    finally:
        db.close()


def judge_monitors(
    crawl: Crawl,
    monitors: list[dict],
    previous: dict[str, dict],
    thresholds: Thresholds,
) -> list[str]:
    """Fill in each monitor's verdict; return the refusal reasons.

    A share with a floor trips when it is zero over any number of items, or
    below the floor over at least ``min_sample`` items; one with a ceiling
    when it is above it over at least ``min_sample`` items (or every item of
    fewer). Every share also trips when it fell by more than
    ``max_fill_drop`` since the last good crawl (both over ``min_sample``)."""
    reasons = []
    name = f"reports crawl {crawl.id}"
    for m in monitors:
        m["verdict"], m["message"] = "ok", None
        m["floor"] = (
            getattr(thresholds, m["floor_setting"]) if m["floor_setting"] else None
        )
        m["ceiling"] = (
            getattr(thresholds, m["ceiling_setting"]) if m["ceiling_setting"] else None
        )
        before = previous.get(m["monitor"])
        m["previous_share"] = before["share"] if before else None
        m["previous_crawl_id"] = before["crawl_id"] if before else None
        share, seen = m["share"], m["seen"]
        figure = f"{m['count']} of {seen} {m['describe']}"
        message = None
        if m["monitor"] == "search.homes_listed":
            if crawl.is_full_reports and m["count"] < thresholds.min_homes_listed:
                message = (
                    f"monitor search.homes_listed: the search listed {m['count']} homes, "
                    f"fewer than the floor of {thresholds.min_homes_listed} (min_homes_listed)"
                )
        elif m["floor_setting"] and not m["floor"]:
            pass  # a floor set to 0 turns the monitor off (a deliberate status walk)
        elif (
            share is not None
            and m["floor"] is not None
            and (
                m["count"] == 0
                or (seen >= thresholds.min_sample and share < m["floor"])
            )
        ):
            message = (
                f"monitor {m['monitor']}: {figure} ({share:.0%}), "
                f"below the floor of {m['floor']:.0%} ({m['floor_setting']})"
            )
        elif (
            share is not None
            and m["ceiling"] is not None
            and share > m["ceiling"]
            and (seen >= thresholds.min_sample or m["count"] == seen)
        ):
            message = (
                f"monitor {m['monitor']}: {figure} ({share:.0%}), "
                f"above the ceiling of {m['ceiling']:.0%} ({m['ceiling_setting']})"
            )
        elif (
            share is not None
            and before
            and before["share"] is not None
            and m["ceiling"] is None
            and seen >= thresholds.min_sample
            and (before["seen"] or 0) >= thresholds.min_sample
            and before["share"] - share > thresholds.max_fill_drop
        ):
            message = (
                f"monitor {m['monitor']}: {figure} ({share:.0%}), down from "
                f"{before['share']:.0%} in the last good crawl {before['crawl_id']}: "
                f"a fall of more than {thresholds.max_fill_drop:.0%} (max_fill_drop)"
            )
        if message:
            m["verdict"], m["message"] = "tripped", message
            reasons.append(f"{name}: {message}")
    return reasons


def record_monitors(db: Database, crawl_id: str, monitors: list[dict]) -> None:
    for m in monitors:
        db["crawl_monitors"].upsert(
            {
                "crawl_id": crawl_id,
                "monitor": m["monitor"],
                "page_kind": m["page_kind"],
                "field": m["field"],
                "count": m["count"],
                "seen": m["seen"],
                "share": m["share"],
                "floor": m.get("floor"),
                "ceiling": m.get("ceiling"),
                "previous_share": m.get("previous_share"),
                "verdict": m.get("verdict", "ok"),
                "message": m.get("message"),
                "description": m["describe"],
            },
            pk=("crawl_id", "monitor"),
        )


def monitor_lines(crawl: Crawl, *, only: list[dict] | None = None) -> list[str]:
    """The monitors as short lines for the refresh's progress output."""
    out = []
    for m in only if only is not None else crawl.summary.get("monitors", []):
        share = "-" if m["share"] is None else f"{m['share']:.0%}"
        mark = "TRIPPED" if m.get("verdict") == "tripped" else "ok"
        out.append(
            f"    {m['monitor']:28} {m['count']:>7,} / {m['seen']:<7,} {share:>5}  {mark}"
        )
    return out
