"""HTML and JSON pages of the sample site: gov.uk Content API documents, the
EES API listings, and reports.ofsted.gov.uk search and provider pages.

The Ofsted pages serve, by default, only the markup that public scrapers
running against the live site confirm (``layout="confirmed"``);
``layout="rich"`` adds invented optional extras and ``layout="changed"``
renames every class, the way a site redesign would, so tests can check that
the crawler notices.
"""

from __future__ import annotations

import datetime as dt
import html
import json

from sample_site.files import SAMPLE_MARK
from sample_site.population import RELEASE_YEARS, Home, Inspection, release_day

COLLECTION_SLUG = "childrens-social-care-statistics"
EES_PUBLICATION_ID = "sample-cla-including-adoptions"
EES_DATA_SETS = {
    "sample-la-missing": (
        "Children who were missing or away from placement without authorisation (LA)",
        "la_children_who_were_missing_or_away_from_placement_without_authorisation.csv",
    ),
    "sample-national-missing": (
        "Children looked after who were missing (national)",
        "official_statistics_cla_who_were_missing.csv",
    ),
}
EES_VERSION = "1.0"


def statistics_slug(year: int) -> str:
    return f"childrens-social-care-in-england-{year}"


def asset_path(year: int, ext: str) -> str:
    return f"/assets/media/sample{year}/Childrens_social_care_in_England_{year}.{ext}"


def govuk_collection(base: str) -> bytes:
    documents = [
        {
            "title": f"Children's social care in England {year} ({SAMPLE_MARK})",
            "base_path": f"/government/statistics/{statistics_slug(year)}",
            "api_path": f"/api/content/government/statistics/{statistics_slug(year)}",
            "api_url": f"{base}/api/content/government/statistics/{statistics_slug(year)}",
            "document_type": "official_statistics",
            "public_updated_at": f"{release_day(year).isoformat()}T09:30:00Z",
        }
        for year in RELEASE_YEARS
    ]
    return _json(
        {
            "base_path": f"/government/collections/{COLLECTION_SLUG}",
            "title": f"Children's social care statistics ({SAMPLE_MARK})",
            "document_type": "document_collection",
            "links": {"documents": documents},
        }
    )


def govuk_statistics(base: str, year: int, *, xlsx: bool) -> bytes:
    ext = "xlsx" if xlsx else "csv"
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if xlsx
        else "text/csv"
    )
    return _json(
        {
            "base_path": f"/government/statistics/{statistics_slug(year)}",
            "title": f"Children's social care in England {year} ({SAMPLE_MARK})",
            "document_type": "official_statistics",
            "first_public_at": f"{release_day(year).isoformat()}T09:30:00Z",
            "details": {
                "attachments": [
                    {
                        "attachment_type": "file",
                        "title": f"Children's social care data in England {year} ({SAMPLE_MARK})",
                        "url": f"{base}{asset_path(year, ext)}",
                        "filename": asset_path(year, ext).rsplit("/", 1)[-1],
                        "content_type": content_type,
                    },
                    {
                        "attachment_type": "html",
                        "title": "Main findings",
                        "url": f"{base}/government/statistics/{statistics_slug(year)}/main-findings",
                        "content_type": "text/html",
                    },
                ]
            },
        }
    )


def ees_publications(base: str) -> bytes:
    return _json(
        {
            "paging": {"page": 1, "pageSize": 20, "totalResults": 1, "totalPages": 1},
            "results": [
                {
                    "id": EES_PUBLICATION_ID,
                    "slug": "children-looked-after-in-england-including-adoptions",
                    "title": f"Children looked after in England including adoptions ({SAMPLE_MARK})",
                }
            ],
        }
    )


def ees_data_sets(base: str) -> bytes:
    return _json(
        {
            "paging": {"page": 1, "pageSize": 20, "totalResults": len(EES_DATA_SETS)},
            "results": [
                {
                    "id": data_set_id,
                    "title": f"{title} ({SAMPLE_MARK})",
                    "summary": file_name,
                    "status": "Published",
                    "latestVersion": {
                        "version": EES_VERSION,
                        "published": "2025-11-13T09:30:00Z",
                        "timePeriods": {"start": "2020", "end": "2024"},
                    },
                }
                for data_set_id, (title, file_name) in EES_DATA_SETS.items()
            ],
        }
    )


def _json(value: object) -> bytes:
    return json.dumps(value, indent=1).encode()


# ------------------------------------------------------------ Ofsted pages
#
# Three layouts:
#
# * ``confirmed`` (the default): only the markup that scrapers running against
#   the live site have confirmed (results list, h3 > a relative provider
#   links, a.pagination__next, h1.heading--title, ol.timeline >
#   li.timeline__day, a.publication-link with its hidden "Type, pdf - date").
# * ``rich``: the confirmed markup plus invented optional extras (a "N
#   results" count, detail pairs, a separate inspection-date element,
#   "Published <time>", a registration item), so the extras stay tested.
# * ``changed``: every class renamed, the way a redesign would.
#
# ``omit`` drops parts of the markup (e.g. ``{"nonvisual"}``) to make a field
# vanish.

LAYOUTS = ("confirmed", "rich", "changed")

_STANDARD = {
    "results": "results-list",
    "result": "search-result",
    "next": "pagination__next",
    "title": "heading--title",
    "timeline": "timeline",
    "day": "timeline__day",
    "opened": "timeline__day--opened",
    "registered": "timeline__day--registered",
    "date": "timeline__date",
    "link": "publication-link",
    "nonvisual": "nonvisual",
}
_CHANGED = {key: f"rs-{key}-v2" for key in _STANDARD}


