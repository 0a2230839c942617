"""Issue 9, items 6 and 7: the inspector login.

Item 6: password checks run in a worker thread (a page is answered while two
checks are still hashing), wrong passwords are throttled per client and per
account, and Basic auth is never accepted. Item 7: the ``ds_actor`` cookie is
a fresh random token per login, HttpOnly, SameSite, with an expiry, Secure
behind TLS, and a logout or a new password revokes it."""

from __future__ import annotations

import http.client
import re
import threading
from urllib.parse import urlencode

import pytest
from datasette_auth_passwords.utils import hash_password
from itsdangerous import URLSafeSerializer
from security.server_support import (
    PASSWORD,
    PASSWORD_ENV,
    copy_registry,
    start,
    stop,
)

CLIENT_FAILURES = 5
ACCOUNT_FAILURES = 20
PAGE = "/registry/homes.json"


def basic(user: str, password: str) -> dict:
    import base64

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_wrong_passwords_from_one_client_are_throttled(inspector_server):
    server = inspector_server
    for _ in range(CLIENT_FAILURES):
        reply = server.login("wrong", source="127.0.0.7")
        assert reply.status == 200
        assert "Invalid username or password" in reply.text
    refused = server.login("wrong", source="127.0.0.7")
    assert refused.status == 429
    assert int(refused.header("retry-after")) > 0
    assert "Too many wrong passwords" in refused.text
    # Even the right password is refused from that client now ...
    blocked = server.login(source="127.0.0.7")
    assert blocked.status == 429 and "ds_actor" not in blocked.cookies()
    # ... but not from another one.
    assert server.login(source="127.0.0.8").status == 302
    assert server.unchanged()


def test_an_account_is_locked_after_failures_from_many_clients(inspector_server):
    server = inspector_server
    for n in range(ACCOUNT_FAILURES):
        reply = server.login("wrong", source=f"127.0.1.{n + 1}")
        assert reply.status == 200, n
    locked = server.login(source="127.0.2.1")
    assert locked.status == 429
    assert "ds_actor" not in locked.cookies()
    # Another account name is not locked (and does not exist).
    other = server.login("wrong", source="127.0.2.2", user="someone")
    assert other.status == 200
    assert server.unchanged()


@pytest.fixture
def slow_hash_server(security_registry, tmp_path):
    """An inspector whose password hash takes seconds to check."""
    path = copy_registry(security_registry, tmp_path / "slow")
    slow = hash_password(PASSWORD, iterations=16_000_000)
    server = start(path, "--inspector", env={PASSWORD_ENV: slow})
    yield server
    stop(server)


def test_password_checks_do_not_hold_the_event_loop(slow_hash_server):
    server = slow_hash_server
    sent = [threading.Event(), threading.Event()]
    finished = []
    forms = []
    for n in range(2):  # each guesser opens the form first, as a browser does
        source = f"127.0.3.{n + 1}"
        page = server.get("/-/login", source=source)
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)[1]
        forms.append((source, token, page.cookies()["ds_csrftoken"]))

    def guess(n):
        source, token, csrf = forms[n]
        connection = http.client.HTTPConnection(
            server.host, server.port, timeout=120, source_address=(source, 0)
        )
        body = urlencode(
            {"username": "inspector", "password": "wrong", "csrftoken": token}
        )
        connection.request(
            "POST",
            "/-/login",
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"ds_csrftoken={csrf}",
            },
        )
        sent[n].set()
        finished.append(connection.getresponse().status)
        connection.close()

    guesses = [threading.Thread(target=guess, args=(n,)) for n in range(2)]
    for thread in guesses:
        thread.start()
    assert all(event.wait(30) for event in sent)
    # The two checks are running: a third login is refused at once ...
    third = server.login("wrong", source="127.0.4.1", user="probe")
    # ... and a page is answered before either of them finishes.
    page = server.get("/-/login")
    pending = 2 - len(finished)
    for thread in guesses:
        thread.join()
    assert third.status == 429 and "Too many logins at once" in third.text
    assert page.status == 200
    assert pending == 2
    assert finished == [200, 200]
    assert server.unchanged()


def test_basic_auth_is_never_accepted(inspector_server):
    server = inspector_server
    right = server.get(PAGE, headers=basic("inspector", PASSWORD))
    assert right.status == 403
    wrong = server.get(PAGE, headers=basic("inspector", "wrong"))
    assert wrong.status == 403
    garbage = server.get(PAGE, headers={"Authorization": "Basic %%%"})
    assert garbage.status == 403
    # Control: the form login opens the page.
    login = server.login()
    assert server.get(PAGE, cookies=login.cookies()).status == 200
    assert server.unchanged()


