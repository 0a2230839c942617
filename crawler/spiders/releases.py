"""``releases``: the official files.

* Ofsted's workbooks: the gov.uk Content API lists the collection's
  statistics pages, and each page's attachments (URL, title, content type).
* DfE's missing-from-care data sets: the explore-education-statistics public
  API finds the publication, lists its data sets, and serves each as CSV
  (``/v1/data-sets/{id}/csv?dataSetVersion=...``, so a new version is a new URL).

A file already stored by an earlier crawl (same URL, or same SHA-256) is not
stored again.

Example::

    scrapy crawl releases -s DATA_DIR=data
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from urllib.parse import quote, urlencode

from scrapy import Request
from scrapy.http import Response

from crawler.items import FetchedFile, IndexPage
from crawler.spiders.base import OfstedSpider

SPREADSHEET_TYPES = (
    "spreadsheet",
    "excel",
    "csv",
    "opendocument",
)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# which EES data sets we want, by words in their titles
DFE_TITLE_WORDS = ("missing", "away from placement")


class ReleasesSpider(OfstedSpider):
    name = "releases"

    async def start(self) -> AsyncIterator[Request]:
        govuk = self.settings.get("GOVUK_URL").rstrip("/")
        collection = self.settings.get("GOVUK_COLLECTION")
        yield Request(
            f"{govuk}/api/content/government/collections/{collection}",
            callback=self.parse_collection,
        )
        ees = self.settings.get("EES_API_URL").rstrip("/")
        search = urlencode({"search": self.settings.get("EES_PUBLICATION_SEARCH")})
        yield Request(
            f"{ees}/v1/publications?{search}", callback=self.parse_publications
        )

    # ---------------------------------------------------------------- gov.uk

    def parse_collection(self, response: Response):
        data = self._json(response, "govuk/collection")
        if data is None:
            return
        govuk = self.settings.get("GOVUK_URL").rstrip("/")
        documents = (data.get("links") or {}).get("documents") or []
        if not documents:
            self.count("ofsted/layout/govuk_collection")
        for document in documents:
            url = document.get("api_url") or (
                f"{govuk}{document['api_path']}" if document.get("api_path") else None
            )
            if url:
                yield Request(url, callback=self.parse_statistics)

    def parse_statistics(self, response: Response):
        data = self._json(response, "govuk/statistics")
        if data is None:
            return
        attachments = (data.get("details") or {}).get("attachments") or []
        yield IndexPage(response.url, len(attachments))
        for attachment in attachments:
            url = attachment.get("url") or ""
            content_type = (attachment.get("content_type") or "").lower()
            is_table = any(
                word in content_type for word in SPREADSHEET_TYPES
            ) or url.lower().endswith((".ods", ".xlsx", ".xls", ".csv"))
            if not url or not is_table:
                continue
            url = response.urljoin(url)
            if url in self.known_urls:
                self.count("ofsted/workbook/known")
                continue
            yield Request(
                url,
                callback=self.parse_file,
                cb_kwargs={"kind": "workbook", "title": attachment.get("title")},
            )

    # ------------------------------------------------------------------- EES

    def parse_publications(self, response: Response):
        data = self._json(response, "ees/publications")
        if data is None:
            return
        wanted = self.settings.get("EES_PUBLICATION_SEARCH").casefold()
        ees = self.settings.get("EES_API_URL").rstrip("/")
        found = False
        for publication in data.get("results") or []:
            if wanted in (publication.get("title") or "").casefold():
                found = True
                yield Request(
                    f"{ees}/v1/publications/{quote(publication['id'])}/data-sets",
                    callback=self.parse_data_sets,
                )
        if not found:
            self.count("ofsted/layout/ees_publication_not_found")

    def parse_data_sets(self, response: Response):
        data = self._json(response, "ees/data_sets")
        if data is None:
            return
        ees = self.settings.get("EES_API_URL").rstrip("/")
        yield IndexPage(response.url, len(data.get("results") or []))
        for data_set in data.get("results") or []:
            title = (data_set.get("title") or "").casefold()
            if not any(word in title for word in DFE_TITLE_WORDS):
                continue
            version = (data_set.get("latestVersion") or {}).get("version")
            url = f"{ees}/v1/data-sets/{quote(data_set['id'])}/csv"
            if version:
                url += f"?{urlencode({'dataSetVersion': version})}"
            if url in self.known_urls:
                self.count("ofsted/dfe-csv/known")
                continue
            yield Request(
                url,
                callback=self.parse_file,
                cb_kwargs={"kind": "dfe-csv", "title": data_set.get("title")},
            )

    # ----------------------------------------------------------------- files

    def parse_file(self, response: Response, kind: str, title: str | None):
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        if response.status in (404, 410):
            self.count(f"ofsted/{kind}/not_found")
            yield FetchedFile(
                kind,
                response.url,
                title=title,
                status="not-found",
                http_status=response.status,
                content_type=content_type,
            )
            return
        body = response.body
        if not self._looks_tabular(body, content_type):
            self.count("ofsted/download/unexpected_content_type")
            yield FetchedFile(
                kind,
                response.url,
                title=title,
                status="content-type-mismatch",
                http_status=response.status,
                content_type=content_type,
            )
            return
        if hashlib.sha256(body).hexdigest() in self.known_digests:
            self.count(f"ofsted/{kind}/known")
            return
        yield FetchedFile(
            kind,
            response.url,
            body=body,
            title=title,
            content_type=content_type,
            http_status=response.status,
        )

    @staticmethod
    def _looks_tabular(body: bytes, content_type: str) -> bool:
        if body.startswith(_WORKBOOK_MAGIC):
            return True
        head = body[:512].lstrip(b"\xef\xbb\xbf \r\n\t").lower()
        if (
            head.startswith((b"<!doctype", b"<html", b"{", b"["))
            or "html" in content_type
        ):
            return False
        return b"," in head or b"\t" in head

    def _json(self, response: Response, what: str) -> dict | None:
        if response.status in (404, 410):
            # a listing that has gone is a changed site, not an empty one
            self.count(f"ofsted/layout/{what.replace('/', '_')}_not_found")
            self.logger.error("%s: %s answered %s", response.url, what, response.status)
            return None
        try:
            data = json.loads(response.text)
        except (ValueError, AttributeError):
            self.count(f"ofsted/layout/{what}")
            self.logger.error("%s: not JSON (%s)", response.url, what)
            return None
        return data if isinstance(data, dict) else None