def _long_date(day: dt.date) -> str:
    return day.strftime("%d %B %Y")


def _page(title: str, body: str, *, canonical: str | None = None) -> bytes:
    link = (
        f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - Ofsted ({SAMPLE_MARK})</title>{link}</head><body>"
        f'<div class="sample-banner"><strong>{SAMPLE_MARK}</strong>: '
        "served by ofsted-homes sample-site; nothing on this page is real.</div>"
        f"<main>{body}</main></body></html>"
    ).encode()


def search_page(
    homes: list[tuple[Home, dt.date | None]],
    *,
    total: int,
    start: int,
    rows: int,
    next_href: str | None,
    layout: str = "confirmed",
    omit: frozenset[str] | set[str] = frozenset(),
) -> bytes:
    css = _CHANGED if layout == "changed" else _STANDARD
    rich = layout == "rich"
    items = []
    for home, latest in homes:
        latest = None if "latest" in omit else latest
        if rich:
            latest_text = (
                f"<li>Latest report: <time>{_long_date(latest)}</time></li>"
                if latest
                else ""
            )
            items.append(
                f'<li class="{css["result"]}"><h3><a href="/provider/2/{home.urn}">'
                f"Children's home</a></h3><ul>"
                f"<li>Category: Children's home</li><li>URN: {home.urn}</li>"
                f"<li>Local authority: {html.escape(home.la_name)}</li>{latest_text}</ul></li>"
            )
        else:
            latest_text = (
                f"<li>Latest report: {_long_date(latest)}</li>" if latest else ""
            )
            items.append(
                f'<li><h3><a href="/provider/2/{home.urn}">Children\'s home</a></h3>'
                "<ul><li>Children's home</li><li>REDACTED</li>"
                f"{latest_text}</ul></li>"
            )
    if rich:
        count = f'<p class="search-results__count"><span>{total:,}</span> results</p>'
    elif layout == "changed":
        count = f'<p class="{css["results"]}-count">Found: {total}</p>'
    else:
        count = ""
    pagination = (
        f'<a class="{css["next"]}" href="{html.escape(next_href)}">Next page</a>'
        if next_href
        else ""
    )
    body = (
        f"<h1>Search results</h1>{count}"
        f'<ul class="{css["results"]}">{"".join(items)}</ul>'
        f'<nav class="pagination">{pagination}</nav>'
    )
    return _page("Find an inspection report", body)


def provider_page(
    home: Home,
    inspections: list[Inspection],
    *,
    files_base: str,
    canonical_base: str,
    layout: str = "confirmed",
    omit: frozenset[str] | set[str] = frozenset(),
) -> bytes:
    css = _CHANGED if layout == "changed" else _STANDARD
    rich = layout == "rich"
    days = []
    for inspection in sorted(
        inspections, key=lambda i: i.inspection_date, reverse=True
    ):
        published = _long_date(inspection.publication_date)
        kind = inspection.event_type
        hidden = (
            ""
            if "nonvisual" in omit
            else f'<span class="{css["nonvisual"]}">{kind}, PDF - {published}</span>'
        )
        link = (
            ""
            if "link" in omit
            else f'<a class="{css["link"]}" href="{files_base}/v1/file/{inspection.file_id}" '
            f'target="_blank">{kind} {hidden}</a>'
        )
        if rich:
            days.append(
                f'<li class="{css["day"]}"><div class="event">'
                f'<p class="{css["date"]}"><time>{_long_date(inspection.inspection_date)}</time></p>'
                f"{link}<div>Published <time>{published}</time></div></div></li>"
            )
        else:
            days.append(f'<li class="{css["day"]}">{link}</li>')
    if rich:
        days.append(
            f'<li class="{css["day"]} {css["registered"]}">'
            f"<time>{_long_date(home.registration_date)}</time><span>Registration</span></li>"
        )
        details = (
            '<ul class="provider-details">'
            f"<li><span>URN: </span><span>{home.urn}</span></li>"
            f"<li><span>Type: </span><span>{html.escape(home.provision_type)}</span></li>"
            f"<li><span>Local authority: </span><span>{html.escape(home.la_name)}</span></li>"
            "</ul>"
        )
    else:
        days.append(f'<li class="{css["day"]} {css["opened"]}"><p>Opened</p></li>')
        details = ""
    title = (
        "" if "title" in omit else f'<h1 class="{css["title"]}">Children\'s home</h1>'
    )
    body = f'{title}{details}<ol class="{css["timeline"]}">{"".join(days)}</ol>'
    return _page(
        "Children's home", body, canonical=f"{canonical_base}/provider/2/{home.urn}"
    )


def report_not_found_page() -> bytes:
    """The reports site's dead-link page (served with status 200 on request)."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Report not found - Find an Inspection Report - Ofsted</title></head>"
        f'<body><div class="sample-banner">{SAMPLE_MARK}</div><main>'
        '<h1 class="heading--title title-block__heading">Report not found</h1>'
        "<p>The report you are looking for could not be found.</p></main></body></html>"
    ).encode()


def not_found_page() -> bytes:
    return _page("Page not found", "<h1>Page not found</h1>")


def html_instead_of_pdf() -> bytes:
    return _page(
        "Service unavailable",
        "<h1>Sorry, there is a problem with the service</h1><p>Try again later.</p>",
    )
