"""``reports``: reports.ofsted.gov.uk, for what happened since the last release.

1. The search for children's homes (children's social care, 100 a page),
   followed page by page through its next-page link. An incremental run
   (``-a since=YYYY-MM-DD``) asks only for homes whose latest report was
   published on or after that day.
2. Each listed home's provider page (``/provider/2/<URN>``): its title and
   the timeline's report links (``crawler.markup`` says which markup is
   relied on and which is an optional extra).
3. Each report PDF not stored before (a PDF link is immutable). A report link
   is enough: the inspection date, type and judgements are read from the PDF.

A 404/410, or an HTML page titled "Report not found" whatever its status, is
an item with ``status="not-found"``, never silence and never an empty page.
A provider page without the title and timeline is an item with
``status="not-understood"``. The first pages are checked as the canary checks
them (``crawler.markup.layout_checks``): when they are not understood the
crawl stops at once (finish reason ``layout_check_failed``).

Resume: ``-a resume=1`` with the ``crawl_id`` of an interrupted crawl reads
that crawl's own manifest and asks again only for what it has not got (search
pages not read, listed homes without a provider page, report links not
stored); run with ``JOBDIR`` (``registry.crawls`` does) Scrapy also keeps its
queue and seen requests across a clean stop.

Example::

    scrapy crawl reports -s DATA_DIR=data -a since=2026-01-31
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlsplit

from parsel import Selector
from scrapy import Request
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from crawler import markup
from crawler.items import FetchedFile, Listing, ProviderPage, SearchPage
from crawler.pipelines import URN
from crawler.spiders.base import OfstedSpider


class ReportsSpider(OfstedSpider):
    name = "reports"

    def __init__(
        self,
        *args,
        since: str | None = None,
        max_pages: str | None = None,
        resume: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.since = dt.date.fromisoformat(since).isoformat() if since else None
        self.mode = "incremental" if self.since else "full"
        self.max_pages = int(max_pages) if max_pages else None
        self.resume = bool(resume and resume not in ("0", "false"))
        self.pages = 0
        self.check_failures: list[str] = []
        # what the first pages showed (checked as the canary checks them)
        self._first_search: list[dict] = []
        self._first_providers: list[dict] = []
        self._first_reports: list[dict] = []
        self._checked = {"search": False, "providers": False, "reports": False}
        # this crawl's own progress (for resume and de-duplication)
        self._searched: set[int] = set()
        self._listed: set[str] = set()
        self._providers_done: set[str] = set()
        self._reports_requested: set[str] = set()

    # ---------------------------------------------------------------- search

    def search_url(self, start: int) -> str:
        params = dict(self.settings.getdict("OFSTED_SEARCH_PARAMS"))
        if self.since:
            params["latest_report_date_start"] = dt.date.fromisoformat(
                self.since
            ).strftime("%d-%m-%Y")
        params["start"] = str(start)
        params["rows"] = str(self.settings.getint("OFSTED_SEARCH_ROWS", 100))
        base = self.settings.get("OFSTED_REPORTS_URL").rstrip("/")
        return f"{base}/search?{urlencode(params)}"

    def provider_url(self, urn: str) -> str:
        return f"{self.settings.get('OFSTED_REPORTS_URL').rstrip('/')}/provider/2/{urn}"

    async def start(self) -> AsyncIterator[Request]:
        if self.resume:
            for request in self._resume_requests():
                yield request
            return
        yield Request(
            self.search_url(0), callback=self.parse_search, cb_kwargs={"start": 0}
        )

    def _resume_requests(self):
        """Read this crawl's manifest and ask again for what it lacks."""
        self.count("ofsted/resume/runs")
        path = self.data_dir / "manifests" / f"{self.crawl_id}.jsonl"
        entries = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by a kill
        links: dict[str, str] = {}
        last_start, last_next = None, True
        for entry in entries:
            kind = entry.get("kind")
            if kind == "search-page":
                self._searched.add(entry["start"])
                if last_start is None or entry["start"] >= last_start:
                    last_start, last_next = entry["start"], bool(entry.get("next_url"))
                    self._next_url = entry.get("next_url")
            elif kind == "listing":
                self._listed.add(entry["urn"])
            elif kind == "provider-page":
                self._providers_done.add(entry["urn"])
                for event in entry.get("events") or []:
                    if event.get("report_url"):
                        links[event["report_url"]] = entry["urn"]
            elif kind == "report":
                self._reports_requested.add(entry["url"])
        self._checked = dict.fromkeys(self._checked, True)  # checked in the first run
        self.count("ofsted/resume/searched", len(self._searched))
        self.count("ofsted/resume/providers_done", len(self._providers_done))
        if last_start is None:
            yield Request(
                self.search_url(0), callback=self.parse_search, cb_kwargs={"start": 0}
            )
        elif last_next and getattr(self, "_next_url", None):
            start = last_start + self.settings.getint("OFSTED_SEARCH_ROWS", 100)
            yield Request(
                self._next_url, callback=self.parse_search, cb_kwargs={"start": start}
            )
        # not dont_filter: after a clean stop JOBDIR's seen-set holds what its
        # restored queue will ask for; after a kill that set was dropped
        for urn in sorted(self._listed - self._providers_done):
            yield self._provider_request(urn)
        for url, urn in links.items():
            if url in self.known_urls or url in self._reports_requested:
                continue
            self._reports_requested.add(url)
            yield Request(
                url,
                callback=self.parse_report,
                cb_kwargs={"urn": urn, "published": None},
            )

    def _provider_request(self, urn: str, *, dont_filter: bool = False) -> Request:
        return Request(
            self.provider_url(urn),
            callback=self.parse_provider,
            cb_kwargs={"urn": urn},
            dont_filter=dont_filter,
        )

    def parse_search(self, response: Response, start: int):
        if start in self._searched:
            return
        self.pages += 1
        sel = Selector(text=response.text)
        read = markup.read_search(sel, base_url=response.url)
        if not read["has_list"] and not read["results"]:
            if read["shown_total"] == 0:  # an optional extra: "0 results"
                yield SearchPage(
                    url=response.url, start=start, shown_total=0, results=0
                )
                return
            self.count("ofsted/layout/search")
            self.logger.error(
                "%s: no results list (%s): has the layout changed?",
                response.url,
                markup.SEARCH_RESULTS,
            )
            self._first_search.append(read)
            self._check("search")
            return
        if not self._checked["search"]:
            self._first_search.append(read)
            self._check("search")
        self._searched.add(start)
        urns = [r for r in read["results"] if r["urn"] and URN.match(r["urn"])]
        self.count("ofsted/search/missing_urn", len(read["results"]) - len(urns))
        for result in urns:
            urn = result["urn"]
            yield Listing(
                urn=urn,
                url=self.provider_url(urn),
                latest_report_date=result["latest_report_date"],
            )
            if urn in self._listed:
                continue
            self._listed.add(urn)
            yield self._provider_request(urn)
        # after its listings: a search page in the manifest means all of its
        # listings are there too (what resume relies on)
        yield SearchPage(
            url=response.url,
            start=start,
            shown_total=read["shown_total"],
            results=len(read["results"]),
            urns_read=len(urns),
            next_url=read["next_url"],
        )
        next_url = read["next_url"]
        if next_url is None and read["shown_total"] is not None:  # optional extra
            rows = self.settings.getint("OFSTED_SEARCH_ROWS", 100)
            if start + rows < read["shown_total"]:
                next_url = self.search_url(start + rows)
        if (
            next_url
            and read["results"]
            and (self.max_pages is None or self.pages < self.max_pages)
        ):
            query = parse_qs(urlsplit(next_url).query)
            rows = self.settings.getint("OFSTED_SEARCH_ROWS", 100)
            following = int((query.get("start") or [start + rows])[-1])
            yield Request(
                next_url,
                callback=self.parse_search,
                cb_kwargs={"start": following if following > start else start + rows},
            )

    # -------------------------------------------------------------- checks

    def _check(self, stage: str) -> None:
        """Check the first pages of ``stage`` as the canary does; stop the
        crawl at once when the markup is not understood."""
        if self._checked[stage]:
            return
        wanted = self.settings.getint("OFSTED_FIRST_PAGES_CHECKED", 5)
        if stage == "providers" and len(self._first_providers) < wanted:
            return
        if stage == "reports" and len(self._first_reports) < min(wanted, 3):
            return
        self._checked[stage] = True
        rows = markup.layout_checks(
            self._first_search,
            self._first_providers if stage != "search" else [],
            self._first_reports if stage == "reports" else None,
        )
        if stage == "search" and self.mode == "incremental":
            # an incremental search may rightly list nothing new
            rows = [r for r in rows if r["found"] or r["seen"]]
            if not any(r["found"] for r in rows if r["check"] == "search results"):
                rows = [r for r in rows if r["check"] != "search results"]
                rows = [
                    r for r in rows if r["check"] != "result link to a provider page"
                ]
        failures = markup.failed_checks(rows)
        if failures:
            self.check_failures = failures
            self.count("ofsted/check/failed", len(failures))
            for failure in failures:
                self.logger.error("first-pages check failed: %s", failure)
            raise CloseSpider("layout_check_failed")

    # -------------------------------------------------------------- provider

    def parse_provider(self, response: Response, urn: str):
        if urn in self._providers_done:
            return
        self._providers_done.add(urn)
        sel = Selector(text=response.text) if _is_html(response) else None
        if response.status in (404, 410) or (
            sel is not None and markup.is_not_found(sel)
        ):
            self.count("ofsted/provider/not_found")
            self._note_provider({"dead": True})
            yield ProviderPage(
                urn=urn,
                url=response.url,
                status="not-found",
                http_status=response.status,
            )
            return
        read = markup.read_provider(sel, base_url=response.url) if sel else None
        if read is None or (not read["timeline"] and not read["title"]):
            self.count("ofsted/layout/provider")
            self.logger.error(
                "%s: no %s and no %s: has the layout changed?",
                response.url,
                markup.TITLE,
                markup.TIMELINE,
            )
            self._note_provider(
                read or markup.read_provider(Selector(text=""), base_url=response.url)
            )
            yield ProviderPage(
                urn=urn,
                url=response.url,
                status="not-understood",
                http_status=response.status,
            )
            return
        canonical = sel.css("link[rel=canonical]::attr(href)").get() or ""
        match = markup.PROVIDER_HREF.search(canonical)
        if match and match.group(1).upper() != urn:
            self.count("ofsted/provider/urn_mismatch")
            return
        self.count("ofsted/provider/unreadable_event", len(read["not_understood"]))
        page = ProviderPage(
            urn=urn,
            url=response.url,
            http_status=response.status,
            title=read["title"],
            provision_type=read["provision_type"],
            local_authority=read["local_authority"],
            registration_date=read["registration_date"],
            events=read["events"],
            timeline_items=read["timeline_items"],
            timeline_understood=read["timeline_understood"],
            report_links=read["report_links"],
        )
        if not page.local_authority:
            self.count("ofsted/provider/missing_local_authority")
        yield page
        self._note_provider(read)
        if not self.settings.getbool("OFSTED_DOWNLOAD_REPORTS", True):
            return
        for event in page.events:
            url = event["report_url"]
            if url in self.known_urls:
                self.count("ofsted/report/known")
                continue
            if url in self._reports_requested:
                continue
            self._reports_requested.add(url)
            yield Request(
                url,
                callback=self.parse_report,
                cb_kwargs={"urn": urn, "published": event.get("publication_date")},
            )

    def _note_provider(self, read: dict) -> None:
        if not self._checked["providers"]:
            self._first_providers.append(read)
            self._check("providers")

    # ---------------------------------------------------------------- report

    def parse_report(self, response: Response, urn: str, published: str | None):
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        is_pdf = response.body.startswith(b"%PDF-") and "pdf" in content_type.lower()
        dead = response.status in (404, 410) or (
            not is_pdf
            and _is_html(response)
            and markup.is_not_found(Selector(text=response.text))
        )
        if not self._checked["reports"]:
            self._first_reports.append(
                {
                    "url": response.url,
                    "is_pdf": is_pdf or dead,  # a dead link is understood
                    "dead": dead,
                    "content_type": content_type,
                }
            )
            self._check("reports")
        if dead:
            self.count("ofsted/report/not_found")
            yield FetchedFile(
                "report",
                response.url,
                urn=urn,
                status="not-found",
                http_status=response.status,
                content_type=content_type,
                published=published,
            )
            return
        if not is_pdf:
            self.count("ofsted/download/unexpected_content_type")
            self.logger.warning(
                "%s: expected a PDF, got %s", response.url, content_type or "?"
            )
            yield FetchedFile(
                "report",
                response.url,
                urn=urn,
                status="content-type-mismatch",
                http_status=response.status,
                content_type=content_type,
                published=published,
            )
            return
        yield FetchedFile(
            "report",
            response.url,
            body=response.body,
            urn=urn,
            content_type=content_type,
            http_status=response.status,
            published=published,
        )

    def final_checks(self, reason: str) -> None:
        """A crawl with fewer first pages than the check wants is checked on
        what it had (a five-home site must be understood too). Idempotent;
        the crawl summary calls it before writing ``check_failures``."""
        if reason != "finished" or self.check_failures:
            return
        rows = []
        if not self._checked["providers"] and self._first_providers:
            rows += markup.layout_checks(self._first_search, self._first_providers)
        if not self._checked["reports"] and self._first_reports:
            rows += [
                r
                for r in markup.layout_checks([], [], self._first_reports)
                if r["check"] == "report link gives a PDF"
            ]
        if self.mode == "incremental":
            rows = [r for r in rows if not r["check"].startswith(("search", "result"))]
        self._checked = dict.fromkeys(self._checked, True)
        self.check_failures = markup.failed_checks(rows)
        if self.check_failures:
            self.count("ofsted/check/failed", len(self.check_failures))
            for failure in self.check_failures:
                self.logger.error("first-pages check failed: %s", failure)


def _is_html(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"").decode("latin-1").lower()
    return "html" in content_type or response.body.lstrip()[:15].lower().startswith(
        (b"<!doctype", b"<html")
    )
