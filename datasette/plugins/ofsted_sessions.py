"""The inspector login: server-side sessions, a throttle, and a password check
that never holds the event loop.

Datasette's own ``ds_actor`` cookie is a signed copy of the actor: the same
on every login, valid until the secret changes, and not revoked by a logout
or a new password. Here ``ds_actor`` holds a random token (32 bytes) that
names a session kept in this process's memory, with:

* an expiry (``SESSION_SECONDS``, 8 hours; the cookie's Max-Age says the same);
* revocation by logout (``POST /-/logout`` deletes the session) and by a new
  password (a session remembers a fingerprint of the password hash it was
  opened under; a different hash ends it); a restart ends every session;
* ``HttpOnly``, ``SameSite=Strict``, and ``Secure`` behind TLS (the
  ``--behind-tls-proxy`` flag of ``ofsted-homes serve``, or an https scope).

The ``ds_actor`` cookie is taken out of the request before Datasette sees it
(its own cookie reader never runs on it) and looked up here.

``POST /-/login`` checks the password (PBKDF2, about 0.2 s of CPU) in a
worker thread, at most ``MAX_CONCURRENT_CHECKS`` at once, and throttles:

* per client address: after ``CLIENT_FAILURES`` wrong passwords in
  ``WINDOW_SECONDS`` it gets 429 until the window has passed;
* per account: after ``ACCOUNT_FAILURES`` wrong passwords in the window (from
  anywhere) the account is locked for ``WINDOW_SECONDS`` (429), which stops a
  guesser spread over many addresses at the cost of locking the inspector out
  for 15 minutes.

After a login the inspector goes back to the page that asked for it (the
form's ``next``, which ofsted_inspector.py fills in on a 403), if that is a
path on this site (``safe_next``); else to the index.

Only in inspector mode (plugin config ``ofsted-homes``, ``mode:
inspector``); in public mode there is no login and ``/-/login`` is a 404.
The password hashes are datasette-auth-passwords' (its ``…_password_hash``
settings and ``datasette hash-password``); Basic auth is never accepted
(ofsted_guard.py drops the header).
"""

import asyncio
import hashlib
import secrets
import threading
import time
from collections import deque
from http.cookies import SimpleCookie

from datasette.utils.asgi import Response
from datasette_auth_passwords.utils import hash_password, verify_password

from datasette import hookimpl

COOKIE = "ds_actor"
SCOPE_KEY = "ofsted_session_token"
SESSION_SECONDS = 8 * 3600
WINDOW_SECONDS = 15 * 60
CLIENT_FAILURES = 5
ACCOUNT_FAILURES = 20
MAX_CONCURRENT_CHECKS = 2
MAX_PASSWORD_CHARS = 1024
# Checked when the account does not exist, so that a wrong name costs the
# same time as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(8), iterations=480000)

clock = time.monotonic


def fingerprint(password_hash):
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:32]


def token_key(token):
    # Only a hash of the token is kept: a memory dump gives no cookie.
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    def __init__(self):
        self._sessions = {}
        self._lock = threading.Lock()

    def open(self, actor, password_fingerprint):
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            self._sessions[token_key(token)] = (
                actor,
                clock() + SESSION_SECONDS,
                password_fingerprint,
            )
        return token

    def actor(self, token, current_fingerprints):
        with self._lock:
            found = self._sessions.get(token_key(token))
            if found is None:
                return None
            actor, expires, password_fingerprint = found
            if clock() > expires or password_fingerprint not in current_fingerprints:
                del self._sessions[token_key(token)]
                return None
            return actor

    def close(self, token):
        with self._lock:
            return self._sessions.pop(token_key(token), None) is not None

    def __len__(self):
        return len(self._sessions)

    def _expire(self):
        now = clock()
        for key in [k for k, v in self._sessions.items() if now > v[1]]:
            del self._sessions[key]


class Throttle:
    """Failed logins per client and per account, over a sliding window."""

    def __init__(self):
        self.clients = {}
        self.accounts = {}

    @staticmethod
    def _recent(table, key):
        failures = table.get(key)
        if failures is None:
            return 0
        cutoff = clock() - WINDOW_SECONDS
        while failures and failures[0] < cutoff:
            failures.popleft()
        if not failures:
            del table[key]
            return 0
        return len(failures)

    def retry_after(self, client, account):
        """Seconds to wait, or 0 if this client may try this account now."""
        waits = []
        for table, key, most in (
            (self.clients, client, CLIENT_FAILURES),
            (self.accounts, account, ACCOUNT_FAILURES),
        ):
            if self._recent(table, key) >= most:
                waits.append(table[key][0] + WINDOW_SECONDS - clock())
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, client, account):
        now = clock()
        self.clients.setdefault(client, deque()).append(now)
        self.accounts.setdefault(account, deque()).append(now)
        # Bounded memory: drop the oldest client when flooded with addresses.
        while len(self.clients) > 100_000:
            self.clients.pop(next(iter(self.clients)))
        while len(self.accounts) > 10_000:
            self.accounts.pop(next(iter(self.accounts)))

    def succeeded(self, client):
        self.clients.pop(client, None)


