"""Crawls: run a spider as a subprocess, read back its summary and manifest,
gate it (fail closed), and record the verdict in its summary and the
`crawls` table.

Example::

    crawl = run_spider("reports", data_dir=Path("data"))
    reasons = gate(crawl, last_full_listed=None, thresholds=Thresholds())
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

logger = logging.getLogger(__name__)


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
