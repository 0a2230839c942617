"""Issue 11, item 10 and the security leftovers, on a real server: the way in
for an inspector (an anonymous page gets the login form, which brings them
back to that page; JSON gets a JSON error), no "Log in" on the public
registry, no ``/-/threads`` or ``/-/plugins`` there, and ``_trace=1`` never
turns a response into a debug page."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

LOGIN_ITEM = re.compile(r'<a href="/-/login">Log in</a>')


def post_login(server, page, *, next_path=None, password=None, csrf=None):
    """The login form as the page carries it: its CSRF token, its ``next``
    (``csrf``: the browser's CSRF cookie, when the page set none)."""
    from security.server_support import PASSWORD

    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)[1]
    csrf = csrf or page.cookies()["ds_csrftoken"]
    form = {"username": "inspector", "password": password or PASSWORD}
    form["csrftoken"] = token
    carried = re.search(r'name="next" value="([^"]*)"', page.text)
    if next_path is not None:
        form["next"] = next_path
    elif carried:
        form["next"] = carried[1].replace("&amp;", "&")
    return server.request(
        "POST",
        "/-/login",
        body=urlencode(form).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies={"ds_csrftoken": csrf},
    )


# ------------------------------------------------- (b) inspector: the way in


@pytest.mark.parametrize(
    "path",
    ["/", "/home/SC100001", "/registry/homes?sector=Private&_sort=urn", "/overview"],
)
def test_an_anonymous_page_gets_the_login_and_comes_back(inspector_server, path):
    server = inspector_server
    page = server.get(path)
    assert page.status == 403
    assert page.header("content-type").startswith("text/html")
    assert 'action="/-/login"' in page.text and 'name="password"' in page.text
    assert "log in to see this page" in page.text
    # nothing of the page itself
    assert "Rating timeline" not in page.text and "<table" not in page.text
    login = post_login(server, page)
    assert login.status == 302
    assert login.header("location") == path
    opened = server.get(path, cookies={"ds_actor": login.cookies()["ds_actor"]})
    assert opened.status == 200
    assert server.unchanged()


def test_anonymous_json_gets_a_json_error_and_csv_a_line(inspector_server):
    server = inspector_server
    reply = server.get("/registry/homes.json")
    assert reply.status == 403
    assert reply.header("content-type").startswith("application/json")
    body = json.loads(reply.text)
    assert body["ok"] is False and body["status"] == 403
    assert body["login"] == "/-/login" and "Log in" in body["error"]
    assert "SC100001" not in reply.text
    csv = server.get("/registry/homes.csv")
    assert csv.status == 403 and csv.header("content-type").startswith("text/plain")
    assert "SC100001" not in csv.text and "/-/login" in csv.text


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "evil.example",
        "/home/SC100001\r\nSet-Cookie: x=1",
    ],
)
def test_the_login_never_sends_anyone_off_the_site(inspector_server, next_path):
    server = inspector_server
    page = server.get("/-/login")
    login = post_login(server, page, next_path=next_path)
    assert login.status == 302
    assert login.header("location") == "/"
    assert "x" not in login.cookies()


def test_a_wrong_password_keeps_the_way_back(inspector_server):
    server = inspector_server
    page = server.get("/home/SC100001")
    wrong = post_login(server, page, password="wrong")
    assert wrong.status == 200 and "Invalid username or password" in wrong.text
    assert 'name="next" value="/home/SC100001"' in wrong.text
    right = post_login(server, wrong, csrf=page.cookies()["ds_csrftoken"])
    assert right.status == 302 and right.header("location") == "/home/SC100001"


# ------------------------------------------------------ (c) the menu's items


def test_public_mode_has_no_log_in_item(public_server):
    for path in ("/", "/registry/homes", "/home/SC100001", "/search"):
        page = public_server.get(path)
        assert page.status == 200, path
        assert not LOGIN_ITEM.search(page.text), path
        assert 'href="/overview"' in page.text  # the menu is there
    assert public_server.get("/-/login").status == 404


def test_inspector_menu_has_log_in_then_log_out(inspector_server):
    server = inspector_server
    anonymous = server.get("/")
    assert LOGIN_ITEM.search(anonymous.text)
    login = post_login(server, server.get("/-/login"))
    page = server.get("/", cookies={"ds_actor": login.cookies()["ds_actor"]})
    assert page.status == 200
    assert not LOGIN_ITEM.search(page.text)
    assert '<a href="/-/logout">Log out</a>' in page.text


# --------------------------------------------- (f) the server's insides, _trace


@pytest.mark.parametrize(
    "path",
    [
        "/-/threads",
        "/-/threads.json",
        "/-/plugins",
        "/-/plugins.json",
        "/-/password-tool",
    ],
)
def test_public_mode_refuses_threads_and_plugins(public_server, path):
    reply = public_server.get(path)
    assert reply.status == 404
    assert "datasette-auth-passwords" not in reply.text
    assert "ofsted_guard" not in reply.text and "num_threads" not in reply.text


def test_public_mode_keeps_settings(public_server):
    reply = public_server.get("/-/settings.json")
    assert reply.status == 200
    assert json.loads(reply.text)["sql_time_limit_ms"] == 1000


def test_an_inspector_still_sees_threads_and_plugins(inspector_server):
    server = inspector_server
    login = post_login(server, server.get("/-/login"))
    cookies = {"ds_actor": login.cookies()["ds_actor"]}
    assert server.get("/-/threads.json", cookies=cookies).status == 200
    plugins = server.get("/-/plugins.json", cookies=cookies)
    assert plugins.status == 200 and "ofsted_guard.py" in plugins.text


def test_trace_gives_no_debug_page(public_server):
    csv = public_server.get("/registry/homes.csv?_trace=1")
    assert csv.status == 200
    assert csv.header("content-type").startswith("text/plain")
    assert "CSV debug" not in csv.text and "<textarea" not in csv.text
    assert csv.text.startswith("urn,")
    assert csv.text == public_server.get("/registry/homes.csv").text
    page = public_server.get("/registry/homes?_trace=1")
    assert page.status == 200 and "num_traces" not in page.text
    data = public_server.get("/registry/homes.json?_trace=1")
    assert "_trace" not in json.loads(data.text)