class State:
    def __init__(self):
        self.sessions = Sessions()
        self.throttle = Throttle()
        self.checks_running = 0


_states = {}


def state_for(datasette):
    return _states.setdefault(id(datasette), State())


def _config(datasette):
    return datasette.plugin_config("ofsted-homes") or {}


def _inspector(datasette):
    return _config(datasette).get("mode") == "inspector"


def accounts(datasette):
    config = datasette.plugin_config("datasette-auth-passwords") or {}
    return {
        key[: -len("_password_hash")]: value
        for key, value in config.items()
        if key.endswith("_password_hash") and value
    }


def _client(request):
    client = request.scope.get("client")
    return client[0] if client else "unknown"


def safe_next(value):
    """``value`` if it is a path on this site, else None: never another site
    (``//host``, ``/\\host``, a scheme), never a control character."""
    if not value or not isinstance(value, str) or len(value) > 2000:
        return None
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value


async def _form(
    datasette, request, error=None, status=200, headers=None, next_path=None
):
    return Response.html(
        await datasette.render_template(
            "ofsted_login.html",
            {"error": error, "next": next_path or safe_next(request.args.get("next"))},
            request=request,
        ),
        status=status,
        headers=headers or {},
    )


def _set_session_cookie(response, request, datasette, token, max_age):
    secure = bool(_config(datasette).get("secure_cookies")) or (
        request.scheme == "https"
    )
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


async def login(request, datasette):
    if not _inspector(datasette):
        return Response.text("No login here: this is the public registry.\n", 404)
    if request.method != "POST":
        return await _form(datasette, request)
    state = state_for(datasette)
    form = await request.post_vars()
    next_path = safe_next(form.get("next"))
    username = (form.get("username") or "")[:100]
    password = (form.get("password") or "")[:MAX_PASSWORD_CHARS]
    client = _client(request)
    wait = state.throttle.retry_after(client, username)
    if wait:
        return await _form(
            datasette,
            request,
            f"Too many wrong passwords: try again in {wait // 60 + 1} minutes.",
            status=429,
            headers={"retry-after": str(wait)},
            next_path=next_path,
        )
    if state.checks_running >= MAX_CONCURRENT_CHECKS:
        return await _form(
            datasette,
            request,
            "Too many logins at once: try again in a few seconds.",
            status=429,
            headers={"retry-after": "2"},
            next_path=next_path,
        )
    known = accounts(datasette)
    password_hash = known.get(username)
    state.checks_running += 1
    try:
        ok = await asyncio.to_thread(_verify, password, password_hash or _DUMMY_HASH)
    finally:
        state.checks_running -= 1
    if not (ok and password_hash):
        state.throttle.failed(client, username)
        return await _form(
            datasette, request, "Invalid username or password", next_path=next_path
        )
    state.throttle.succeeded(client)
    token = state.sessions.open({"id": username}, fingerprint(password_hash))
    # Back to the page that asked for the login (a path on this site only).
    response = Response.redirect(next_path or datasette.urls.path("/"))
    _set_session_cookie(response, request, datasette, token, SESSION_SECONDS)
    return response


def _verify(password, password_hash):
    try:
        return verify_password(password, password_hash)
    except (ValueError, AssertionError):
        return False


async def logout(request, datasette):
    if not _inspector(datasette):
        return Response.text("No login here: this is the public registry.\n", 404)
    if request.method != "POST":
        if not request.actor:
            return Response.redirect(datasette.urls.instance())
        return Response.html(
            await datasette.render_template(
                ["logout.html"], {"actor": request.actor}, request=request
            )
        )
    token = request.scope.get(SCOPE_KEY)
    if token:
        state_for(datasette).sessions.close(token)
    response = Response.redirect(datasette.urls.instance())
    _set_session_cookie(response, request, datasette, "", 0)
    datasette.add_message(request, "You are now logged out", datasette.WARNING)
    return response


@hookimpl
def register_routes():
    return [
        (r"^/-/login$", login),
        (r"^/-/logout$", logout),
    ]


@hookimpl
def actor_from_request(datasette, request):
    token = request.scope.get(SCOPE_KEY)
    if not token or not _inspector(datasette):
        return None
    current = {fingerprint(h) for h in accounts(datasette).values()}
    return state_for(datasette).sessions.actor(token, current)


def take_session_cookie(scope):
    """The scope without the ``ds_actor`` cookie, its value under SCOPE_KEY."""
    headers, token = [], None
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header: keep it as it is
                headers.append((name, value))
                continue
            if COOKIE in cookie:
                token = cookie[COOKIE].value
                rest = "; ".join(
                    f"{k}={m.coded_value}" for k, m in cookie.items() if k != COOKIE
                )
                if rest:
                    headers.append((name, rest.encode("latin-1")))
                continue
        headers.append((name, value))
    return {**scope, "headers": headers, SCOPE_KEY: token}


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def sessions(scope, receive, send):
            if scope["type"] == "http":
                scope = take_session_cookie(scope)
            await app(scope, receive, send)

        return sessions

    return wrap