def cookie_line(reply) -> str:
    (line,) = [
        v for v in reply.headers.get_all("set-cookie") if v.startswith("ds_actor=")
    ]
    return line


def test_session_cookie_is_fresh_httponly_samesite_and_expires(inspector_server):
    server = inspector_server
    first, second = server.login(), server.login()
    assert first.status == second.status == 302
    a, b = first.cookies()["ds_actor"], second.cookies()["ds_actor"]
    assert a != b and len(a) >= 40
    attributes = [p.strip().lower() for p in cookie_line(first).split(";")[1:]]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "max-age=28800" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain HTTP on loopback
    # Both sessions work; a made-up token does not.
    assert server.get(PAGE, cookies={"ds_actor": a}).status == 200
    assert server.get(PAGE, cookies={"ds_actor": b}).status == 200
    assert server.get(PAGE, cookies={"ds_actor": a[:-2] + "xx"}).status == 403
    assert server.unchanged()


def test_cookie_is_secure_behind_a_tls_proxy(security_registry, tmp_path):
    path = copy_registry(security_registry, tmp_path)
    server = start(
        path,
        "--inspector",
        "--behind-tls-proxy",
        env={PASSWORD_ENV: hash_password(PASSWORD)},
    )
    try:
        login = server.login()
        assert login.status == 302
        assert "secure" in [
            p.strip().lower() for p in cookie_line(login).split(";")[1:]
        ]
        assert server.unchanged()
    finally:
        stop(server)


def test_logout_revokes_the_session(inspector_server):
    server = inspector_server
    cookie = server.login().cookies()
    other = server.login().cookies()
    assert server.get(PAGE, cookies=cookie).status == 200
    out = server.post_form("/-/logout", {}, cookies=cookie)
    assert out.status == 302
    assert out.cookies()["ds_actor"] in ("", '""')
    # The old cookie, replayed, opens nothing; another session is untouched.
    assert server.get(PAGE, cookies=cookie).status == 403
    assert server.get(PAGE, cookies=other).status == 200
    assert server.unchanged()


def test_a_new_password_revokes_sessions_and_forged_cookies_fail(
    security_registry, tmp_path
):
    """With a stable DATASETTE_SECRET (so signed cookies would survive a
    restart), a restart with a new password hash ends every session, and a
    cookie signed the way Datasette signs ``ds_actor`` opens nothing."""
    path = copy_registry(security_registry, tmp_path)
    secret = "a-stable-secret-for-the-test"
    env = {PASSWORD_ENV: hash_password(PASSWORD), "DATASETTE_SECRET": secret}
    server = start(path, "--inspector", env=env)
    try:
        cookie = server.login().cookies()
        assert server.get(PAGE, cookies=cookie).status == 200
    finally:
        stop(server)
    new = {**env, PASSWORD_ENV: hash_password("a new password")}
    server = start(path, "--inspector", env=new)
    try:
        assert server.get(PAGE, cookies=cookie).status == 403
        forged = URLSafeSerializer(secret, "actor").dumps({"a": {"id": "inspector"}})
        assert server.get(PAGE, cookies={"ds_actor": forged}).status == 403
        assert server.login().status == 200  # the old password is refused
        assert server.login("a new password").status == 302
        assert server.unchanged()
    finally:
        stop(server)


async def test_a_password_change_in_process_ends_open_sessions(
    security_registry, tmp_path, monkeypatch
):
    """Sessions remember the password hash they were opened under."""
    import re

    from registry.publish.serve import make_datasette

    monkeypatch.setenv(PASSWORD_ENV, hash_password(PASSWORD))
    ds = make_datasette(copy_registry(security_registry, tmp_path), inspector=True)
    form = await ds.client.get("/-/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)[1]
    login = await ds.client.post(
        "/-/login",
        data={"username": "inspector", "password": PASSWORD, "csrftoken": token},
        cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]},
    )
    cookie = {"ds_actor": login.cookies["ds_actor"]}
    assert (await ds.client.get(PAGE, cookies=cookie)).status_code == 200
    monkeypatch.setenv(PASSWORD_ENV, hash_password("changed"))
    assert (await ds.client.get(PAGE, cookies=cookie)).status_code == 403
