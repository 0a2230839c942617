# ruff: noqa: S608 - SQL here is built only from this module's constants;
# every value goes in as a parameter.
"""Pages people read: one per home (/home/<URN>), owner (/owner/<id>) and local
authority (/la/<code>), /overview with the national charts, and /search across
URNs, owner and council names and every full-text index.

The pages only read the registry. Charts are drawn in the browser by the
vendored Chart.js (datasette/static/vendor, no CDN); their data sits in the page
as JSON (``|tojson`` escapes it) and every chart also has its numbers in a
table, so the page says the same thing without JavaScript.

Also: a "sample data" flag for every page (``sources.is_sample``), links from
query results to these pages, and highlighted search snippets.
"""

import functools
import re
from urllib.parse import quote

import markupsafe
from datasette.database import QueryInterrupted
from datasette.utils import path_from_row_pks
from datasette.utils.asgi import NotFound, Response

from datasette import hookimpl
from extract.normalise import JUDGEMENT_SCALE, SCALE_STEPS
from registry.reports.accuracy import FIELDS as ACCURACY_FIELDS

URN = re.compile(r"^(SC\d{6}|\d{7})$")
OWNER_ID = re.compile(r"^[a-z0-9-]{1,200}$")
LA_CODE = re.compile(r"^[A-Za-z0-9]{1,12}$")

# The rating scale is extract.normalise's (the registry's judgement_scale
# table is filled from it): judgement → height on the rating timeline, the
# timeline's axis labels, and the rating mix's steps, best first.
RATING_SCALE = JUDGEMENT_SCALE
RATING_LABELS = ["", *(SCALE_STEPS[score][2] for score in sorted(SCALE_STEPS))]
NOT_YET_JUDGED = "Not yet judged"
MIX_ORDER = [
    *(SCALE_STEPS[score][1] for score in sorted(SCALE_STEPS, reverse=True)),
    NOT_YET_JUDGED,
]

# DfE CLA_group measures, by the short names the registry stores (extract/dfe.py).
MISSING_MEASURES = (
    "missing_incidents",
    "children_missing",
    "children_looked_after",
    "away_incidents",
)

SNIPPET_START, SNIPPET_END = "[[", "]]"

# The newest Ofsted list (the list_dates view): "current" means on it
# (homes.status is the crawler's view, and homes keeps every home ever listed).
NEWEST_LIST = "(select as_at from list_dates where is_newest)"
IS_LISTED = (
    "exists (select 1 from home_snapshots s where s.urn = h.urn"
    f" and s.as_at = {NEWEST_LIST}) as is_listed"
)


# ---------------------------------------------------------------- pure helpers


def rating_points(inspections):
    """Full inspections with a 4-point judgement, as chart points."""
    points = []
    for row in inspections:
        score = RATING_SCALE.get(row.get("judgement") or "")
        if score and row.get("event_type") == "Full inspection":
            points.append(
                {
                    "date": row["inspection_date"],
                    "score": score,
                    "judgement": row["judgement"],
                }
            )
    return points


def rating_mix(rows):
    """Counts of latest judgements in MIX_ORDER; anything else is "Not yet judged"."""
    mix = dict.fromkeys(MIX_ORDER, 0)
    for row in rows:
        score = RATING_SCALE.get(row.get("latest_judgement") or "")
        mix[SCALE_STEPS[score][1] if score else NOT_YET_JUDGED] += 1
    return mix


def pivot_missing(rows):
    """la_missing_stats rows (year, measure, value, symbol, release) → one
    dict per year. A suppressed cell stays None with its symbol, never 0."""
    years = {}
    for row in rows:
        key = row["measure"]
        if key not in MISSING_MEASURES:
            continue
        if row["year"] not in years:
            years[row["year"]] = {"year": row["year"], "release": row["release"]}
            for name in MISSING_MEASURES:
                years[row["year"]].update({name: None, name + "_symbol": None})
        year = years[row["year"]]
        year[key] = row["value"]
        if row["symbol"]:
            year[key + "_symbol"] = row["symbol"]
    return [years[y] for y in sorted(years)]


def highlight_snippet(text):
    """Escape a search snippet, then mark the matched words."""
    escaped = str(markupsafe.escape(text))
    escaped = escaped.replace(SNIPPET_START, "<mark>").replace(SNIPPET_END, "</mark>")
    # A marker cut off by the snippet's edge must not leave an open <mark>.
    if escaped.count("<mark>") != escaped.count("</mark>"):
        escaped = escaped.replace("<mark>", "").replace("</mark>", "")
    return markupsafe.Markup(escaped)


