"""Issue 11, item 10: what inspector mode shows of the private database, and
where. A logged-in inspector finds flagged_homes_private from the menu, the
index and the flagged_homes page, and a home's page shows the private
database's counts for that home, marked private. Public mode shows none of
it (tests/incidents/test_private_never_public.py crawls every public page)."""

from __future__ import annotations

import re

import pytest
from datasette_auth_passwords.utils import hash_password
from inspector_support import inspector_cookies

from registry.publish.serve import PASSWORD_HASH_ENV, make_datasette

PASSWORD = "inspector pages password"
PRIVATE_SOURCE = "Annex A PRIVATE-PAGES-ZQX"
PRIVATE_FLAG = "/_memory/flagged_homes_private"


@pytest.fixture
def paths(tmp_path, kit):
    """Public FOI counts for SC100001; private Annex A counts for SC100002
    (only private) and SC100001 (public and private)."""
    return kit.build_with_private(
        tmp_path,
        [["SC100001", "2022/23", "14"]],
        [["SC100002", "2022/23", "23"], ["SC100001", "2021/22", "3"]],
        PRIVATE_SOURCE,
    )


@pytest.fixture
def inspector(paths, monkeypatch):
    monkeypatch.setenv(PASSWORD_HASH_ENV, hash_password(PASSWORD))
    registry_path, private_path = paths
    return make_datasette(
        registry_path, inspector=True, private_db=private_path, secret="pages"
    )


async def login(ds) -> dict:
    return await inspector_cookies(ds, PASSWORD)


def private_section(html: str) -> str:
    found = re.search(r'<section class="ofsted-private">(.*?)</section>', html, re.S)
    return found[1] if found else ""


async def test_an_inspector_finds_the_private_flag(inspector):
    cookies = await login(inspector)
    index = await inspector.client.get("/", cookies=cookies)
    flagged = await inspector.client.get(
        "/registry/flagged_homes?min_incidents=5&months=24", cookies=cookies
    )
    for page in (index, flagged):
        assert page.status_code == 200
        assert f'href="{PRIVATE_FLAG}"' in page.text
        assert "never publish it" in page.text
    # the link is in the menu of every page, and it leads to the query
    home = await inspector.client.get("/home/SC100002", cookies=cookies)
    assert f'<a href="{PRIVATE_FLAG}">' in home.text
    target = await inspector.client.get(
        PRIVATE_FLAG + "?min_incidents=5&months=24", cookies=cookies
    )
    assert target.status_code == 200
    assert "SC100002" in target.text  # flagged on private evidence alone


async def test_no_private_flag_link_without_a_private_database(paths, monkeypatch, kit):
    monkeypatch.setenv(PASSWORD_HASH_ENV, hash_password(PASSWORD))
    ds = make_datasette(paths[0], inspector=True, secret="pages")
    cookies = await login(ds)
    index = await ds.client.get("/", cookies=cookies)
    assert index.status_code == 200
    assert "flagged_homes_private" not in index.text


async def test_a_home_page_shows_the_private_counts_marked_private(inspector):
    cookies = await login(inspector)
    only_private = await inspector.client.get("/home/SC100002", cookies=cookies)
    assert only_private.status_code == 200
    section = private_section(only_private.text)
    assert "Private counts for this home (inspectors only)" in section
    assert "registry.private" in section and "never publish them" in section
    assert PRIVATE_SOURCE in section and ">23<" in section
    # the public section says there is none published, and points below
    assert "No per-home counts have been published" in only_private.text
    assert "the private database holds 1, below" in only_private.text
    assert "No per-home counts have been disclosed" not in only_private.text
    both = await inspector.client.get("/home/SC100001", cookies=cookies)
    section = private_section(both.text)
    assert PRIVATE_SOURCE in section and ">3<" in section  # unsuppressed
    assert "Public FOI" not in section  # the public count stays in its section
    assert "Public FOI" in both.text
    none = await inspector.client.get("/home/1000003", cookies=cookies)
    assert not private_section(none.text)
    assert "No per-home counts have been disclosed" in none.text


async def test_public_mode_shows_no_private_section_or_link(paths):
    ds = make_datasette(paths[0])
    for path in (
        "/",
        "/home/SC100001",
        "/home/SC100002",
        "/registry/flagged_homes?min_incidents=0&months=600",
    ):
        page = await ds.client.get(path)
        assert page.status_code == 200, path
        assert PRIVATE_SOURCE not in page.text
        assert "flagged_homes_private" not in page.text
        assert 'class="ofsted-private' not in page.text
