"""What every request passes through before Datasette sees it.

* **Reads only.** The registry is published read-only, so nothing but the
  login form ever needs a POST. Datasette 0.65.5 answers a POST to a table or
  a read-only canned query with a 500 (an assertion, a tuple returned as a
  response): this answers 405. A POST body is at most ``MAX_POST_BYTES``.
* **Arbitrary SQL and facets cannot starve the pages.** Datasette runs every
  query on a small pool of threads (3): 30 runaway ``?sql=`` requests queue up
  and a home page waits ten seconds behind them (bench/bench_serve.py). At
  most ``max_concurrent_sql`` requests carrying arbitrary SQL (``sql=``,
  ``_where=``), facets asked for in the URL (``_facet``, ``_facet_array``,
  ``_facet_date``) or a streamed CSV (``_stream``) run at once; the next get
  429 at once, with Retry-After. Canned queries, tables, pages and the facets
  metadata.yml configures are never held back. ``registry.publish.serve`` sets the
  limit in public mode (plugin config ``ofsted-homes``); no limit when unset.
* **Parameters are capped and deduplicated.** 300 ``_facet=`` parameters cost
  18 s of server work, 2,000 column filters froze the server: a repeated
  parameter (same name, same value) is dropped, and more than ``MAX_FACETS``
  different facets or ``MAX_PARAMETERS`` different parameters get a 400.
* **Malformed parameters are a 400, not a 500**: ``_through`` must be a JSON
  object with ``table``, ``column`` and ``value``; a ``_sort`` on a column that
  is not there is the client's mistake.
* **One response is bounded.** ``ofsted_limits`` stops a query whose rows pass
  its size limit; here, any response that declares more than
  ``MAX_RESPONSE_BYTES`` (the database download excepted) becomes a 413.
  Streamed CSV is bounded by Datasette's ``max_csv_mb``.
* **No password over Basic auth.** ``Authorization`` headers are dropped, so
  datasette-auth-passwords never checks a password on a GET (each check holds
  the event loop for 0.2 s); logins go through the form (ofsted_sessions.py).
* **No reflected Host.** Datasette builds ``next_url``, ``Link`` and the
  alternate links from the request's ``Host`` header, in responses cached for
  an hour: here they are built from the configured ``public_url``, or are
  relative.
* **CSV cannot carry formulas.** Every CSV response (tables, canned queries
  and their full exports, arbitrary SQL, streamed) is rewritten as it streams
  (``CsvNeutraliser``): a cell that starts with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return gets a leading ``'``, as OWASP recommends for CSV
  injection; a cell that is only a number (``-5``, ``+1.5e3``) is left alone,
  as a spreadsheet reads it as that number and runs nothing. JSON is
  unchanged.
* **Public mode hides the server's insides**: ``/-/databases`` without file
  paths, ``/-/versions`` without SQLite's compile options, no ``/-/threads``,
  ``/-/plugins`` or ``/-/password-tool`` (404), and ``_trace`` is ignored
  everywhere (on a CSV it gave an HTML debug page that skipped the CSV
  rewriting below).
* **Security headers** on every response, for when no proxy adds them: a
  Content-Security-Policy that runs scripts only from this site (no inline
  script: the two inline scripts of Datasette's templates are static files,
  see templates/_close_open_menus.html and _codemirror_foot.html, and the one
  line table.html writes is allowed by its hash), loads nothing from other
  sites and is framed by none; ``nosniff``; no referrer to other sites; and
  redirects never point off-site.
"""

import base64
import codecs
import csv
import hashlib
import io
import json
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from datasette.utils.asgi import NotFound
from datasette.views.base import DatasetteError
from datasette.views.special import JsonDataView