GROUP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")

# The only columns a cell of a query result can link from (link_for) or be
# rendered for (a search snippet): every other cell is left to Datasette at
# the cost of one set lookup. A story page renders 1,000 rows of a dozen
# columns, so this is checked about 13,000 times a page.
LINKED_COLUMNS = frozenset({"urn", "home", "owner_id", "la_code", "group_id"})
RENDERED_COLUMNS = LINKED_COLUMNS | {"snippet"}


def link_for(column, value):
    """The page a query-result cell should link to, or None."""
    if column not in LINKED_COLUMNS:
        return None
    if column == "group_id":  # a slug only: never a number or other value
        if isinstance(value, str) and GROUP_ID.match(value):
            return "/group/" + value
        return None
    if value is None or isinstance(value, (bytes, dict)):
        return None
    text = str(value)
    if column in ("urn", "home") and URN.match(text):
        return "/home/" + text
    if column == "owner_id" and OWNER_ID.match(text):
        return "/owner/" + quote(text)
    if column == "la_code" and LA_CODE.match(text):
        return "/la/" + quote(text)
    return None


# ------------------------------------------------------------------ data access


def registry_database(datasette):
    """The published registry: the first database on file (a private one, in
    inspector mode, comes after it; so do _internal and crossdb's _memory)."""
    for name, db in datasette.databases.items():
        if not db.is_memory:
            return name, db
    raise NotFound("No registry is loaded")


async def rows(db, sql, params=None):
    results = await db.execute(sql, params or {})
    return [dict(row) for row in results.rows]


async def has_table(db, table, column=None):
    if not await db.table_exists(table):
        return False
    return column is None or column in await db.table_columns(table)


async def is_sample(datasette):
    try:
        _, db = registry_database(datasette)
        found = await rows(db, "select max(is_sample) as s from sources")
    except Exception:  # no registry or no sources table: say nothing
        return False
    return bool(found and found[0]["s"])


MEASURE_PARAMS = {f"m{n}": measure for n, measure in enumerate(MISSING_MEASURES)}
MEASURE_LIST = ", ".join(":" + name for name in MEASURE_PARAMS)


async def missing_by_year(db, where, params):
    """DfE missing figures per year from la_missing_stats_latest, for the
    rows matching ``where`` (a fixed SQL condition; values go in params)."""
    if "la_missing_stats_latest" not in await db.view_names():
        return []
    sql = f"select year, measure, value, symbol, release from la_missing_stats_latest where {where} and measure in ({MEASURE_LIST}) order by year"
    found = await rows(db, sql, {**params, **MEASURE_PARAMS})
    return pivot_missing(found)


async def check_can_view(datasette, request, database):
    # Datasette 0.65 lets requests that arrive while its first request is
    # still starting up run before start-up has finished: make sure it has.
    await datasette.invoke_startup()
    await datasette.ensure_permissions(
        request.actor,
        [
            ("view-table", (database, "homes")),
            ("view-database", database),
            "view-instance",
        ],
    )


async def report_links(db):
    """SQL pieces that join inspections to their report, if reports exist."""
    if await has_table(db, "reports") and await has_table(
        db, "inspections", "report_sha256"
    ):
        return (
            "left join reports r on r.sha256 = i.report_sha256",
            "r.url as report_url",
        )
    if await has_table(db, "reports", "inspection_date"):
        return (
            "left join reports r on r.urn = i.urn and r.inspection_date = i.inspection_date",
            "r.url as report_url",
        )
    return "", "null as report_url"


# ------------------------------------------------------------------------ views


