"""The reports spider on saved pages: the sample site's and a page written
the way data-sources.md §1.2 quotes a social-care provider page."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.items import ProviderPage
from crawler.middlewares import retry_after_seconds
from crawler.spiders.base import page_date
from crawler.spiders.reports import ReportsSpider

# Shaped like the hand-written social-care fixture quoted in data-sources.md
QUOTED_PAGE = """<html><head>
<link rel="canonical" href="https://reports.ofsted.gov.uk/provider/2/2827996"></head><body>
<h1 class="heading--title">A children's home</h1>
<ul><li><span>Type: </span><span>Children's Home</span></li>
<li><span>Local authority: </span><span>Lancashire</span></li></ul>
<ol class="timeline">
<li class="timeline__day"><div class="event">
  <p class="timeline__date"><time>28 July 2026</time></p>
  <a class="publication-link" href="https://files.ofsted.gov.uk/v1/file/50311430">
    Full inspection <span class="nonvisual">Full inspection, PDF - 08 September 2026</span>
  </a><div>Published <time>08 September 2026</time></div>
</div></li>
<li class="timeline__day"><div class="event">
  <p class="timeline__date"><time>3 Feb 2025</time></p>
  <a class="publication-link" href="https://files.ofsted.gov.uk/v1/file/50250001">
    Monitoring visit</a><div>Published <time>20 March 2025</time></div>