from datasette import hookimpl

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
POST_PATHS = {"/-/login", "/-/logout"}
MAX_POST_BYTES = 64 * 1024
SQL_PARAMETERS = ("sql", "_where")
FACET_PARAMETERS = ("_facet", "_facet_array", "_facet_date")
GATED_PARAMETERS = (*SQL_PARAMETERS, *FACET_PARAMETERS, "_stream")
MAX_FACETS = 5
# Datasette answers ``.csv?_trace=1`` with an HTML "CSV debug" page (whatever
# the trace_debug setting says), which escapes the CSV neutraliser: the
# parameter is dropped, so that URL is the plain CSV.
IGNORED_PARAMETERS = ("_trace",)
# Every parameter that is not Datasette's own (``_size`` …) is a column
# filter, and building a table's filters costs time that grows with the
# square of their number, on the event loop: 1,000 took 5 s, 2,000 froze the
# server for minutes. A table has at most about 30 columns.
MAX_PARAMETERS = 50
# The largest response anything but the database download may send. A
# result is already cut at ofsted_limits.MAX_RESULT_BYTES (8 MB); JSON
# escaping or HTML markup can make its rendering a few times larger.
MAX_RESPONSE_BYTES = 40 * 1024 * 1024
# Datasette writes `DATASETTE_ALLOW_FACET = true;` inline on table pages
# (table.html): allowed by its hash, both values.
INLINE_SCRIPTS = [
    "DATASETTE_ALLOW_FACET = true;",
    "DATASETTE_ALLOW_FACET = false;",
]


