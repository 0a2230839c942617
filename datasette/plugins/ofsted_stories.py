"""The stories (canned queries) for journalists:

* ``list_date(text)``, an SQL function: the forms people type for a date
  (``2015``, ``31/03/2015``, ``2015-03-31``, ``31 March 2015``; blank for the
  newest) as YYYY-MM-DD, or NULL when it is not a date, so a story never
  answers silently for another date;
* on a story's page: which Ofsted list answered (in the heading), the list
  dates held as links, what evidence the story had and what it would need
  (said whether or not it found rows), and whether the page shows every row;
* complete CSV exports: ``/<db>/<story>.csv`` answers with every row of the
  story (Datasette's own CSV of a canned query stops at 1,000 rows, and
  canned queries cannot stream). An export is bounded by what it writes, not
  by the page limits: at most ``EXPORT_MAX_ROWS`` rows and
  ``EXPORT_MAX_CHARACTERS`` of CSV (past either, a plain 413 saying so), and
  ``EXPORT_TIME_LIMIT_MS`` of SQL. Exports are built ``EXPORT_AT_ONCE`` at a
  time: the others wait their turn (up to ``EXPORT_WAIT_S``) instead of
  being refused because others asked first, and pages keep the other SQL
  threads meanwhile.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import re
import sqlite3
import weakref

from datasette.database import QueryInterrupted
from datasette.utils.asgi import Response

from datasette import hookimpl

EXPORT_MAX_ROWS = 50_000
# The CSV text of one export. Below the request guard's bound on any response
# (40 MB): a story's complete downgrades at ten times today's registry is
# about 5 MB.
EXPORT_MAX_CHARACTERS = 24_000_000
EXPORT_TIME_LIMIT_MS = 10_000  # the SQL of one export
EXPORT_AT_ONCE = 1  # exports being built at once; on 2 cores pages keep the other
EXPORT_WAIT_S = 30  # how long an export waits for its turn before a 503

_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "jan",
            "feb",
            "mar",
            "apr",
            "may",
            "jun",
            "jul",
            "aug",
            "sep",
            "oct",
            "nov",
            "dec",
        ],
        start=1,
    )
}


def list_date(text):
    """``'2015'`` → ``'2015-12-31'`` (the newest list that year);
    ``'31/03/2015'`` and ``'31 March 2015'`` → ``'2015-03-31'``; blank →
    ``'9999-12-31'`` (the newest list); anything else → None."""
    if text is None:
        return "9999-12-31"
    value = str(text).strip()
    if not value:
        return "9999-12-31"
    day = month = year = None
    if re.fullmatch(r"\d{4}", value):
        return f"{value}-12-31"
    if match := re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value):
        year, month, day = (int(g) for g in match.groups())
    elif match := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", value):
        day, month, year = (int(g) for g in match.groups())
    elif match := re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})", value):
        month = _MONTHS.get(match[2][:3].lower())
        day, year = int(match[1]), int(match[3])
    if not (day and month and year):
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


@hookimpl
def prepare_connection(conn):
    conn.create_function("list_date", 1, list_date, deterministic=True)


# ------------------------------------------------------------ story pages

# What each story is built from: (label, SQL counting it) and what it needs
# when that is nothing. Counts only: never a home's detail.
_LISTS = (
    "Ofsted providers lists held",
    "select count(distinct as_at) from home_snapshots",
)
_EVIDENCE = {
    "flagged_homes": (
        [
            ("inspection reports read", "select count(*) from reports"),
            (
                "sentences about children going missing found in them",
                "select count(*) from report_mentions",
            ),
            ("per-home incident counts loaded", "select count(*) from incident_counts"),
        ],
        "inspection report PDFs (ofsted-homes load registry.db reports/*.pdf, or "
        "a refresh) or per-home incident counts (ofsted-homes load-incidents)",
    ),
    "missing_discrepancies": (
        [
            ("inspection reports read", "select count(*) from reports"),
            ("per-home incident counts loaded", "select count(*) from incident_counts"),
        ],
        "inspection report PDFs and per-home incident counts",
    ),
    "search_reports": (
        [("report pages indexed", "select count(*) from report_pages")],
        "inspection report PDFs",
    ),
    "downgrades": (
        [
            (
                "full inspections with a judgement",
                "select count(*) from inspections where event_type = 'Full inspection' "
                "and judgement is not null",
            )
        ],
        "Ofsted's inspections files (two full inspections of a home)",
    ),
    "missing_trend": (
        [
            (
                "years of DfE missing-from-care figures",
                "select count(distinct year) from la_missing_stats",
            )
        ],
        "DfE's missing-from-care files",
    ),
    "la_scorecard": (
        [
            _LISTS,
            (
                "years of DfE missing-from-care figures",
                "select count(distinct year) from la_missing_stats",
            ),
        ],
        "an Ofsted providers list and DfE's missing-from-care files",
    ),
    "groups": (
        [
            _LISTS,
            ("owner-to-group rules loaded", "select count(*) from owner_group_rules"),
        ],
        "an Ofsted providers list and a mapping of owners to groups "
        "(ofsted-homes load-groups registry.db FILE.csv)",
    ),
    "home_history": (
        [_LISTS, ("inspections", "select count(*) from inspections")],
        "a URN, and Ofsted's files that list it",
    ),
}
for _name in (
    "market_snapshot",
    "regional_snapshot",
    "las_without_la_homes",
    "owners",
    "market_trend",
):
    _EVIDENCE[_name] = ([_LISTS], "an Ofsted providers-at-31-March file")

_LONG = "%-d %B %Y"


def _long(day: str | None) -> str:
    try:
        return dt.date.fromisoformat(day).strftime(_LONG)
    except (TypeError, ValueError):
        return str(day)


# What a story page says about the database, not about the request (the list
# dates held, the evidence counts, the newest DfE year), worked out once per
# published file. Every published registry is a new file served by a new
# Database object (the ofsted_reload plugin swaps one in when a new file is
# published), so keeping it per object, weakly, keeps it exactly as long as
# that file is served. A database opened mutable may change under us: its
# facts are worked out on every request.
_FACTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _fact(db, key, compute):
    """``await compute()``, kept per immutable database under ``key``."""
    if db.is_mutable:
        return await compute()
    kept = _FACTS.setdefault(db, {})
    if key not in kept:
        kept[key] = await compute()
    return kept[key]


async def _count_uncached(db, sql: str) -> int | None:
    try:
        return (await db.execute(sql)).first()[0]
    except QueryInterrupted:  # out of time now: not an answer to keep
        raise
    except Exception:  # a table this registry has not got (yet)
        return None


async def _count(db, sql: str) -> int | None:
    """The one value ``sql`` (a constant of this module) selects: a count, a
    maximum; None when the registry has not got the table, or (not kept)
    when the query ran out of time."""
    try:
        return await _fact(db, ("count", sql), lambda: _count_uncached(db, sql))
    except QueryInterrupted:
        return None


async def _list_dates(db) -> tuple[str, ...]:
    """The date of every list held, oldest first."""
    found = await db.execute("select as_at from list_dates order by 1")
    return tuple(r[0] for r in found.rows)


async def _count_for(db, sql: str, params: list) -> int | None:
    try:
        return (await db.execute(sql, params)).first()[0]
    except Exception:  # a table this registry has not got (yet)
        return None


async def _list_in_force(db, day: str) -> str | None:
    """The date of the Ofsted list in force on ``day`` (the list_dates view),
    or None when no list held is that old. Asked of the view every time: it
    depends on the date asked for, and the view is where the rule lives."""
    found = (
        await db.execute(
            "select as_at from list_dates where ? between as_at and in_force_until",
            [day],
        )
    ).first()
    return found[0] if found else None


async def _story_vars(datasette, request, database: str, name: str) -> dict:
    db = datasette.get_database(database)
    query = await datasette.get_canned_query(database, name, request.actor)
    if not query:
        return {}
    params = query.get("params") or []
    out: dict = {"ofsted_story": name}
    if "as_at" in params:
        typed = request.args.get("as_at", "")
        wanted = list_date(typed)
        dates = await _fact(db, "list_dates", lambda: _list_dates(db))
        from urllib.parse import urlencode

        others = [
            (k, v)
            for k in request.args
            if k != "as_at"
            for v in request.args.getlist(k)
        ]
        out["ofsted_list_dates"] = [
            (d, "?" + urlencode([*others, ("as_at", d)])) for d in reversed(dates)
        ]
        out["ofsted_as_at_typed"] = typed
        if wanted is None:
            out["ofsted_answer"] = (
                f"“{typed}” is not a date this story understands: type a year "
                "(2015), a day (31/03/2015 or 2015-03-31), or pick a list below."
            )
            out["ofsted_answer_problem"] = True
        else:
            used = await _list_in_force(db, wanted)
            out["ofsted_as_at_used"] = used
            if used is None:
                out["ofsted_answer"] = (
                    f"No Ofsted list held is dated on or before {_long(wanted)}"
                    if typed.strip()
                    else "No Ofsted providers list is loaded"
                )
                out["ofsted_answer_problem"] = True
            elif not typed.strip():
                out["ofsted_answer"] = (
                    f"Ofsted's list at {_long(used)} (the newest held)"
                )
            elif used == wanted or re.fullmatch(r"\d{4}", typed.strip()):
                out["ofsted_answer"] = f"Ofsted's list at {_long(used)}"
            else:
                out["ofsted_answer"] = (
                    f"Ofsted's list at {_long(used)}: the list in force on "
                    f"{_long(wanted)} (there is no list of that exact date)"
                )
    if "year" in params:
        typed = request.args.get("year", "").strip()
        year = typed or (
            await _count(db, "select max(year) from la_missing_stats") or ""
        )
        if typed and not re.fullmatch(r"\d{4}", typed):
            out["ofsted_answer"] = f"“{typed}” is not a year: type one like 2024"
            out["ofsted_answer_problem"] = True
        elif year:
            used = await _list_in_force(db, f"{year}-03-31")
            lists = (
                f"Ofsted's list at {_long(used)}"
                if used
                else "no Ofsted list that early"
            )
            out["ofsted_answer"] = (
                f"Year to 31 March {year}: DfE figures for that year; {lists}"
            )
    evidence = _EVIDENCE.get(name)
    if evidence:
        parts = []
        for label, sql in evidence[0]:
            value = await _count(db, sql)
            parts.append((label, value))
        out["ofsted_evidence"] = parts
        out["ofsted_evidence_need"] = evidence[1]
        out["ofsted_evidence_empty"] = any(not v for _, v in parts)
    out["ofsted_export_url"] = datasette.urls.path(
        f"/{database}/{name}.csv"
        + (f"?{request.query_string}" if request.query_string else "")
    )
    out["ofsted_max_rows"] = datasette.setting("max_returned_rows")
    out["ofsted_export_max_rows"] = EXPORT_MAX_ROWS
    return out


def _registry(datasette):
    for name, db in datasette.databases.items():
        if not db.is_memory:
            return name, db
    return None, None


TREND_SECTORS = ("Private", "Local Authority", "Voluntary", "Health Authority")


async def _trend_vars(db) -> dict:
    """Share of homes by sector at every list date, for /overview."""
    found = await db.execute(
        "select as_at, coalesce(sector, 'Unknown') as sector, count(*) as homes "
        "from home_snapshots group by 1, 2 order by 1"
    )
    totals: dict[str, int] = {}
    counts: dict[tuple[str, str], int] = {}
    for as_at, sector, homes in found.rows:
        totals[as_at] = totals.get(as_at, 0) + homes
        counts[(as_at, sector)] = homes
    dates = sorted(totals)
    sectors = [s for s in TREND_SECTORS if any((d, s) in counts for d in dates)]
    sectors += sorted({s for _, s in counts} - set(sectors))
    table = [
        {
            "as_at": d,
            "homes": totals[d],
            "shares": [
                round(100.0 * counts.get((d, s), 0) / totals[d], 1) for s in sectors
            ],
        }
        for d in dates
    ]
    return {
        "ofsted_trend": table,
        "ofsted_trend_sectors": sectors,
        "ofsted_trend_chart": {
            "kind": "line",
            "labels": dates,
            "datasets": [
                {"label": s, "data": [row["shares"][i] for row in table]}
                for i, s in enumerate(sectors)
            ],
            "y_label": "% of homes",
        },
    }


async def _page_evidence(db) -> dict:
    return {
        "ofsted_reports_loaded": await _count(db, "select count(*) from reports") or 0,
        "ofsted_mentions_loaded": await _count(
            db, "select count(*) from report_mentions"
        )
        or 0,
        "ofsted_incident_counts_loaded": await _count(
            db, "select count(*) from incident_counts"
        )
        or 0,
    }


@hookimpl
def extra_template_vars(template, database, request, datasette):
    if request is None:
        return {}
    if template == "query.html":
        name = (request.url_vars or {}).get("table")
        if not database or not name:
            return {}

        async def story():
            return await _story_vars(datasette, request, database, name)

        return story
    if template in ("ofsted_overview.html", "ofsted_search.html", "ofsted_home.html"):

        async def page():
            _, db = _registry(datasette)
            if db is None:
                return {}
            out = await _page_evidence(db)
            urn = (request.url_vars or {}).get("urn")
            if template == "ofsted_home.html" and urn:
                out["ofsted_home_reports"] = await _count_for(
                    db, "select count(*) from reports where urn = ?", [urn.upper()]
                )
            if template == "ofsted_overview.html":
                out.update(await _fact(db, "trend", lambda: _trend_vars(db)))
            return out

        return page
    return {}


# ----------------------------------------------------------- full exports


def _story_names(datasette) -> set[str]:
    names = set()
    for meta in (datasette.metadata("databases") or {}).values():
        names |= set((meta or {}).get("queries") or {})
    return names


def out_of_time(name: str, params) -> Response:
    """What an export says when its query ran out of time (the SQL time
    limit): 503 with Retry-After and one line naming the story and what
    makes it smaller, never an uncaught error (a 500 showing the SQL)."""
    narrower = (
        f", or narrow it with its parameters ({', '.join(params)}) to export fewer rows"
        if params
        else ""
    )
    return Response.text(
        f"The {name} export took too long to build (the server is busy or the "
        f"export is big): try again in a few seconds{narrower}.\n",
        status=503,
        headers={"Retry-After": "5"},
    )


def too_large(name: str, params, what: str) -> Response:
    """What an export says when it holds more than one download may (413):
    one line naming the story and what makes it smaller."""
    narrower = (
        f"narrow it with its parameters ({', '.join(params)})"
        if params
        else "it cannot be narrowed"
    )
    return Response.text(
        f"The {name} export has {what}, more than one download may hold: {narrower}.\n",
        status=413,
    )


class ExportTooLarge(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def write_export(conn, sql: str, params: dict) -> tuple[str, int]:
    """Run ``sql`` on ``conn`` (in a SQL thread) and write its rows as CSV:
    ``(text, rows)``. The rows are read a thousand at a time and written at
    once, so only the CSV is held; past ``EXPORT_MAX_ROWS`` rows or
    ``EXPORT_MAX_CHARACTERS`` of CSV it stops with ExportTooLarge. The
    cursor's rows are plain tuples: they are sized here, as the CSV they
    become, not by the connection's per-row budget for pages. Lines end
    CRLF, as RFC 4180 and the request guard's CSV rewriting write them."""
    from datasette.utils import sqlite_timelimit

    with sqlite_timelimit(conn, EXPORT_TIME_LIMIT_MS):
        cursor = conn.cursor()
        cursor.row_factory = None
        cursor.execute(sql, params)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")  # None is written blank
        writer.writerow([d[0] for d in cursor.description])
        count = 0
        while batch := cursor.fetchmany(1000):
            count += len(batch)
            if count > EXPORT_MAX_ROWS:
                raise ExportTooLarge(f"more than {EXPORT_MAX_ROWS:,} rows")
            writer.writerows(batch)
            if buffer.tell() > EXPORT_MAX_CHARACTERS:
                raise ExportTooLarge(f"more than {EXPORT_MAX_CHARACTERS:,} characters")
    return buffer.getvalue(), count


