"""Item pipelines (validate → store → manifest) and the crawl summary.

Layout under ``DATA_DIR``::

    raw/<kind>/<sha256[:2]>/<sha256>.<ext>   every fetched file, content-addressed
    manifests/<crawl_id>.jsonl              one line per item of one crawl
    crawls/<crawl_id>.json                  the crawl's summary (finish reason, stats)

The manifest line is the contract with ``registry.refresh``::

    {"kind": "report", "url": "...", "urn": "SC123456", "path": "raw/report/3f/3f2a….pdf",
     "sha256": "…", "fetched_at": "2026-08-01T09:12:03Z", "status": "stored", ...}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import FetchedFile, Listing, ProviderPage

logger = logging.getLogger(__name__)

# The URN rule (the registry's `extract.normalise.URN_PATTERN`; the crawler may
# not import `extract`, so the one-line pattern is repeated here).
URN = re.compile(r"^(SC\d{6}|\d{7})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EVENT_WORDS = ("inspection", "visit")
_EXTENSIONS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.ms-excel": "xls",
}


def utc_now() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .replace(microsecond=0)
        .isoformat()
        .replace("+00:00", "Z")
    )


def data_dir(crawler: Crawler) -> Path:
    return Path(crawler.settings.get("DATA_DIR", "data")).resolve()


def read_manifests(directory: Path) -> Iterator[dict]:
    """Every line of every manifest under ``directory/manifests``, oldest first."""
    for path in sorted((directory / "manifests").glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line:
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        logger.warning("%s: a manifest line is not JSON; skipped", path)


def known_files(directory: Path) -> tuple[set[str], set[str]]:
    """URLs and SHA-256s of files already stored by earlier crawls."""
    urls, digests = set(), set()
    for entry in read_manifests(directory):
        if entry.get("status") in ("stored", "known") and entry.get("sha256"):
            urls.add(entry["url"])
            digests.add(entry["sha256"])
    return urls, digests


class ValidateItemPipeline:
    """Refuse items that break the rules, and count why in ``ofsted/...`` stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item, spider: Spider | None = None):
        if isinstance(item, ProviderPage):
            self._check_provider(item)
        elif isinstance(item, Listing):
            if not URN.match(item.urn or ""):
                self._drop("ofsted/listing/invalid_urn", item.urn)
        elif (
            isinstance(item, FetchedFile)
            and item.urn is not None
            and not URN.match(item.urn)
        ):
            self._drop(f"ofsted/{item.kind}/invalid_urn", item.urn)
        self.stats.inc_value(f"ofsted/items/{getattr(item, 'kind', 'other')}")
        return item

    def _check_provider(self, item: ProviderPage) -> None:
        if not URN.match(item.urn or ""):
            self._drop("ofsted/provider/invalid_urn", item.urn)
        if item.status != "ok":
            return
        if item.registration_date and not ISO_DATE.match(item.registration_date):
            self._drop("ofsted/provider/invalid_registration_date", item.urn)
        for event in item.events:
            # the inspection date is an optional extra (the PDF says it)
            inspected = event.get("inspection_date")
            if inspected and not ISO_DATE.match(inspected):
                self._drop("ofsted/provider/invalid_event_date", item.urn)
            published = event.get("publication_date")
            if published and not ISO_DATE.match(published):
                self._drop("ofsted/provider/invalid_publication_date", item.urn)
            kind = (event.get("event_type") or "").casefold()
            if not any(word in kind for word in EVENT_WORDS):
                # counted, not dropped: the report link is what matters
                self.stats.inc_value("ofsted/provider/unknown_event_type")

    def _drop(self, key: str, urn: object) -> None:
        self.stats.inc_value(key)
        self.stats.inc_value("ofsted/items/invalid")
        raise DropItem(f"{key}: {urn!r}")


