"""``reports``: reports.ofsted.gov.uk, for what happened since the last release.

1. The search for children's homes (children's social care, 100 a page with
   ``start``/``rows``). An incremental run (``-a since=YYYY-MM-DD``) asks only
   for homes whose latest report was published on or after that day.
2. Each listed home's provider page (``/provider/2/<URN>``): type, local
   authority, registration date and the timeline of events with their dates,
   types and report links.
3. Each report PDF not stored before (a PDF link is immutable).

Nobody here has seen the live HTML, so parsing is tolerant: it tries the
selectors public scrapers use, then looser fallbacks, and counts what it could
not read in ``ofsted/layout/...`` and ``ofsted/provider/...`` stats. A 404 or
410 is an item with ``status="not-found"``, never silence.

Example::

    scrapy crawl reports -s DATA_DIR=data -a since=2026-01-31
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from scrapy import Request
from scrapy.http import Response

from crawler.items import FetchedFile, Listing, ProviderPage, SearchPage
from crawler.pipelines import URN
from crawler.spiders.base import OfstedSpider, page_date

_PROVIDER_HREF = re.compile(r"/provider/\d+/(SC\d{6}|\d{7})\b", re.IGNORECASE)
_TOTAL = re.compile(r"([\d,]+)\s+results?\b", re.IGNORECASE)
_NONVISUAL = re.compile(r"^(?P<kind>.*?),\s*pdf\s*-\s*(?P<date>.+)$", re.IGNORECASE)


class ReportsSpider(OfstedSpider):
    name = "reports"

    def __init__(
        self, *args, since: str | None = None, max_pages: str | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.since = dt.date.fromisoformat(since).isoformat() if since else None
        self.mode = "incremental" if self.since else "full"
        self.max_pages = int(max_pages) if max_pages else None
        self.pages = 0

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
        yield Request(
            self.search_url(0), callback=self.parse_search, cb_kwargs={"start": 0}
        )

    def parse_search(self, response: Response, start: int):
        self.pages += 1
        results = response.css("ul.results-list > li") or response.css(
            "li.search-result"
        )
        text = " ".join(response.css("main ::text, body ::text").getall()[:200])
        match = _TOTAL.search(text)
        total = int(match.group(1).replace(",", "")) if match else None
        if not results and total is None:
            self.count("ofsted/layout/search")
            self.logger.error(
                "%s: no results list and no result count: has the layout changed?",
                response.url,
            )
            return
        if total is not None and total > 0 and not results:
            self.count("ofsted/layout/search_results")
            self.logger.error(
                "%s: says %s results but none could be read", response.url, total
            )
            return
        yield SearchPage(
            url=response.url, start=start, shown_total=total, results=len(results)
        )
        for result in results:
            hrefs = result.css("a::attr(href)").getall()
            urn = next(
                (m.group(1).upper() for h in hrefs if (m := _PROVIDER_HREF.search(h))),
                None,
            )
            if urn is None or not URN.match(urn):
                self.count("ofsted/search/missing_urn")
                continue
            latest = page_date(" ".join(result.css("time::text").getall()))
            local_authority = None
            for line in result.css("li::text").getall():
                if line.strip().lower().startswith("local authority:"):
                    local_authority = line.split(":", 1)[1].strip() or None
            yield Listing(
                urn=urn,
                url=self.provider_url(urn),
                latest_report_date=latest,
                local_authority=local_authority,
            )
            yield Request(
                self.provider_url(urn),
                callback=self.parse_provider,
                cb_kwargs={"urn": urn},
            )
        rows = self.settings.getint("OFSTED_SEARCH_ROWS", 100)
        has_next = bool(response.css("a.pagination__next, ul.pagination li.next a"))
        more = (total is not None and start + rows < total) or (
            total is None and has_next
        )
        if more and results and (self.max_pages is None or self.pages < self.max_pages):
            yield Request(
                self.search_url(start + rows),
                callback=self.parse_search,
                cb_kwargs={"start": start + rows},
            )

    # -------------------------------------------------------------- provider

    def parse_provider(self, response: Response, urn: str):
        if response.status in (404, 410):
            self.count("ofsted/provider/not_found")
            yield ProviderPage(
                urn=urn,
                url=response.url,
                status="not-found",
                http_status=response.status,
            )
            return
        days = response.css("ol.timeline > li.timeline__day") or response.css(
            "li.timeline__day"
        )
        title = response.css("h1.heading--title::text").get()
        if not days and not title:
            self.count("ofsted/layout/provider")
            self.logger.error(
                "%s: no timeline and no title: has the layout changed?", response.url
            )
            return
        canonical = response.css("link[rel=canonical]::attr(href)").get() or ""
        match = _PROVIDER_HREF.search(canonical)
        if match and match.group(1).upper() != urn:
            self.count("ofsted/provider/urn_mismatch")
            return
        details = {}
        for item in response.css("li"):
            spans = [" ".join(s.split()) for s in item.css("span::text").getall()]
            if len(spans) >= 2 and spans[0].endswith(":"):
                details[spans[0].rstrip(":").strip().casefold()] = spans[1]
        page = ProviderPage(
            urn=urn,
            url=response.url,
            provision_type=details.get("type"),
            local_authority=details.get("local authority"),
        )
        if not page.local_authority:
            self.count("ofsted/provider/missing_local_authority")
        reports = []
        for day in days:
            classes = day.attrib.get("class", "")
            if "timeline__day--opened" in classes:
                continue
            if "timeline__day--registered" in classes:
                page.registration_date = page_date(
                    " ".join(day.css("time::text").getall())
                )
                continue
            event = self._event(day, response)
            if event is None:
                self.count("ofsted/provider/unreadable_event")
                continue
            page.events.append(event)
            if event.get("report_url"):
                reports.append(event)
        yield page
        if not self.settings.getbool("OFSTED_DOWNLOAD_REPORTS", True):
            return
        for event in reports:
            url = event["report_url"]
            if url in self.known_urls:
                self.count("ofsted/report/known")
                continue
            yield Request(
                url,
                callback=self.parse_report,
                cb_kwargs={"urn": urn, "published": event.get("publication_date")},
            )

    def _event(self, day, response: Response) -> dict | None:
        inspected = page_date(
            " ".join(
                day.css(".timeline__date time::text, p.timeline__date ::text").getall()
            )
        )
        link = day.css("a.publication-link") or day.css("a[href*='/file/']")
        kind, published = None, None
        if link:
            nonvisual = " ".join(
                " ".join(link[0].css(".nonvisual ::text").getall()).split()
            )
            match = _NONVISUAL.match(nonvisual)
            if match:
                kind, published = (
                    match.group("kind").strip(),
                    page_date(match.group("date")),
                )
            if not kind:
                texts = link[0].xpath("./text()").getall()
                kind = " ".join(" ".join(texts).split()) or None
        if not published:
            published = page_date(
                " ".join(
                    day.xpath(".//*[contains(., 'Published')]/time/text()").getall()
                )
            )
        if not inspected or not kind:
            return None
        href = link[0].attrib.get("href") if link else None
        return {
            "inspection_date": inspected,
            "event_type": kind,
            "publication_date": published,
            "report_url": response.urljoin(href) if href else None,
        }

    # ---------------------------------------------------------------- report

    def parse_report(self, response: Response, urn: str, published: str | None):
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if response.status in (404, 410):
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
        if not response.body.startswith(b"%PDF-") or "pdf" not in content_type.lower():
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
