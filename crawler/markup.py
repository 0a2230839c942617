"""The markup of reports.ofsted.gov.uk that the crawler relies on, as pure
functions over a parsel ``Selector``: the spider and ``ofsted-homes canary``
read pages with the same code, so the canary checks exactly what a crawl needs.

Relied on (seen on the live site by independent scrapers):

* search results: ``ul.results-list > li``, the name in ``h3 > a`` whose
  href is a relative ``/provider/<n>/<URN>``; next page
  ``a.pagination__next`` or ``ul.pagination li.next a``;
* a provider page: ``h1.heading--title``; events ``ol.timeline >
  li.timeline__day``; ``timeline__day--opened`` is the opening, not an
  inspection;
* a report link: ``a.publication-link`` whose hidden ``span.nonvisual`` reads
  "Type, pdf - D Month YYYY": that date is the *publication* date. The
  inspection date, type and judgements are read from the PDF itself;
* a dead link: an HTML page titled "Report not found" (possibly status 200).

Optional extras (never seen on the live site; read and counted when present,
never needed): a separate inspection-date element in a timeline item
(``.timeline__date``), "Published <time>" text, provider detail pairs
(``<li><span>Type:</span><span>…</span></li>``), a "N results" count, a
registration item (``timeline__day--registered``), a ``<time>`` or
"Latest report:" line in a search result.

Example::

    from parsel import Selector
    page = read_provider(Selector(text=html), base_url="https://reports.ofsted.gov.uk/provider/2/SC123456")
    page["title"], page["events"]
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from parsel import Selector

from crawler.spiders.base import page_date

PROVIDER_HREF = re.compile(r"/provider/\d+/(SC\d{6}|\d{7})\b", re.IGNORECASE)
_TOTAL = re.compile(r"([\d,]+)\s+results?\b", re.IGNORECASE)
_NONVISUAL = re.compile(r"^(?P<kind>.*?),\s*pdf\s*-\s*(?P<date>.+)$", re.IGNORECASE)
_LATEST = re.compile(r"latest report:?\s*(.+)", re.IGNORECASE)

# selector strings, as the canary prints them
SEARCH_RESULTS = "ul.results-list > li"
RESULT_LINK = "h3 > a"
NEXT_PAGE = "a.pagination__next, ul.pagination li.next a"
TITLE = "h1.heading--title"
TIMELINE = "ol.timeline > li.timeline__day"
OPENED = "timeline__day--opened"
REPORT_LINK = "a.publication-link"
NONVISUAL = "span.nonvisual"


def _text(nodes) -> str:
    return " ".join(" ".join(nodes.getall()).split())


def is_not_found(sel: Selector) -> bool:
    """The site's dead-link page: title or main heading "Report not found"
    (or "Page not found"), whatever the HTTP status."""
    title = _text(sel.css("title::text")).casefold()
    heading = _text(sel.css("h1 ::text")).casefold()
    return any(
        text.startswith(("report not found", "page not found"))
        for text in (title, heading)
    )


def read_search(sel: Selector, *, base_url: str) -> dict:
    """A search results page → ``results`` (one dict per ``li``: urn, name,
    latest_report_date), ``next_url``, ``shown_total`` (an optional extra) and
    ``has_list`` (the results list itself was there)."""
    items = sel.css(SEARCH_RESULTS)
    results = []
    for item in items:
        link = item.css(RESULT_LINK)
        href = link.attrib.get("href", "") if link else ""
        match = PROVIDER_HREF.search(href)
        latest = page_date(_text(item.css("time::text")))
        if latest is None:
            for line in item.css("::text").getall():
                found = _LATEST.search(line)
                if found:
                    latest = page_date(found.group(1))
                    break
        results.append(
            {
                "urn": match.group(1).upper() if match else None,
                "name": _text(link.css("::text")) if link else None,
                "href": href or None,
                "latest_report_date": latest,
            }
        )
    next_link = sel.css(NEXT_PAGE)
    next_href = next_link[0].attrib.get("href") if next_link else None
    match = _TOTAL.search(_text(sel.css("main ::text, body ::text")[:200]))
    return {
        "has_list": bool(sel.css("ul.results-list")),
        "results": results,
        "next_url": urljoin(base_url, next_href) if next_href else None,
        "shown_total": int(match.group(1).replace(",", "")) if match else None,
    }


def read_provider(sel: Selector, *, base_url: str) -> dict:
    """A provider page → its title, events and counts of what was understood.

    An event is understood when it has a report link (``report_url``); its
    ``event_type`` and ``publication_date`` come from the link's hidden text
    (the link text when there is none); ``inspection_date`` only from the
    optional separate date element."""
    title = _text(sel.css(f"{TITLE} ::text")) or None
    days = sel.css(TIMELINE)
    details: dict[str, str] = {}
    for item in sel.css("li"):
        spans = [" ".join(s.split()) for s in item.css("span::text").getall()]
        if len(spans) >= 2 and spans[0].endswith(":"):
            details[spans[0].rstrip(":").strip().casefold()] = spans[1]
    out = {
        "title": title,
        "timeline": bool(sel.css("ol.timeline")),
        "provision_type": details.get("type"),
        "local_authority": details.get("local authority"),
        "registration_date": None,
        "events": [],
        "timeline_items": 0,
        "timeline_understood": 0,
        "openings": 0,
        "report_links": 0,
        "not_understood": [],
    }
    for day in days:
        classes = day.attrib.get("class", "")
        if OPENED in classes or "timeline__day--registered" in classes:
            out["openings"] += 1
            out["registration_date"] = out["registration_date"] or page_date(
                _text(day.css("::text"))
            )
            continue
        out["timeline_items"] += 1
        event = read_event(day, base_url=base_url)
        if event is None:
            out["not_understood"].append(_text(day.css("::text"))[:120])
            continue
        out["timeline_understood"] += 1
        out["report_links"] += 1
        out["events"].append(event)
    return out


def read_event(day: Selector, *, base_url: str) -> dict | None:
    """One timeline item with a report link → the event, else None."""
    link = day.css(REPORT_LINK) or day.css("a[href*='/file/']")
    if not link or not link[0].attrib.get("href"):
        return None
    link = link[0]
    kind, published = None, None
    hidden = _text(link.css(f"{NONVISUAL} ::text, .nonvisual ::text"))
    match = _NONVISUAL.match(hidden)
    if match:
        kind = match.group("kind").strip() or None
        published = page_date(match.group("date"))
    if not kind:
        kind = _text(link.xpath("./text()")) or None
    if not published:  # optional extra: "Published <time>…</time>"
        published = page_date(
            _text(day.xpath(".//*[contains(., 'Published')]/time/text()"))
        )
    inspected = page_date(  # optional extra: a separate inspection-date element
        _text(day.css(".timeline__date time::text, p.timeline__date ::text"))
    )
    return {
        "inspection_date": inspected,
        "event_type": kind,
        "publication_date": published,
        "report_url": urljoin(base_url, link.attrib["href"]),
    }


# ------------------------------------------------------------------ checks


def layout_checks(
    searches: list[dict], providers: list[dict], reports: list[dict] | None = None
) -> list[dict]:
    """What the first pages of a crawl (or the canary's pages) showed of the
    markup the crawler needs. One row per selector or field: ``found`` of
    ``seen``, an example value, ``required`` and ``ok``.

    ``searches``: :func:`read_search` results; ``providers``:
    :func:`read_provider` results (a dead page is ``{"dead": True}``);
    ``reports``: one dict per fetched report link (``url``, ``is_pdf``,
    ``dead``, ``content_type``), or None when no report was fetched."""
    rows: list[dict] = []

    def row(check, selector, found, seen, example, *, required=True, need=1):
        rows.append(
            {
                "check": check,
                "selector": selector,
                "found": found,
                "seen": seen,
                "example": "" if example is None else str(example)[:60],
                "required": required,
                "ok": (found >= need) if required else True,
            }
        )

    results = [r for s in searches for r in s["results"]]
    row(
        "search results",
        SEARCH_RESULTS,
        len(results),
        len(searches),
        results[0]["name"] if results else None,
    )
    urns = [r for r in results if r["urn"]]
    row(
        "result link to a provider page",
        f"{RESULT_LINK}[href^=/provider/]",
        len(urns),
        len(results),
        urns[0]["href"] if urns else None,
        need=max(1, round(0.9 * len(results))),
    )
    nexts = [s["next_url"] for s in searches if s["next_url"]]
    row(
        "next page",
        NEXT_PAGE,
        len(nexts),
        len(searches),
        nexts[0] if nexts else None,
        required=False,
    )
    totals = [s["shown_total"] for s in searches if s["shown_total"] is not None]
    row(
        "results count (extra)",
        '"N results"',
        len(totals),
        len(searches),
        totals[0] if totals else None,
        required=False,
    )
    latest = [r["latest_report_date"] for r in results if r["latest_report_date"]]
    row(
        "latest report date (extra)",
        "li text",
        len(latest),
        len(results),
        latest[0] if latest else None,
        required=False,
    )

    live = [p for p in providers if not p.get("dead")]
    dead = len(providers) - len(live)
    row(
        "provider pages that are not dead",
        '<title> not "Report not found"',
        len(live),
        len(providers),
        f"{dead} dead" if dead else None,
        required=bool(providers),
    )
    titles = [p["title"] for p in live if p["title"]]
    row(
        "provider title",
        TITLE,
        len(titles),
        len(live),
        titles[0] if titles else None,
        required=bool(live),
    )
    items = sum(p["timeline_items"] + p["openings"] for p in live)
    row("timeline items", TIMELINE, items, len(live), None, required=bool(live))
    events = [e for p in live for e in p["events"]]
    timeline_items = sum(p["timeline_items"] for p in live)
    row(
        "report link",
        f"{REPORT_LINK}[href]",
        len(events),
        timeline_items,
        events[0]["report_url"] if events else None,
        required=bool(live),
    )
    typed = [e for e in events if e["event_type"]]
    row(
        "report type",
        f"{NONVISUAL} 'Type, pdf - date'",
        len(typed),
        len(events),
        typed[0]["event_type"] if typed else None,
        required=bool(events),
    )
    dated = [e for e in events if e["publication_date"]]
    row(
        "publication date",
        f"{NONVISUAL} 'Type, pdf - date'",
        len(dated),
        len(events),
        dated[0]["publication_date"] if dated else None,
        required=bool(events),
    )
    for label, selector, key in (
        ("inspection date (extra)", ".timeline__date", "inspection_date"),
    ):
        got = [e[key] for e in events if e.get(key)]
        row(
            label,
            selector,
            len(got),
            len(events),
            got[0] if got else None,
            required=False,
        )
    for label, key in (
        ("type detail pair (extra)", "provision_type"),
        ("local authority detail pair (extra)", "local_authority"),
        ("registration/opening date (extra)", "registration_date"),
    ):
        got = [p[key] for p in live if p.get(key)]
        row(
            label,
            "li > span + span" if "pair" in label else "li.timeline__day--opened",
            len(got),
            len(live),
            got[0] if got else None,
            required=False,
        )
    if reports is not None:
        pdfs = [r for r in reports if r.get("is_pdf")]
        row(
            "report link gives a PDF",
            "%PDF- body",
            len(pdfs),
            len(reports),
            pdfs[0]["url"]
            if pdfs
            else (reports[0].get("content_type") if reports else None),
            required=bool(reports),
        )
    return rows


def failed_checks(rows: list[dict]) -> list[str]:
    """One line per required check that failed."""
    return [
        f"{r['check']} ({r['selector']}): found {r['found']} in {r['seen']}"
        for r in rows
        if not r["ok"]
    ]