def script_hash(text):
    digest = hashlib.sha256(text.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


CSP = (
    "default-src 'self'; script-src 'self' "
    + " ".join(script_hash(s) for s in INLINE_SCRIPTS)
    + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]

# --------------------------------------------------------------- CSV cells

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(cell):
    """A CSV cell a spreadsheet will not run: one starting with a formula
    character gets a leading single quote, unless it is only a number (a
    negative number is not a formula)."""
    if (
        isinstance(cell, str)
        and cell.startswith(FORMULA_STARTS)
        and not NUMBER.fullmatch(cell)
    ):
        return "'" + cell
    return cell


class CsvNeutraliser:
    """Rewrites a CSV body as it streams: complete records are parsed (the
    csv module, so quoted fields, commas and newlines inside cells are
    understood), their cells neutralised and written back; an unfinished
    record waits for the next chunk. Works on any CSV, whoever wrote it."""

    def __init__(self):
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.pending = ""
        self.started = False

    def feed(self, data: bytes, final: bool = False) -> bytes:
        if final and not self.pending and not self.started:
            # the whole body at once (an export): one scan finds most safe
            # already, and is passed as it is
            text = self.decoder.decode(data, True)
            if is_safe_csv(text):
                return text.encode("utf-8")
            self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.started = True
        text = self.pending + self.decoder.decode(data, final)
        lines = [line + "\n" for line in text.split("\n")]
        lines[-1] = lines[-1][:-1]  # after the last newline: unfinished
        if not final:
            # Whole records only: a record ends at a newline outside quotes,
            # that is where the count of quote characters so far is even.
            quotes = sum(line.count('"') for line in lines[:-1])
            cut = len(lines) - 1
            while quotes % 2 and cut > 0:
                cut -= 1
                quotes -= lines[cut].count('"')
            ready, self.pending = lines[:cut], "".join(lines[cut:])
        else:
            ready, self.pending = [line for line in lines if line], ""
        out = io.StringIO()
        # CRLF, as RFC 4180 says: the writer then quotes a cell holding a
        # carriage return, which a spreadsheet would take for a new row.
        writer = csv.writer(out, lineterminator="\r\n")
        for row in read_records(ready):
            writer.writerow([neutralise(cell) for cell in row])
        return out.getvalue().encode("utf-8")


# Where a cell can start: the start of the body, after a comma, a line end
# or an opening quote. A formula character (or a tab) in any of those
# places, a quoted cell starting with a carriage return, or a line end other
# than CRLF sends a body through the full rewriting. (Unquoted, a carriage
# return is a line end, CRLF, or stands alone, which the counts find.) One
# character class and three counts: a few tens of ms on 5 MB.
_AFTER_CELL_START = re.compile(r'[,\n"][=+\-@\t]')
_CELL_START_FORMULA = ("=", "+", "-", "@", "\t")


def is_safe_csv(text: str) -> bool:
    """True when no cell of ``text`` can start with a formula character (or a
    tab or carriage return) and every line ends CRLF: what the rewriting
    would write, whatever the quoting. A number such as ``-1`` is not told
    apart here: it sends the body through the rewriting, which keeps it."""
    if text.startswith(_CELL_START_FORMULA) or '"\r' in text:
        return False
    if _AFTER_CELL_START.search(text):
        return False
    return text.count("\n") == text.count("\r\n") == text.count("\r")


_BARE_CR = "\ue000"


def read_records(lines):
    """csv.reader over ``lines``. A CSV written with ``\\n`` line ends may
    hold a bare carriage return in an unquoted cell (the csv module does not
    quote it then), which the reader refuses: it is kept inside its cell, and
    the CRLF writer quotes that cell, so no spreadsheet starts a row there."""
    try:
        return list(csv.reader(lines))
    except csv.Error:
        marked = [line.replace("\r\n", "\n").replace("\r", _BARE_CR) for line in lines]
        return [
            [cell.replace(_BARE_CR, "\r") for cell in row] for row in csv.reader(marked)
        ]


def is_csv_response(scope, headers):
    content_type = b""
    for name, value in headers:
        if name.lower() == b"content-type":
            content_type = value.lower()
    if content_type.startswith(b"text/csv"):
        return True
    if not content_type.startswith(b"text/plain"):
        return False
    query = scope.get("query_string", b"")
    return scope["path"].endswith(".csv") or b"_format=csv" in query


# ---------------------------------------------------------------- requests


def is_allowed(method, path):
    return method in READ_METHODS or (method == "POST" and path in POST_PATHS)


def carries_sql(query_string):
    params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return any(name in params for name in SQL_PARAMETERS)


def is_gated(query_string):
    names = {
        name
        for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    }
    return any(name in names for name in GATED_PARAMETERS)


def check_query(query_string):
    """(new query string, None) or (None, the 400 message)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept, seen, facets = [], set(), set()
    for name, value in pairs:
        if (name, value) in seen:  # a repeat changes nothing but the cost
            continue
        if name in IGNORED_PARAMETERS:
            continue
        seen.add((name, value))
        if name in FACET_PARAMETERS:
            facets.add((name, value))
        if name == "_through" and not _valid_through(value):
            return None, (
                "_through must be a JSON object with table, column and value, "
                'e.g. {"table": "inspections", "column": "urn", "value": "SC100001"}'
            )
        kept.append((name, value))
    if len(facets) > MAX_FACETS:
        return None, (
            f"Too many facets: at most {MAX_FACETS} different _facet, "
            "_facet_array and _facet_date parameters in one request."
        )
    if len(kept) > MAX_PARAMETERS:
        return None, (
            f"Too many parameters: at most {MAX_PARAMETERS} different ones in "
            "one request."
        )
    if len(kept) == len(pairs):
        return query_string, None
    return urlencode(kept).encode("latin-1"), None


def _valid_through(value):
    try:
        data = json.loads(value)
    except ValueError:
        return False
    return (
        isinstance(data, dict)
        and all(isinstance(data.get(k), str) for k in ("table", "column"))
        and isinstance(data.get("value"), (str, int, float))
    )


def same_origin(location):
    """A redirect target that cannot leave the site: Datasette 0.65.5 answers
    ``/\\evil.example/`` with ``Location: /\\evil.example``, which browsers
    read as ``//evil.example`` (another site)."""
    location = location.replace(b"\\", b"%5C")
    if location.startswith(b"//"):
        location = b"/" + location.lstrip(b"/")
    return location


def without_authorization(scope):
    headers = [(n, v) for n, v in scope.get("headers", []) if n != b"authorization"]
    if len(headers) == len(scope.get("headers", [])):
        return scope
    return {**scope, "headers": headers}


def declared_length(headers):
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def with_headers(send, scope):
    path = scope["path"]
    refused = False
    rewriter = None

    async def sender(message):
        nonlocal refused, rewriter
        if refused:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await send({"type": "http.response.body", "body": b""})
            return
        if message["type"] == "http.response.start":
            length = declared_length(message.get("headers", []))
            if length and length > MAX_RESPONSE_BYTES and not path.endswith(".db"):
                refused = True
                await plain_response(
                    send,
                    413,
                    f"Response too large: over {MAX_RESPONSE_BYTES:,} bytes. "
                    "Ask for fewer rows or columns.\n",
                    send_body=False,
                )
                return
            headers = [
                (name, same_origin(value) if name.lower() == b"location" else value)
                for name, value in message.get("headers", [])
            ]
            if is_csv_response(scope, headers):
                rewriter = CsvNeutraliser()
                # The body changes length: it is streamed instead.
                headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
            names = {name.lower() for name, _ in headers}
            extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
            message = {**message, "headers": [*headers, *extra]}
        elif message["type"] == "http.response.body" and rewriter is not None:
            final = not message.get("more_body", False)
            body = rewriter.feed(message.get("body", b""), final=final)
            message = {**message, "body": body}
        await send(message)

    return sender


async def plain_response(send, status, text, headers=(), send_body=True):
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"cache-control", b"no-store"),
                *headers,
                *SECURITY_HEADERS,
            ],
        }
    )
    if send_body:
        await send({"type": "http.response.body", "body": body})
    else:
        # The caller's own body messages are swallowed; this one ends it.
        await send({"type": "http.response.body", "body": body, "more_body": True})


