"""Issue 9, the minor items: no file paths or compile options in public mode,
no Host header reflected into links, 400 (not 500) for a bad ``_sort`` or
``_through``, and a Content-Security-Policy without ``'unsafe-inline'``
scripts that every page keeps to."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from security.server_support import copy_registry, start, stop


@pytest.mark.parametrize("path", ["/-/databases.json", "/-/databases"])
def test_databases_show_no_file_path(public_server, path):
    reply = public_server.get(path)
    assert reply.status == 200
    assert str(public_server.db_path) not in reply.text
    assert str(public_server.db_path.parent) not in reply.text
    assert '"path"' not in reply.text and "&#34;path&#34;" not in reply.text
    if path.endswith(".json"):
        (database,) = json.loads(reply.body)
        assert database["name"] == "registry" and database["is_mutable"] is False
    assert public_server.unchanged()


@pytest.mark.parametrize("path", ["/-/versions.json", "/-/versions"])
def test_versions_show_no_compile_options(public_server, path):
    reply = public_server.get(path)
    assert reply.status == 200
    assert "compile_options" not in reply.text
    assert "ENABLE_FTS3" not in reply.text and "THREADSAFE" not in reply.text
    if path.endswith(".json"):
        assert json.loads(reply.body)["sqlite"]["version"]
    assert public_server.unchanged()


def test_inspector_still_sees_paths_and_options(inspector_server):
    cookie = inspector_server.login().cookies()
    databases = inspector_server.get("/-/databases.json", cookies=cookie)
    assert str(inspector_server.db_path) in databases.text
    versions = json.loads(inspector_server.get("/-/versions.json", cookies=cookie).body)
    assert versions["sqlite"]["compile_options"]


EVIL = "evil.example"


@pytest.mark.parametrize(
    "path",
    [
        "/registry/homes.json?_size=2",
        "/registry/homes?_size=2",
        "/registry/inspections.json?_size=2&_shape=objects",
        "/registry/homes.csv?_size=2&_labels=on",
    ],
)
def test_host_header_is_not_reflected(public_server, path):
    reply = public_server.get(path, headers={"Host": EVIL})
    assert reply.status == 200
    assert EVIL not in (reply.header("link") or "")
    assert EVIL not in reply.text
    if path.split("?")[0].endswith(".json"):
        body = json.loads(reply.body)
        assert body["next_url"].startswith("/registry/")
        assert "_next=" in body["next_url"]
        assert reply.header("link").startswith("</registry/")
    assert public_server.unchanged()


def test_a_configured_public_url_makes_links_absolute(security_registry, tmp_path):
    path = copy_registry(security_registry, tmp_path)
    server = start(path, "--public-url", "https://registry.example.org/")
    try:
        reply = server.get("/registry/homes.json?_size=2", headers={"Host": EVIL})
        next_url = json.loads(reply.body)["next_url"]
        assert next_url.startswith("https://registry.example.org/registry/homes.json?")
        assert reply.header("link").startswith("<https://registry.example.org/")
        assert EVIL not in reply.text
        assert server.unchanged()
    finally:
        stop(server)


@pytest.mark.parametrize(
    "query",
    [
        "_sort=nope",
        "_sort_desc=nope",
        "_sort=urn)%20desc--",
        "_through=nope",
        "_through=%7B%22table%22%3A%22x%22%7D",
        "_through=%5B1%2C2%5D",
        "_through=%7B%22table%22%3A1%2C%22column%22%3A2%2C%22value%22%3A3%7D",
    ],
)
@pytest.mark.parametrize("fmt", ["", ".json"])
def test_bad_sort_or_through_is_a_400(public_server, query, fmt):
    reply = public_server.get(f"/registry/homes{fmt}?{query}")
    assert reply.status == 400, reply.text[:200]
    assert "Traceback" not in reply.text
    assert public_server.unchanged()


def test_a_through_naming_no_table_is_not_a_500(public_server):
    through = json.dumps({"table": "nope", "column": "urn", "value": "SC100001"})
    reply = public_server.get("/registry/homes.json", params={"_through": through})
    assert reply.status == 400, reply.text[:200]
    good = json.dumps({"table": "inspections", "column": "urn", "value": "x"})
    assert public_server.get(
        "/registry/homes.json", params={"_through": good}
    ).status in (200, 400)


# ---------------------------------------------------------------- the CSP


class Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self._in: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [name for name in attributes if name.startswith("on")]
        # A JSON data block is not run: the CSP does not apply to it.
        if (
            tag == "script"
            and "src" not in attributes
            and attributes.get("type") != "application/json"
        ):
            self._in = attributes
            self.inline.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self.inline[-1] += data


def csp_hashes(csp: str) -> set[str]:
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    return set(re.findall(r"'sha256-([^']+)'", script_src))


PAGES = [
    "/",
    "/registry",
    "/registry/homes",
    "/registry/homes?_facet=la_code",
    "/registry/homes/SC100001",
    "/registry?sql=select+1",
    "/registry/flagged_homes",
    "/home/SC100001",
    "/owner/sunrise-care-ltd",
    "/la/E06000001",
    "/overview",
    "/search?q=missing",
    "/-/databases",
    "/nope",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_inline_script_is_allowed_by_hash(public_server, path):
    reply = public_server.get(path)
    assert reply.status in (200, 404)
    allowed = csp_hashes(reply.header("content-security-policy"))
    parser = Scripts()
    parser.feed(reply.text)
    assert parser.handlers == []
    for script in parser.inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert digest in allowed, (path, script[:80])
    assert public_server.unchanged()


def test_login_and_logout_pages_keep_to_the_csp(inspector_server):
    for path in ("/-/login",):
        reply = inspector_server.get(path)
        parser = Scripts()
        parser.feed(reply.text)
        allowed = csp_hashes(reply.header("content-security-policy"))
        assert all(
            base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() in allowed
            for s in parser.inline
        )
