"""The way in and around for inspectors, and no way in on the public registry.

Inspector mode (plugin config ``ofsted-homes``, ``mode: inspector``):

* **An anonymous request gets the login, not a bare "Forbidden".** A page
  answers 403 with the login form on it, which brings the inspector back to
  the page asked for after logging in (``next``, a path on this site only:
  ofsted_sessions.py checks it);
  a JSON request gets a JSON error saying where to log in, a CSV one a line
  of text. Nothing of the page itself is shown.
* **The private flag is reachable without typing a URL**: when the private
  database has incident counts, ``flagged_homes_private`` (the ``_memory``
  database's canned query, registry.publish.serve) is linked from the menu,
  the index and the ``flagged_homes`` page.
* **A home's page shows the private database's counts for that home**, in
  their own section marked private (ofsted_home.html): they are unsuppressed
  and never published.
* The menu has "Log out" (Datasette's own menu item reads the ``ds_actor``
  cookie, which ofsted_sessions.py takes out of the request).

Public mode: no "Log in" in the menu (datasette-auth-passwords adds one for
every anonymous visitor; there is no login there, ``/-/login`` is a 404), and
none of the above: this module never reads a private database unless the
mode is inspector and someone is logged in.
"""

from datasette.utils.asgi import Response

from datasette import hookimpl

LOGIN = "/-/login"
CROSSDB = "_memory"
PRIVATE_FLAG_QUERY = "flagged_homes_private"


def _mode(datasette):
    return (datasette.plugin_config("ofsted-homes") or {}).get("mode")


def _inspector(datasette):
    return _mode(datasette) == "inspector"


def _wants(request):
    path = request.path
    fmt = request.args.get("_format")
    if path.endswith(".json") or fmt == "json":
        return "json"
    if path.endswith(".csv") or fmt == "csv":
        return "csv"
    return "html"


@hookimpl
def forbidden(datasette, request, message):
    if not _inspector(datasette) or request.actor:
        return None

    async def inner():
        login = datasette.urls.path(LOGIN)
        wanted = _wants(request)
        if wanted == "json":
            return Response.json(
                {
                    "ok": False,
                    "error": f"Log in first: this registry is for inspectors ({login}).",
                    "status": 403,
                    "login": login,
                },
                status=403,
            )
        if wanted == "csv":
            return Response.text(
                f"Log in first: this registry is for inspectors ({login}).\n",
                status=403,
            )
        here = request.path + (
            f"?{request.query_string}" if request.query_string else ""
        )
        return Response.html(
            await datasette.render_template(
                "ofsted_login.html",
                {
                    "error": None,
                    "forbidden": True,
                    # checked by the login (ofsted_sessions.safe_next)
                    "next": here,
                },
                request=request,
            ),
            status=403,
        )

    return inner


# ------------------------------------------------------------------ the menu


@hookimpl(hookwrapper=True)
def menu_links(datasette, actor, request):
    """Public mode: drop the "Log in" item another plugin adds."""
    outcome = yield
    if _mode(datasette) == "public":
        login = datasette.urls.path(LOGIN)
        outcome.force_result(
            [
                [link for link in links if link.get("href") != login]
                if isinstance(links, list)
                else links
                for links in outcome.get_result()
            ]
        )


async def private_flag_url(datasette, actor):
    """The link to flagged_homes_private, for a logged-in inspector when the
    query exists (a private database with incident counts), else None."""
    if not actor or not _inspector(datasette) or CROSSDB not in datasette.databases:
        return None
    query = await datasette.get_canned_query(CROSSDB, PRIVATE_FLAG_QUERY, actor)
    if not query:
        return None
    return datasette.urls.query(CROSSDB, PRIVATE_FLAG_QUERY)


@hookimpl(specname="menu_links")
def inspector_menu_links(datasette, actor):
    if not actor or not _inspector(datasette):
        return None

    async def inner():
        links = []
        url = await private_flag_url(datasette, actor)
        if url:
            links.append({"href": url, "label": "Flagged homes, with private evidence"})
        links.append({"href": datasette.urls.path("/-/logout"), "label": "Log out"})
        return links

    return inner


# ------------------------------------------------------------- page additions


async def private_database(datasette):
    """(name, db) of the private database in inspector mode, or (None,
    None): a database on file with incident counts and no homes (the
    registry has both; the order the files were opened in is no guide)."""
    if not _inspector(datasette):
        return None, None
    for name, db in list(datasette.databases.items()):
        if db.is_memory or name.startswith("_"):
            continue
        if await db.table_exists("incident_counts") and not await db.table_exists(
            "homes"
        ):
            return name, db
    return None, None


async def private_counts(datasette, urn):
    """The private database's matched incident counts for one home."""
    name, db = await private_database(datasette)
    if db is None:
        return None, []
    results = await db.execute(
        "select source_name, kind, period_label, period_start, period_end,"
        " incidents_count, children_count, match_method from incident_counts"
        " where urn = :urn and match_status = 'matched'"
        " order by period_end desc, source_name, kind",
        {"urn": urn},
    )
    return name, [dict(row) for row in results.rows]


@hookimpl
def extra_template_vars(template, database, request, datasette):
    if request is None or not request.actor or not _inspector(datasette):
        return {}
    if template == "index.html" or (
        template == "query.html"
        and (request.url_vars or {}).get("table") == "flagged_homes"
    ):

        async def flag_link():
            return {
                "ofsted_private_flag_url": await private_flag_url(
                    datasette, request.actor
                )
            }

        return flag_link
    if template == "ofsted_home.html":
        urn = ((request.url_vars or {}).get("urn") or "").upper()

        async def home():
            name, counts = await private_counts(datasette, urn)
            return {"ofsted_private_db": name, "ofsted_private_counts": counts}

        return home
    return {}
