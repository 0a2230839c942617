"""Refuse every request that is not a read, before Datasette sees it, and add
security headers to every response.

The registry is published read-only, so nothing but the login form ever needs
a POST. Datasette 0.65.5 answers a POST to a table or a read-only canned query
with a 500 (an assertion, a tuple returned as a response): this answers 405.

Headers (reliability.md §1.4 item 4, D7, for when no proxy adds them): a
Content-Security-Policy that lets pages load nothing from other sites and be
framed by none (Datasette's own pages need inline scripts and styles),
``nosniff`` and no referrer to other sites. Redirects never point off-site.
"""

from datasette import hookimpl

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
POST_PATHS = {"/-/login", "/-/logout"}
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
            await app(scope, receive, with_headers(send))

        return read_only

    return wrap