async def home_page(datasette, request):
    urn = request.url_vars["urn"].upper()
    if not URN.match(urn):
        raise NotFound("A URN is SC and 6 digits, or 7 digits")
    name, db = registry_database(datasette)
    await check_can_view(datasette, request, name)
    found = await rows(
        db,
        """select h.*, o.name as owner_name, la.name as la_name
        from homes h left join owners o on o.id = h.owner
        left join local_authorities la on la.la_code = h.la_code
        where h.urn = :urn""",
        {"urn": urn},
    )
    if not found:
        raise NotFound(f"No home with URN {urn} in this registry")
    home = found[0]
    join, report_url = await report_links(db)
    inspections = await rows(
        db,
        f"select i.*, {report_url} from inspections i {join}"
        " where i.urn = :urn order by i.inspection_date",
        {"urn": urn},
    )
    snapshots = await rows(
        db,
        """select as_at, sector, places, owner, owner_as_published, local_authority,
        registration_status, latest_judgement from home_snapshots
        where urn = :urn order by as_at""",
        {"urn": urn},
    )
    mentions = []
    if await has_table(db, "report_mentions") and await has_table(db, "reports"):
        mentions = await rows(
            db,
            """select m.kind, m.quote, m.count, m.page, r.url as report_url,
            r.inspection_date from report_mentions m
            join reports r on r.sha256 = m.report
            where m.urn = :urn and m.is_current = 1
            order by r.inspection_date desc, m.page""",
            {"urn": urn},
        )
    disclosed = []
    if await has_table(db, "incident_counts"):
        disclosed = await rows(
            db,
            """select source_name, licence, kind, period_label, period_start,
            period_end, incidents_shown, children_shown, match_method
            from incident_counts where urn = :urn and match_status = 'matched'
            order by period_end desc, source_name, kind""",
            {"urn": urn},
        )
    la_missing = (
        await missing_by_year(db, "la_code = :code", {"code": home["la_code"]})
        if home["la_code"]
        else []
    )
    points = rating_points(inspections)
    return Response.html(
        await datasette.render_template(
            "ofsted_home.html",
            {
                "database": name,
                "home": home,
                "inspections": list(reversed(inspections)),
                "snapshots": snapshots,
                "mentions": mentions,
                "disclosed": disclosed,
                "la_missing": la_missing,
                "timeline_chart": {
                    "kind": "rating-timeline",
                    "labels": [p["date"] for p in points],
                    "datasets": [
                        {
                            "label": "Overall judgement",
                            "data": [p["score"] for p in points],
                        }
                    ],
                    "ratings": RATING_LABELS,
                },
                "points": points,
            },
            request=request,
        )
    )


async def homes_of(db, where, value, order):
    """Every home matching ``where`` (a fixed condition on ``h``, its value
    bound as :value), newest-listed first, and what the page says about the
    ones on Ofsted's newest list: how many, their places, their rating mix."""
    homes = await rows(
        db,
        "select h.urn, h.sector, h.local_authority, h.la_code, h.region, h.places,"
        " h.latest_judgement, h.latest_full_inspection_date, h.status, h.last_seen,"
        f" h.owner, o.name as owner_name, {IS_LISTED}"
        " from homes h left join owners o on o.id = h.owner"
        f" where {where} order by is_listed desc, {order}, h.urn",
        {"value": value},
    )
    listed = [h for h in homes if h["is_listed"]]
    mix = rating_mix(listed)
    return {
        "homes": homes,
        "listed": len(listed),
        "places": sum(h["places"] or 0 for h in listed),
        "mix": mix,
        "mix_chart": _mix_chart(mix),
    }


async def owner_page(datasette, request):
    owner_id = request.url_vars["owner_id"]
    if not OWNER_ID.match(owner_id):
        raise NotFound("Not an owner id")
    name, db = registry_database(datasette)
    await check_can_view(datasette, request, name)
    found = await rows(db, "select * from owners where id = :id", {"id": owner_id})
    if not found:
        raise NotFound(f"No owner {owner_id!r} in this registry")
    homes = await homes_of(db, "h.owner = :value", owner_id, "h.local_authority")
    return Response.html(
        await datasette.render_template(
            "ofsted_owner.html",
            {"database": name, "owner": found[0], **homes},
            request=request,
        )
    )


LA_PAGE_SIZE = 100


def page_number(request):
    """``?page=N`` (1 when absent); NotFound for anything but a whole number
    from 1."""
    text = request.args.get("page") or "1"
    if not text.isdigit() or int(text) < 1:
        raise NotFound("A page number is a whole number from 1")
    return int(text)


def page_links(path, page, pages):
    """Links to the first, previous, next and last page, and where we are."""
    return {
        "page": page,
        "pages": pages,
        "first": f"{path}?page=1" if page > 1 else None,
        "previous": f"{path}?page={page - 1}" if page > 1 else None,
        "next": f"{path}?page={page + 1}" if page < pages else None,
        "last": f"{path}?page={pages}" if page < pages else None,
    }


def rating_mix_counts(rows):
    """rating_mix of grouped rows: each row's latest_judgement counts as
    many times as its ``homes``."""
    mix = dict.fromkeys(MIX_ORDER, 0)
    for row in rows:
        for judgement, count in rating_mix([row]).items():
            mix[judgement] += count * row["homes"]
    return mix