def _config(datasette):
    return datasette.plugin_config("ofsted-homes") or {}


@hookimpl
def asgi_wrapper(datasette):
    config = _config(datasette)
    limit = config.get("max_concurrent_sql")

    def wrap(app):
        running = 0

        async def guard(scope, receive, send):
            nonlocal running
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if not is_allowed(scope["method"], scope["path"]):
                await plain_response(
                    send,
                    405,
                    "Method not allowed: this registry is read-only\n",
                    [(b"allow", b"GET, HEAD, OPTIONS")],
                )
                return
            if scope["method"] == "POST":
                length = declared_length(scope.get("headers", []))
                if length is None or length > MAX_POST_BYTES:
                    await plain_response(
                        send,
                        413 if length else 411,
                        f"A form here is at most {MAX_POST_BYTES:,} bytes, "
                        "with a Content-Length.\n",
                    )
                    return
            query_string, problem = check_query(scope.get("query_string", b""))
            if problem:
                await plain_response(send, 400, problem + "\n")
                return
            scope = without_authorization({**scope, "query_string": query_string})
            gated = bool(limit) and is_gated(query_string)
            if gated and running >= limit:
                await plain_response(
                    send,
                    429,
                    "Too many SQL queries are running: try again in a few seconds.\n",
                    [(b"retry-after", b"2")],
                )
                return
            running += gated
            try:
                await app(scope, receive, with_headers(send, scope))
            finally:
                running -= gated

        return guard

    return wrap


# ------------------------------------------------------- Datasette's insides


@hookimpl
def startup(datasette):
    public_url = _config(datasette).get("public_url")

    def absolute_url(request, path):
        # Never from the request's Host header (it may be anyone's).
        if public_url:
            return urljoin(public_url.rstrip("/") + "/", path.lstrip("/"))
        parts = urlsplit(urljoin(request.path, path))
        return parts.path + (f"?{parts.query}" if parts.query else "")

    datasette.absolute_url = absolute_url


# Public mode answers these with a 404: /-/threads lists the server's
# threads and running tasks, /-/plugins every plugin with its version (what
# an attacker would look up first); /-/password-tool (datasette-auth-passwords)
# is a form that hashes a password, of no use where nobody logs in.
# /-/settings stays: it is the limits a reader of the JSON API meets, as
# docs/security.md lists them.
HIDDEN_IN_PUBLIC = ("threads", "plugins", "password-tool")


async def not_in_public_mode(request):
    raise NotFound("Not on the public registry")


@hookimpl
def register_routes(datasette):
    if _config(datasette).get("mode") != "public":
        return []

    def databases():
        return [
            {k: v for k, v in d.items() if k != "path"}
            for d in datasette._connected_databases()
        ]

    def versions():
        info = datasette._versions()
        sqlite = dict(info.get("sqlite") or {})
        sqlite.pop("compile_options", None)
        return {**info, "sqlite": sqlite}

    return [
        (rf"^/-/({'|'.join(HIDDEN_IN_PUBLIC)})(\.json)?$", not_in_public_mode),
        (
            r"^/-/databases(\.(?P<format>json))?$",
            JsonDataView.as_view(datasette, "databases.json", databases),
        ),
        (
            r"^/-/versions(\.(?P<format>json))?$",
            JsonDataView.as_view(datasette, "versions.json", versions),
        ),
    ]


def client_error(exception):
    """The 400 message for an exception that is the request's fault."""
    # Datasette 0.65.5 raises a bare DatasetteError (a 500) for
    # ?_sort=<no such column> and a _through with no such foreign key.
    if (
        isinstance(exception, DatasetteError)
        and exception.status == 500
        and str(exception.message).startswith(("Cannot sort", "Invalid _through"))
    ):
        return exception.message
    # ?_json=<column> on a value nested thousands deep.
    if isinstance(exception, RecursionError):
        return "A value is nested too deeply to be read as JSON."
    return None


@hookimpl
def handle_exception(datasette, request, exception):
    message = client_error(exception)
    if message is None:
        return None
    from datasette.utils.asgi import Response

    if request.path.endswith(".json"):
        return Response.json({"ok": False, "error": message, "status": 400}, status=400)
    return Response.text(message + "\n", status=400)
