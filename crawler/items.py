"""What the spiders yield. Every item becomes one line of the crawl's JSON
Lines manifest (the contract with `registry.refresh`); ``body`` never does:
the store pipeline writes it to a content-addressed file and drops it.

Kinds:

* ``workbook``      an Ofsted statistics attachment (XLSX/ODS/CSV)
* ``dfe-csv``       a DfE data set from explore-education-statistics
* ``report``        an inspection report PDF from files.ofsted.gov.uk
* ``provider-page`` one home's provider page, parsed (``record``)
* ``listing``       one home listed by the search (the list of homes a full
                    crawl saw; the registry's missing/inactive logic uses it)
* ``search-page``   one search results page (its shown total; proves the
                    search itself was read even when it lists nothing new)
* ``index``         one release listing read (a gov.uk statistics page, an
                    EES data-set list): the same proof for ``releases``
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FetchedFile:
    kind: str
    url: str
    body: bytes | None = None
    urn: str | None = None
    title: str | None = None
    content_type: str | None = None
    status: str = "stored"  # or "not-found", "content-type-mismatch", "known"
    http_status: int | None = None
    published: str | None = None
    # filled in by StoreFilePipeline
    path: str | None = None
    sha256: str | None = None
    size: int | None = None
    fetched_at: str | None = None


@dataclass
class ProviderPage:
    urn: str
    url: str
    status: str = "ok"  # or "not-found", "not-understood"
    http_status: int = 200
    title: str | None = None
    provision_type: str | None = None
    local_authority: str | None = None
    registration_date: str | None = None
    events: list[dict] = field(default_factory=list)
    # what the page showed and how much of it was understood (coverage monitors)
    timeline_items: int = 0  # timeline items other than the opening
    timeline_understood: int = 0  # of them, those with a report link
    report_links: int = 0
    kind: str = "provider-page"
    path: str | None = None
    sha256: str | None = None
    fetched_at: str | None = None


@dataclass
class Listing:
    urn: str
    url: str
    latest_report_date: str | None = None
    local_authority: str | None = None
    kind: str = "listing"


@dataclass
class SearchPage:
    url: str
    start: int
    shown_total: int | None
    results: int
    urns_read: int = 0  # results whose link gave a URN
    next_url: str | None = None
    kind: str = "search-page"


@dataclass
class IndexPage:
    url: str
    entries: int
    kind: str = "index"
