"""Keep arbitrary SQL from starving the pages everyone reads.

Datasette runs every query on a small pool of threads (3 by default): 30
runaway ``?sql=`` requests queue up and a home page waits ten seconds behind
them (bench/bench_serve.py; reliability.md §0.1). This lets at most
``max_concurrent_sql`` requests carrying arbitrary SQL (``sql=`` or
``_where=``) run at once; the next ones get 429 at once with Retry-After.
Canned queries, tables, facets and pages are never held back. Set by
``registry.serve`` in public mode (plugin config ``ofsted-homes``); no limit
when unset.
"""

from urllib.parse import parse_qs

from datasette import hookimpl

SQL_PARAMETERS = ("sql", "_where")


def carries_sql(query_string):
    params = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    return any(name in params for name in SQL_PARAMETERS)


async def too_many(send):
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"retry-after", b"2"),
            ],
        }
    )
    await send(
        {
            "type": "http.response.body",
            "body": b"Too many SQL queries are running: try again in a few seconds.\n",
        }
    )


@hookimpl
def asgi_wrapper(datasette):
    limit = (datasette.plugin_config("ofsted-homes") or {}).get("max_concurrent_sql")

    def wrap(app):
        if not limit:
            return app
        running = 0

        async def gate(scope, receive, send):
            nonlocal running
            if scope["type"] != "http" or not carries_sql(
                scope.get("query_string", b"")
            ):
                await app(scope, receive, send)
                return
            if running >= limit:
                await too_many(send)
                return
            running += 1
            try:
                await app(scope, receive, send)
            finally:
                running -= 1

        return gate

    return wrap
