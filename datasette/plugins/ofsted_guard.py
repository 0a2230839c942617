"""What every request passes through before Datasette sees it.

* **Reads only.** The registry is published read-only, so nothing but the
  login form ever needs a POST. Datasette 0.65.5 answers a POST to a table or
  a read-only canned query with a 500 (an assertion, a tuple returned as a
  response): this answers 405.
* **Arbitrary SQL cannot starve the pages.** Datasette runs every query on a
  small pool of threads (3): 30 runaway ``?sql=`` requests queue up and a home
  page waits ten seconds behind them (bench/bench_serve.py; reliability.md
  §0.1). At most ``max_concurrent_sql`` requests carrying arbitrary SQL
  (``sql=`` or ``_where=``) run at once; the next get 429 at once, with
  Retry-After. Canned queries, tables, facets and pages are never held back.
  ``registry.serve`` sets the limit in public mode (plugin config
  ``ofsted-homes``); no limit when unset.
* **Security headers** on every response (reliability.md §1.4 item 4, D7, for
  when no proxy adds them): a Content-Security-Policy that lets pages load
  nothing from other sites and be framed by none (Datasette's own pages need
  inline scripts and styles), ``nosniff``, no referrer to other sites; and
  redirects never point off-site.
"""

from urllib.parse import parse_qs

from datasette import hookimpl

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
POST_PATHS = {"/-/login", "/-/logout"}
SQL_PARAMETERS = ("sql", "_where")
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
        b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'self'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]


def is_allowed(method, path):
    return method in READ_METHODS or (method == "POST" and path in POST_PATHS)


def carries_sql(query_string):
    params = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    return any(name in params for name in SQL_PARAMETERS)


def same_origin(location):
    """A redirect target that cannot leave the site: Datasette 0.65.5 answers
    ``/\\evil.example/`` with ``Location: /\\evil.example``, which browsers
    read as ``//evil.example`` (another site)."""
    location = location.replace(b"\\", b"%5C")
    if location.startswith(b"//"):
        location = b"/" + location.lstrip(b"/")
    return location


def with_headers(send):
    async def sender(message):
        if message["type"] == "http.response.start":
            headers = [
                (name, same_origin(value) if name.lower() == b"location" else value)
                for name, value in message.get("headers", [])
            ]
            names = {name.lower() for name, _ in headers}
            extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
            message = {**message, "headers": [*headers, *extra]}
        await send(message)

    return sender


async def plain_response(send, status, text, headers=()):
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                *headers,
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


@hookimpl
def asgi_wrapper(datasette):
    limit = (datasette.plugin_config("ofsted-homes") or {}).get("max_concurrent_sql")

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
            gated = bool(limit) and carries_sql(scope.get("query_string", b""))
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
                await app(scope, receive, with_headers(send))
            finally:
                running -= gated

        return guard

    return wrap