async def la_homes(db, code, page):
    """The homes of a local authority for its page: counts over all of them
    (in SQL), and one page of LA_PAGE_SIZE rows in the order homes_of gives
    them (homes on Ofsted's newest list first, then by sector and URN)."""
    listed_homes = (
        f"select h.urn, h.places, h.latest_judgement, {IS_LISTED}"
        " from homes h where h.la_code = :value"
    )
    totals = (
        await rows(
            db,
            "select count(*) as total, coalesce(sum(is_listed), 0) as listed,"
            " coalesce(sum(case when is_listed then places end), 0) as places"
            f" from ({listed_homes})",
            {"value": code},
        )
    )[0]
    mix = rating_mix_counts(
        await rows(
            db,
            "select latest_judgement, count(*) as homes"
            f" from ({listed_homes}) where is_listed group by latest_judgement",
            {"value": code},
        )
    )
    pages = max(1, -(-totals["total"] // LA_PAGE_SIZE))
    if page > pages:
        raise NotFound(f"There are {pages} pages of homes for {code}")
    homes = await rows(
        db,
        "select h.urn, h.sector, h.local_authority, h.la_code, h.region, h.places,"
        " h.latest_judgement, h.latest_full_inspection_date, h.status, h.last_seen,"
        f" h.owner, o.name as owner_name, {IS_LISTED}"
        " from homes h left join owners o on o.id = h.owner"
        " where h.la_code = :value order by is_listed desc, h.sector, h.urn"
        " limit :limit offset :offset",
        {"value": code, "limit": LA_PAGE_SIZE, "offset": (page - 1) * LA_PAGE_SIZE},
    )
    return {
        "homes": homes,
        "total": totals["total"],
        "listed": totals["listed"],
        "places": totals["places"],
        "mix": mix,
        "mix_chart": _mix_chart(mix),
        "per_page": LA_PAGE_SIZE,
        "first_row": (page - 1) * LA_PAGE_SIZE + 1,
        **page_links(f"/la/{quote(code)}", page, pages),
    }


def busy():
    """What a page says when one of its queries ran out of time (the server
    is busy): 503 with Retry-After, never an uncaught error (a 500)."""
    return Response.html(
        "<!DOCTYPE html><title>Busy: try again</title>"
        "<p>The server is busy and this page took too long to build. "
        "Try again in a few seconds.</p>",
        status=503,
        headers={"Retry-After": "5"},
    )


async def la_page(datasette, request):
    try:
        return await _la_page(datasette, request)
    except QueryInterrupted:
        return busy()


async def _la_page(datasette, request):
    code = request.url_vars["la_code"]
    if not LA_CODE.match(code):
        raise NotFound("Not a local authority code")
    page = page_number(request)
    name, db = registry_database(datasette)
    await check_can_view(datasette, request, name)
    found = await rows(
        db, "select * from local_authorities where la_code = :c", {"c": code}
    )
    if not found:
        raise NotFound(f"No local authority {code!r} in this registry")
    homes = await la_homes(db, code, page)
    missing = await missing_by_year(db, "la_code = :code", {"code": code})
    return Response.html(
        await datasette.render_template(
            "ofsted_la.html",
            {
                "database": name,
                "la": found[0],
                **homes,
                "missing": missing,
                "missing_chart": _missing_chart(missing),
            },
            request=request,
        )
    )


async def overview_page(datasette, request):
    try:
        return await _overview_page(datasette, request)
    except QueryInterrupted:
        return busy()


async def _overview_page(datasette, request):
    name, db = registry_database(datasette)
    await check_can_view(datasette, request, name)
    national = await missing_by_year(db, "geographic_level = 'National'", {})
    by_sector = await rows(
        db,
        "select coalesce(sector, 'Unknown') as sector, latest_judgement,"
        f" count(*) as homes from home_snapshots where as_at = {NEWEST_LIST}"
        " group by 1, 2",
    )
    regions = await rows(
        db,
        "select coalesce(region, 'Unknown') as region, count(*) as homes,"
        f" sum(places) as places from home_snapshots where as_at = {NEWEST_LIST}"
        " group by 1 order by homes desc, region",
    )
    newest_list = (await rows(db, f"select {NEWEST_LIST} as d"))[0]["d"]
    sectors = {}
    for row in by_sector:
        sectors.setdefault(row["sector"], []).append(row)
    sector_mix = {
        sector: rating_mix_counts(items) for sector, items in sorted(sectors.items())
    }
    return Response.html(
        await datasette.render_template(
            "ofsted_overview.html",
            {
                "database": name,
                "newest_list": newest_list,
                "national": national,
                "missing_chart": _missing_chart(national),
                "sector_mix": sector_mix,
                "sector_chart": {
                    "kind": "stacked-bar",
                    "labels": list(sector_mix),
                    "datasets": [
                        {
                            "label": judgement,
                            "data": [mix[judgement] for mix in sector_mix.values()],
                        }
                        for judgement in MIX_ORDER
                    ],
                },
                "regions": regions,
                "region_chart": {
                    "kind": "bar",
                    "labels": [r["region"] for r in regions],
                    "datasets": [
                        {
                            "label": "Children's homes",
                            "data": [r["homes"] for r in regions],
                        }
                    ],
                },
            },
            request=request,
        )
    )


SEARCH_LIMIT = 20


async def search_table(datasette, name, db, table, fts, q):
    """Up to SEARCH_LIMIT rows of ``table`` whose full-text index matches,
    each with a highlighted snippet and the link to its row page."""
    sql = (
        f"select t.rowid as rowid, t.*, snippet([{fts}], -1, '{SNIPPET_START}',"
        f" '{SNIPPET_END}', ' … ', 16) as snippet from [{fts}]"
        f" join [{table}] t on t.rowid = [{fts}].rowid"
        f" where [{fts}] match fts_query(:q) order by rank limit {SEARCH_LIMIT}"
    )
    found = await rows(db, sql, {"q": q})
    pks = await db.primary_keys(table)
    for row in found:
        path = path_from_row_pks(row, pks, not pks)
        row["href"] = datasette.urls.row(name, table, path)
        row["snippet_html"] = highlight_snippet(row["snippet"] or "")
    return found


async def search_page(datasette, request):
    """Search every searchable thing: a URN, owners and local authorities by
    name, and every full-text-indexed table (report text first)."""
    name, db = registry_database(datasette)
    await check_can_view(datasette, request, name)
    q = (request.args.get("q") or "").strip()[:200]
    results = {"q": q, "home": None, "owners": [], "las": [], "tables": []}
    if q:
        urn = q.upper().replace(" ", "")
        if URN.match(urn) and await rows(
            db, "select 1 from homes where urn = :u", {"u": urn}
        ):
            results["home"] = urn
        like = {"like": f"%{q}%"}
        results["owners"] = await rows(
            db,
            # homes on the newest list (status active), as every other
            # count; the homes ever listed beside it
            "select o.id, o.name, coalesce(sum(h.status = 'active'), 0) as homes,"
            " count(h.urn) as homes_ever from owners o"
            " left join homes h on h.owner = o.id where o.name like :like"
            " group by o.id order by homes desc, homes_ever desc, o.name"
            f" limit {SEARCH_LIMIT}",
            like,
        )
        results["las"] = await rows(
            db,
            "select la_code, name, region from local_authorities where name like :like"
            f" order by name limit {SEARCH_LIMIT}",
            like,
        )
        hidden = set(await db.hidden_table_names())  # includes the FTS tables
        tables = [t for t in await db.table_names() if t not in hidden]
        searchable = [(t, await db.fts_table(t)) for t in tables]
        searchable.sort(key=lambda pair: pair[0] != "report_pages")
        for table, fts in searchable:
            if not fts:
                continue
            try:
                found = await search_table(datasette, name, db, table, fts, q)
            except Exception as error:  # e.g. an FTS4 index: no rank, no snippet(-1)
                found, note = [], f"could not search: {error}"
            else:
                note = None
            results["tables"].append({"table": table, "rows": found, "note": note})
    return Response.html(
        await datasette.render_template(
            "ofsted_search.html", {"database": name, **results}, request=request
        )
    )


def _mix_chart(mix):
    return {
        "kind": "bar",
        "labels": list(mix),
        "datasets": [{"label": "Homes", "data": list(mix.values())}],
    }


def _missing_chart(years):
    return {
        "kind": "line",
        "labels": [y["year"] for y in years],
        "datasets": [
            {
                "label": "Missing incidents",
                "data": [y.get("missing_incidents") for y in years],
            },
            {
                "label": "Children who went missing",
                "data": [y.get("children_missing") for y in years],
            },
        ],
    }


# ------------------------------------------------------------------------ hooks


@hookimpl
def register_routes():
    return [
        (r"^/home/(?P<urn>[^/]+)$", home_page),
        (r"^/owner/(?P<owner_id>[^/]+)$", owner_page),
        (r"^/la/(?P<la_code>[^/]+)$", la_page),
        (r"^/overview$", overview_page),
        (r"^/search$", search_page),
        (r"^/accuracy$", accuracy_page),  # issue 13: see the accuracy block below
    ]


@hookimpl
def prepare_jinja2_environment(env, datasette):
    # A Jinja global rather than extra_template_vars: error pages (404s) are
    # rendered without the plugin hooks and must carry the label too. Asked
    # once, on the first page (the published file is immutable); no query
    # at start-up, where it would widen Datasette's first-request race.
    answer = []

    async def ofsted_is_sample():
        if not answer:
            answer.append(await is_sample(datasette))
        return answer[0]

    env.globals["ofsted_is_sample"] = ofsted_is_sample


@hookimpl
def extra_css_urls():
    return ["/assets/ofsted.css"]


@hookimpl
def menu_links(datasette):
    return [
        {"href": "/overview", "label": "Overview charts"},
        {"href": "/search", "label": "Search everything"},
    ]


@hookimpl
def render_cell(value, column, table):
    """The one render_cell of our plugins: links from query results to the
    pages (link_for) and highlighted search snippets. Table pages keep
    Datasette's own links, except a group id, which links to its group
    page wherever it is shown."""
    if column not in RENDERED_COLUMNS:
        return None
    if table is not None and column != "group_id":
        return None
    if column == "snippet":
        return highlight_snippet(value) if isinstance(value, str) else None
    try:
        return link_html(column, value)
    except TypeError:  # a value that cannot be a key (a dict): never a link
        return None


@functools.lru_cache(maxsize=8192, typed=True)
def link_html(column, value):
    """A cell's link (link_for) as HTML, or None. It depends on nothing but
    the column and the value, so the answers for the cells seen last are
    kept: the same story pages are asked for again and again, and a council
    or owner repeats down a page."""
    href = link_for(column, value)
    if href is None:
        return None
    return markupsafe.Markup(
        f'<a href="{markupsafe.escape(href)}">{markupsafe.escape(value)}</a>'
    )


# --------------------------------------------------------------------------
# /accuracy (issue 13): how far to trust report-derived fields. The figures
# are registry.accuracy's views; this block only reads and shows them.
# --------------------------------------------------------------------------

ACCURACY_DISAGREEMENTS_SHOWN = 200


async def accuracy_page(datasette, request):
    name, db = registry_database(datasette)
    await check_can_view(datasette, request, name)
    views = set(await db.view_names())
    by_field, by_layout, disagreements, incidents, monitors = [], [], [], [], []
    disagreement_count = 0
    if "report_accuracy_by_field" in views:
        found = {
            r["field"]: r
            for r in await rows(db, "select * from report_accuracy_by_field")
        }
        by_field = [found[f] for f in ACCURACY_FIELDS if f in found]
        by_layout = await rows(
            db,
            "select * from report_accuracy_by_layout"
            " order by field, layout, extractor_version",
        )
        disagreement_count = (
            await rows(db, "select count(*) as n from report_accuracy_disagreements")
        )[0]["n"]
        disagreements = await rows(
            db,
            "select * from report_accuracy_disagreements"
            " order by inspection_date desc, urn, field limit :limit",
            {"limit": ACCURACY_DISAGREEMENTS_SHOWN},
        )
    if "incident_match_accuracy" in views:
        incidents = await rows(
            db, "select * from incident_match_accuracy order by source_name"
        )
    if await has_table(db, "crawl_monitors") and await has_table(db, "crawls"):
        monitors = await rows(
            db,
            "select c.id as crawl, c.started_at, m.monitor, m.description, m.count,"
            " m.seen, round(100.0 * m.share, 1) as percent,"
            " round(100.0 * m.floor, 1) as floor_percent, m.verdict"
            " from crawl_monitors m join crawls c on c.id = m.crawl_id"
            " where c.id = (select crawl_id from crawl_monitors m2"
            " join crawls c2 on c2.id = m2.crawl_id order by c2.started_at desc limit 1)"
            " order by m.page_kind, m.monitor",
        )
    return Response.html(
        await datasette.render_template(
            "ofsted_accuracy.html",
            {
                "database": name,
                "by_field": by_field,
                "by_layout": by_layout,
                "disagreements": disagreements,
                "disagreement_count": disagreement_count,
                "disagreements_shown": ACCURACY_DISAGREEMENTS_SHOWN,
                "incidents": incidents,
                "monitors": monitors,
            },
            request=request,
        )
    )
