"""Refuse every request that is not a read, before Datasette sees it.

The registry is published read-only, so nothing but the login form ever needs
a POST. Datasette 0.65.5 answers a POST to a table or a read-only canned query
with a 500 (an assertion, a tuple returned as a response): this answers 405.
"""

from datasette import hookimpl

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
POST_PATHS = {"/-/login", "/-/logout"}


def is_allowed(method, path):
    return method in READ_METHODS or (method == "POST" and path in POST_PATHS)


@hookimpl
def asgi_wrapper():
    def wrap(app):
        async def read_only(scope, receive, send):
            if scope["type"] == "http" and not is_allowed(
                scope["method"], scope["path"]
            ):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 405,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"allow", b"GET, HEAD, OPTIONS"),
                        ],
                    }
                )
                await send(
                    {
                        "type": "http.response.body",
                        "body": b"Method not allowed: this registry is read-only\n",
                    }
                )
                return
            await app(scope, receive, send)

        return read_only

    return wrap