class StoreFilePipeline:
    """Write each fetched body (and each parsed provider page) content-addressed."""

    def __init__(self, crawler: Crawler) -> None:
        self.root = data_dir(crawler)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item, spider: Spider | None = None):
        if isinstance(item, FetchedFile):
            item.fetched_at = item.fetched_at or utc_now()
            if item.body is not None and item.status == "stored":
                ext = _extension(item)
                item.sha256, item.path = self._write(item.kind, item.body, ext)
                item.size = len(item.body)
                self.stats.inc_value("ofsted/files/stored")
                self.stats.inc_value("ofsted/files/bytes", len(item.body))
            item.body = None
        elif isinstance(item, ProviderPage):
            item.fetched_at = item.fetched_at or utc_now()
            record = {
                key: value
                for key, value in dataclasses.asdict(item).items()
                if key not in ("path", "sha256", "fetched_at")
            }
            body = json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
            item.sha256, item.path = self._write("provider-page", body, "json")
        return item

    def _write(self, kind: str, body: bytes, ext: str) -> tuple[str, str]:
        digest = hashlib.sha256(body).hexdigest()
        relative = Path("raw") / kind / digest[:2] / f"{digest}.{ext}"
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(body)
            partial.replace(target)
        return digest, relative.as_posix()


def _extension(item: FetchedFile) -> str:
    content_type = (item.content_type or "").split(";")[0].strip().lower()
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    suffix = Path(item.url.split("?")[0]).suffix.lstrip(".").lower()
    return suffix if suffix in {"pdf", "csv", "xlsx", "ods", "xls"} else "bin"


class ManifestPipeline:
    """One JSON line per item: ``manifests/<crawl_id>.jsonl``."""

    def __init__(self, crawler: Crawler) -> None:
        self.root = data_dir(crawler)
        self.crawler = crawler
        self.fh = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        path = self.root / "manifests" / f"{spider.crawl_id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.fh:
            self.fh.close()

    def process_item(self, item, spider: Spider | None = None):
        record = dataclasses.asdict(item)
        record.pop("body", None)
        record["crawl_id"] = self.crawler.spider.crawl_id
        assert self.fh is not None
        self.fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.fh.flush()
        return item


class CrawlSummary:
    """Writes ``crawls/<crawl_id>.json`` when the spider closes: what the
    refresh gate reads (finish reason, requests, items, errors, retries)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.started = utc_now()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        # a resumed crawl keeps the start of its first run
        self.started = self.crawler.settings.get("OFSTED_CRAWL_STARTED_AT") or utc_now()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if hasattr(spider, "final_checks"):
            spider.final_checks(reason)
        stats = self.crawler.stats.get_stats()

        def number(key: str) -> int:
            value = stats.get(key, 0)
            return int(value) if isinstance(value, int | float) else 0

        summary = {
            "crawl_id": spider.crawl_id,
            "spider": spider.name,
            "mode": getattr(spider, "mode", "full"),
            "since": getattr(spider, "since", None),
            "started_at": self.started,
            "finished_at": utc_now(),
            "finish_reason": reason,
            "requests": number("downloader/request_count"),
            "responses": number("downloader/response_count"),
            "bytes": number("downloader/response_bytes"),
            "items": number("item_scraped_count"),
            "items_dropped": number("item_dropped_count"),
            "errors": number("log_count/ERROR")
            + sum(
                int(value)
                for key, value in stats.items()
                if key.startswith("spider_exceptions/")
            ),
            "retries": number("retry/count"),
            "retries_given_up": number("retry/max_reached"),
            "robots_forbidden": number("robotstxt/forbidden"),
            "check_failures": list(getattr(spider, "check_failures", [])),
            "resumed": number("ofsted/resume/runs"),
            "stats": {
                key: value
                for key, value in stats.items()
                if isinstance(value, int | float)
                and (
                    key.startswith(("ofsted/", "retry/", "downloader/response_status"))
                )
            },
        }
        path = data_dir(self.crawler) / "crawls" / f"{spider.crawl_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps(summary, indent=1))
        partial.replace(path)
        logger.info("crawl %s closed (%s): %s", spider.crawl_id, reason, path)
