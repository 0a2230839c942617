"""Issue 9, items 8 and 9: the inspector does not listen beyond loopback over
plain HTTP, and SQLite's ``fts3_tokenizer`` is refused on every connection."""

from __future__ import annotations

import json

import pytest
from security.server_support import (
    PASSWORD_ENV,
    copy_registry,
    free_port,
    run_serve,
    sha256,
    start,
    stop,
)

# ---------------------------------------------------------------- item 8


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.org"])
def test_inspector_refuses_a_public_host_without_tls(
    security_registry, tmp_path, password_hash, host
):
    path = copy_registry(security_registry, tmp_path)
    before = sha256(path)
    result = run_serve(
        path, "--inspector", "--host", host, env={PASSWORD_ENV: password_hash}
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: --inspector --host {host}: ")
    assert "plain HTTP" in line and "--behind-tls-proxy" in line
    assert sha256(path) == before


def test_inspector_listens_beyond_loopback_only_behind_tls(
    security_registry, tmp_path, password_hash
):
    path = copy_registry(security_registry, tmp_path)
    server = start(
        path,
        "--inspector",
        "--host",
        "0.0.0.0",
        "--behind-tls-proxy",
        env={PASSWORD_ENV: password_hash},
    )
    try:
        assert server.get("/registry/homes.json").status == 403
        assert server.login().status == 302
        assert server.unchanged()
    finally:
        stop(server)


def test_public_mode_may_listen_anywhere(security_registry, tmp_path):
    path = copy_registry(security_registry, tmp_path)
    server = start(path, "--host", "0.0.0.0")
    try:
        assert server.get("/registry/homes.json").status == 200
        assert server.unchanged()
    finally:
        stop(server)


def test_loopback_names_are_loopback():
    from registry.publish.serve import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "127.5.5.5"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "x.org"))
    assert free_port() > 0


# ---------------------------------------------------------------- item 9

TOKENIZER_ATTACKS = [
    "select hex(fts3_tokenizer('simple'))",
    "select fts3_tokenizer('simple', x'0000000000000000')",
    "select fts3_tokenizer('evil', fts3_tokenizer('simple'))",
    "select * from (select hex(fts3_tokenizer('porter')) as p)",
    "with t(p) as (select fts3_tokenizer('unicode61')) select hex(p) from t",
    "select hex(FTS3_TOKENIZER('simple'))",
    "select load_extension('/tmp/evil.so')",
]


def assert_refused(reply):
    assert reply.status == 400, reply.text[:200]
    body = json.loads(reply.body)
    assert body["ok"] is False
    assert "not authorized" in body["error"]
    assert body.get("rows") in (None, [])


@pytest.mark.parametrize("sql", TOKENIZER_ATTACKS)
def test_fts3_tokenizer_is_refused_in_public_mode(public_server, sql):
    assert_refused(public_server.sql(sql))
    # The full-text search that needs the tokenizers still works.
    search = public_server.get(
        "/registry/search_reports.json", params={"q": "occasions", "_shape": "array"}
    )
    assert search.status == 200 and len(json.loads(search.body)) == 2
    assert public_server.unchanged()


def test_fts3_tokenizer_is_refused_in_inspector_mode(inspector_server):
    server = inspector_server
    cookie = server.login().cookies()
    for sql in TOKENIZER_ATTACKS:
        assert_refused(server.sql(sql, cookies=cookie))
        # and from the cross-database connection (_memory) as well
        assert_refused(server.get("/_memory.json", params={"sql": sql}, cookies=cookie))
    allowed = server.sql("select 1 as one", cookies=cookie, _shape="array")
    assert json.loads(allowed.body) == [{"one": 1}]
    assert server.unchanged()