# One queue of exports per event loop (an asyncio.Semaphore belongs to one).
_export_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _turns():
    loop = asyncio.get_running_loop()
    if loop not in _export_turns:
        _export_turns[loop] = asyncio.Semaphore(EXPORT_AT_ONCE)
    return _export_turns[loop]


async def export_story(datasette, request):
    database = request.url_vars["database"]
    name = request.url_vars["name"]
    try:
        db = datasette.get_database(database)
    except KeyError:
        return Response.text(f"No database called {database!r}\n", status=404)
    await datasette.ensure_permissions(
        request.actor,
        [
            ("view-query", (database, name)),
            ("view-database", database),
            "view-instance",
        ],
    )
    query = await datasette.get_canned_query(database, name, request.actor)
    if not query:
        return Response.text(f"No story called {name!r}\n", status=404)
    from datasette.utils import derive_named_parameters

    wanted = query.get("params") or []
    try:
        wanted = wanted or await derive_named_parameters(db, query["sql"])
    except QueryInterrupted:
        return out_of_time(name, wanted)
    params = {p: request.args.get(p, "") for p in wanted}
    turns = _turns()
    try:
        await asyncio.wait_for(turns.acquire(), EXPORT_WAIT_S)
    except TimeoutError:
        return out_of_time(name, wanted)
    try:
        text, count = await db.execute_fn(
            lambda conn: write_export(conn, query["sql"], params)
        )
    except ExportTooLarge as error:
        return too_large(name, wanted, error.what)
    except sqlite3.OperationalError as error:
        if "interrupted" not in str(error):
            raise
        return out_of_time(name, wanted)
    finally:
        turns.release()
    headers = {"x-ofsted-rows": str(count)}
    content_type = "text/plain; charset=utf-8"
    if request.args.get("_dl"):
        content_type = "text/csv; charset=utf-8"
        headers["content-disposition"] = f'attachment; filename="{name}.csv"'
    return Response(text, status=200, headers=headers, content_type=content_type)