</div></li>
<li class="timeline__day timeline__day--registered"><time>04 October 2024</time><span>Registration</span></li>
</ol></body></html>"""


@pytest.fixture
def spider(tmp_path):
    crawler = get_crawler(
        ReportsSpider,
        {
            "DATA_DIR": str(tmp_path),
            "OFSTED_REPORTS_URL": "https://reports.ofsted.gov.uk",
        },
    )
    crawler.spider = crawler._create_spider()
    return crawler.spider


def _response(url: str, body: str, status: int = 200) -> HtmlResponse:
    return HtmlResponse(
        url, body=body.encode(), status=status, encoding="utf-8", request=Request(url)
    )


def test_provider_page_as_quoted_in_the_research(spider):
    url = "https://reports.ofsted.gov.uk/provider/2/2827996"
    out = list(spider.parse_provider(_response(url, QUOTED_PAGE), urn="2827996"))
    page = out[0]
    assert isinstance(page, ProviderPage)
    assert (page.provision_type, page.local_authority, page.registration_date) == (
        "Children's Home",
        "Lancashire",
        "2024-10-04",
    )
    assert page.events == [
        {
            "inspection_date": "2026-07-28",
            "event_type": "Full inspection",
            "publication_date": "2026-09-08",
            "report_url": "https://files.ofsted.gov.uk/v1/file/50311430",
        },
        {
            "inspection_date": "2025-02-03",
            "event_type": "Monitoring visit",
            "publication_date": "2025-03-20",
            "report_url": "https://files.ofsted.gov.uk/v1/file/50250001",
        },
    ]
    assert [r.url for r in out[1:]] == [e["report_url"] for e in page.events]


def test_a_known_pdf_is_never_requested_again(spider):
    spider._known = ({"https://files.ofsted.gov.uk/v1/file/50311430"}, set())
    url = "https://reports.ofsted.gov.uk/provider/2/2827996"
    out = list(spider.parse_provider(_response(url, QUOTED_PAGE), urn="2827996"))
    assert [r.url for r in out[1:]] == ["https://files.ofsted.gov.uk/v1/file/50250001"]
    assert spider.crawler.stats.get_value("ofsted/report/known") == 1


def test_404_is_a_not_found_item(spider):
    url = "https://reports.ofsted.gov.uk/provider/2/SC123456"
    out = list(
        spider.parse_provider(
            _response(url, "<h1>Page not found</h1>", 404), urn="SC123456"
        )
    )
    assert out == [
        ProviderPage(urn="SC123456", url=url, status="not-found", http_status=404)
    ]


def test_a_page_for_another_urn_is_refused(spider):
    url = "https://reports.ofsted.gov.uk/provider/2/SC123456"
    assert (
        list(spider.parse_provider(_response(url, QUOTED_PAGE), urn="SC123456")) == []
    )
    assert spider.crawler.stats.get_value("ofsted/provider/urn_mismatch") == 1


def test_unknown_layout_counts_and_stops_the_crawl(spider):
    from scrapy.exceptions import CloseSpider

    url = "https://reports.ofsted.gov.uk/search?start=0"
    body = "<html><body><div class='new-results'><a href='/x'>?</a></div></body></html>"
    with pytest.raises(CloseSpider) as stopped:
        list(spider.parse_search(_response(url, body), start=0))
    assert stopped.value.reason == "layout_check_failed"
    assert spider.crawler.stats.get_value("ofsted/layout/search") == 1
    assert spider.check_failures[0].startswith("search results (ul.results-list > li)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08 September 2026", "2026-09-08"),
        ("Full inspection, PDF - 8 Sept 2026", "2026-09-08"),
        ("01/08/2024", "2024-08-01"),
        ("31 February 2024", None),
        ("soon", None),
    ],
)
def test_page_dates(text, expected):
    assert page_date(text) == expected


def test_retry_after_in_seconds_or_as_an_http_date():
    import datetime as dt

    now = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds("Sun, 22 Nov 2026 02:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Sun, 22 Nov 2026 01:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("later") is None
    assert retry_after_seconds(None) is None


def test_provider_page_in_a_changed_layout_is_an_item_not_understood(spider):
    from sample_site.pages import provider_page
    from sample_site.population import build_population

    spider._checked["providers"] = True  # the first-pages check is tested elsewhere
    home = build_population(seed=1, homes=1).homes[0]
    body = provider_page(
        home,
        home.inspections,
        files_base="https://files.ofsted.gov.uk",
        canonical_base="https://reports.ofsted.gov.uk",
        layout="changed",
    )
    url = f"https://reports.ofsted.gov.uk/provider/2/{home.urn}"
    out = list(spider.parse_provider(_response(url, body.decode()), urn=home.urn))
    assert [(p.status, p.events) for p in out] == [("not-understood", [])]
    assert spider.crawler.stats.get_value("ofsted/layout/provider") == 1
    for layout in ("confirmed", "rich"):
        spider._providers_done.clear()
        standard = provider_page(
            home,
            home.inspections,
            files_base="https://files.ofsted.gov.uk",
            canonical_base="https://reports.ofsted.gov.uk",
            layout=layout,
        )
        page = next(
            iter(spider.parse_provider(_response(url, standard.decode()), urn=home.urn))
        )
        assert len(page.events) == len(home.inspections)
        assert page.timeline_items == page.timeline_understood == len(home.inspections)
        assert {e["event_type"] for e in page.events} <= {
            "Full inspection",
            "Monitoring inspection",
            "Assurance visit",
        }
        assert all(e["publication_date"] for e in page.events)
        # the inspection date is an optional extra: only the rich variant has it
        assert all(
            bool(e["inspection_date"]) == (layout == "rich") for e in page.events
        )


# Only the confirmed markup: the live site's timeline item is just the link
CONFIRMED_PAGE = """<html><head><title>A home - Ofsted</title></head><body>
<h1 class="heading--title">A children's home</h1>
<ol class="timeline">
<li class="timeline__day"><a class="publication-link" href="https://files.ofsted.gov.uk/v1/file/50252437" target="_blank">Full inspection <span class="nonvisual">Full inspection, pdf - 15 July 2024</span></a></li>
<li class="timeline__day"><p>Something without a link</p></li>
<li class="timeline__day timeline__day--opened"><p>Opened</p></li>
</ol></body></html>"""

REPORT_NOT_FOUND = Path(
    "/work/shared/ofsted-other-kinds/reports-site-report-not-found-2025.html"
)


def test_a_report_link_alone_is_an_event_with_its_publication_date(spider):
    url = "https://reports.ofsted.gov.uk/provider/2/SC123456"
    out = list(spider.parse_provider(_response(url, CONFIRMED_PAGE), urn="SC123456"))
    page = out[0]
    assert (page.status, page.title) == ("ok", "A children's home")
    assert page.events == [
        {
            "inspection_date": None,
            "event_type": "Full inspection",
            "publication_date": "2024-07-15",
            "report_url": "https://files.ofsted.gov.uk/v1/file/50252437",
        }
    ]
    # the opening is not an inspection; the item without a link is not understood
    assert (page.timeline_items, page.timeline_understood) == (2, 1)
    assert [r.url for r in out[1:]] == ["https://files.ofsted.gov.uk/v1/file/50252437"]


def _real_not_found() -> str:
    if not REPORT_NOT_FOUND.exists():
        pytest.skip(f"{REPORT_NOT_FOUND} is not on this machine")
    return REPORT_NOT_FOUND.read_text(encoding="utf-8")


def test_report_not_found_with_status_200_is_not_found_for_pages_and_reports(spider):
    body = _real_not_found()
    url = "https://reports.ofsted.gov.uk/provider/2/SC123456"
    out = list(spider.parse_provider(_response(url, body, 200), urn="SC123456"))
    assert [(p.status, p.http_status) for p in out] == [("not-found", 200)]
    report = "https://files.ofsted.gov.uk/v1/file/1"
    response = HtmlResponse(
        report,
        body=body.encode(),
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
        request=Request(report),
    )
    items = list(spider.parse_report(response, urn="SC123456", published=None))
    assert [(i.status, i.http_status) for i in items] == [("not-found", 200)]
    assert spider.crawler.stats.get_value("ofsted/report/not_found") == 1


def test_retry_waits_grow_exponentially_are_capped_and_end_in_giving_up():
    import time

    from scrapy import Spider
    from scrapy.http import Response

    from crawler.middlewares import PoliteRetryMiddleware

    class Probe(Spider):
        name = "probe"

    crawler = get_crawler(
        Probe,
        {
            "RETRY_TIMES": 3,
            "RETRY_BACKOFF_BASE": 1.0,
            "RETRY_BACKOFF_MAX": 5.0,
            "RETRY_JITTER": 0.25,
        },
    )
    crawler.spider = crawler._create_spider()
    middleware = PoliteRetryMiddleware(crawler)
    request = Request("https://files.ofsted.gov.uk/v1/file/1")
    waits = []
    for retry_after in (None, None, "10000"):
        headers = {"Retry-After": retry_after} if retry_after else {}
        response = Response(request.url, status=503, headers=headers, request=request)
        request = middleware.process_response(request, response)
        assert isinstance(request, Request)
        waits.append(request.meta["retry_not_before"] - time.monotonic())
    assert 0.9 <= waits[0] <= 1.26
    assert 1.9 <= waits[1] <= 2.51
    assert 4.9 <= waits[2] <= 6.26  # Retry-After 10000 s, capped at 5 s (+ jitter)
    final = Response(request.url, status=503, request=request)
    assert middleware.process_response(request, final) is final
    assert crawler.stats.get_value("retry/max_reached") == 1
    assert crawler.stats.get_value("ofsted/retry/gave_up") == 1