@hookimpl
def register_routes(datasette):
    routes = [(r"^/group/(?P<group_id>[^/]+)$", group_page)]
    names = sorted(_story_names(datasette))
    if names:
        alternatives = "|".join(re.escape(n) for n in names)
        routes.append(
            (rf"^/(?P<database>[^/]+)/(?P<name>{alternatives})\.csv$", export_story)
        )
    return routes


# ------------------------------------------------------------ group pages

GROUP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,120}$")


async def group_page(datasette, request):
    from datasette.utils.asgi import NotFound

    group_id = request.url_vars["group_id"]
    if not GROUP_ID.match(group_id):
        raise NotFound("Not a group id")
    name, db = _registry(datasette)
    if db is None:
        raise NotFound("No registry is loaded")
    await datasette.invoke_startup()
    await datasette.ensure_permissions(
        request.actor,
        [("view-table", (name, "homes")), ("view-database", name), "view-instance"],
    )
    if not await db.table_exists("owner_groups"):
        raise NotFound("No owner groups in this registry")
    found = (
        await db.execute("select id, name from groups where id = ?", [group_id])
    ).rows
    if not found:
        raise NotFound(f"No group {group_id!r} in this registry")
    claims = [
        dict(r)
        for r in (
            await db.execute(
                "select r.match, r.match_kind, r.claim_source, r.row, s.file_name, "
                "s.is_sample, s.sha256 from owner_group_rules r "
                "join sources s on s.sha256 = r.source_id where r.group_id = ? "
                "order by s.file_name, r.row",
                [group_id],
            )
        ).rows
    ]
    newest = (await db.execute("select as_at from list_dates where is_newest")).first()
    newest = newest[0] if newest else None
    owners = [
        dict(r)
        for r in (
            await db.execute(
                "select o.id, o.name, "
                "(select count(*) from home_snapshots s where s.owner = o.id and s.as_at = :d) as homes, "
                "(select sum(s.places) from home_snapshots s where s.owner = o.id and s.as_at = :d) as places "
                "from owner_groups g join owners o on o.id = g.owner where g.group_id = :g "
                "order by homes desc, o.name",
                {"g": group_id, "d": newest},
            )
        ).rows
    ]
    homes = [
        dict(r)
        for r in (
            await db.execute(
                "select s.urn, s.local_authority, s.la_code, s.sector, s.places, "
                "s.latest_judgement, s.latest_full_inspection_date, o.name as owner "
                "from home_snapshots s join owner_groups g on g.owner = s.owner "
                "join owners o on o.id = s.owner "
                "where g.group_id = :g and s.as_at = :d order by s.local_authority, s.urn",
                {"g": group_id, "d": newest},
            )
        ).rows
    ]
    total = (
        await db.execute(
            "select count(*), sum(places) from home_snapshots where as_at = ?", [newest]
        )
    ).first()
    mix: dict[str, int] = {}
    for home in homes:
        key = home["latest_judgement"] or "Not yet judged"
        mix[key] = mix.get(key, 0) + 1
    return Response.html(
        await datasette.render_template(
            "ofsted_group.html",
            {
                "database": name,
                "group": dict(found[0]),
                "claims": claims,
                "is_sample_mapping": any(c["is_sample"] for c in claims),
                "owners": owners,
                "homes": homes,
                "newest_list": newest,
                "all_homes": total[0],
                "all_places": total[1],
                "places": sum(h["places"] or 0 for h in homes),
                "mix": mix,
            },
            request=request,
        )
    )
