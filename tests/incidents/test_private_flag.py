"""flagged_homes_private: in inspector mode, the flag of flagged_homes computed
with the private database's counts as well (Datasette's crossdb ``_memory``
database). The real ``registry.publish.serve`` app answers, after a real login; public
mode has neither the query nor cross-database SQL."""

from __future__ import annotations

import pytest
from datasette_auth_passwords.utils import hash_password
from inspector_support import inspector_cookies

from registry.errors import RegistryError
from registry.publish.queries import private_flag_sql, split_ctes
from registry.publish.serve import (
    PASSWORD_HASH_ENV,
    PRIVATE_FLAG_QUERY,
    datasette_options,
    make_datasette,
)

PASSWORD = "private flag password"
PARAMS = "min_incidents=10&months=24"
PRIVATE_SOURCE = "Annex A PRIVATE-FLAG-ZQX"


@pytest.fixture
def flag_paths(tmp_path, kit):
    """Public evidence flags SC100001 (14 FOI incidents). Private Annex A counts
    flag SC100002 (private only) and 1000008 (public 6, private 40), add a
    private 3 at SC100009 (below the threshold) and 88 at SC100006 (Requires
    improvement: never flagged)."""
    return kit.build_with_private(
        tmp_path,
        [["SC100001", "2022/23", "14"], ["1000008", "2021/22", "6"]],
        [
            ["SC100002", "2022/23", "23"],
            ["1000008", "2021/22", "40"],
            ["SC100009", "2022/23", "3"],
            ["SC100006", "2022/23", "88"],
        ],
        PRIVATE_SOURCE,
    )


@pytest.fixture
def inspector(flag_paths, monkeypatch):
    monkeypatch.setenv(PASSWORD_HASH_ENV, hash_password(PASSWORD))
    registry_path, private_path = flag_paths
    return make_datasette(
        registry_path, inspector=True, private_db=private_path, secret="flag"
    )


async def login(ds) -> dict:
    return await inspector_cookies(ds, PASSWORD)


async def rows_of(ds, path, cookies=None):
    response = await ds.client.get(
        f"{path}.json?{PARAMS}&_shape=array", cookies=cookies
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_inspector_flag_uses_the_private_counts(inspector):
    cookies = await login(inspector)
    rows = await rows_of(inspector, f"/_memory/{PRIVATE_FLAG_QUERY}", cookies)
    assert [(r["urn"], r["incidents"], r["imported_from"]) for r in rows] == [
        ("1000008", 40, "private database"),
        ("SC100002", 23, "private database"),
        ("SC100001", 14, "public registry"),
    ]
    by_urn = {r["urn"]: r for r in rows}
    assert by_urn["SC100002"]["imported_source"] == PRIVATE_SOURCE
    assert by_urn["1000008"]["private_incidents"] == 40
    assert by_urn["1000008"]["imported_sources_and_kinds"] == 2  # public 6 too
    assert by_urn["SC100001"]["private_incidents"] is None
    assert by_urn["SC100001"]["imported_source"] == "Public FOI"
    # Every home with a public or private count is ranked (SC100009, SC100006 too).
    assert {r["homes_ranked"] for r in rows} == {5}
    assert {r["homes_with_evidence"] for r in rows} == {5}

    # The public flag, in the same server, sees none of the private evidence.
    public_flag = await rows_of(inspector, "/registry/flagged_homes", cookies)
    assert [r["urn"] for r in public_flag] == ["SC100001"]
    assert {r["homes_with_evidence"] for r in public_flag} == {2}

    # The page: plain-English title and description, links to the homes.
    page = await inspector.client.get(
        f"/_memory/{PRIVATE_FLAG_QUERY}?{PARAMS}", cookies=cookies
    )
    assert page.status_code == 200
    assert "with private evidence (inspectors only)" in page.text
    assert "never publish this page" in page.text
    assert 'href="/home/SC100002"' in page.text


async def test_inspector_flag_needs_the_login(inspector):
    for url in (
        f"/_memory/{PRIVATE_FLAG_QUERY}.json?{PARAMS}",
        f"/_memory/{PRIVATE_FLAG_QUERY}?{PARAMS}",
        "/_memory.json?sql=select+*+from+%22registry.private%22.incident_counts",
    ):
        response = await inspector.client.get(url)
        assert response.status_code == 403, url
        assert PRIVATE_SOURCE not in response.text


async def test_without_private_counts_it_is_flagged_homes(inspector, kit):
    """Same SQL logic: on a private database with no matched counts the two
    queries return the same rows (the extra columns aside)."""
    cookies = await login(inspector)
    sql = private_flag_sql("registry", "registry", kit.canned_sql("flagged_homes"))
    # "registry" twice: the public counts unioned with themselves are the same
    # maxima, so the rows must equal flagged_homes'.
    response = await inspector.client.get(
        "/_memory.json",
        params={"sql": sql, "min_incidents": "1", "months": "600", "_shape": "array"},
        cookies=cookies,
    )
    assert response.status_code == 200, response.text
    public = await inspector.client.get(
        "/registry/flagged_homes.json?min_incidents=1&months=600&_shape=array",
        cookies=cookies,
    )
    extra = {"imported_from", "private_incidents", "imported_sources_and_kinds"}
    unioned, expected = (
        [{k: v for k, v in r.items() if k not in extra} for r in rows]
        for rows in (response.json(), public.json())
    )
    assert len(expected) == 2 and unioned == expected
    # Each public source now also counts once as a "private" copy.
    assert [r["imported_sources_and_kinds"] for r in response.json()] == [
        2 * r["imported_sources_and_kinds"] for r in public.json()
    ]


async def test_public_mode_has_no_private_flag(flag_paths):
    registry_path, private_path = flag_paths
    options = datasette_options(registry_path)
    assert options["crossdb"] is False
    assert "_memory" not in options["metadata"]["databases"]
    ds = make_datasette(registry_path)
    assert [d for d in ds.databases if not d.startswith("_")] == ["registry"]
    assert "_memory" not in ds.databases
    for url, statuses in (
        (f"/_memory/{PRIVATE_FLAG_QUERY}?{PARAMS}", {403, 404}),
        (f"/_memory/{PRIVATE_FLAG_QUERY}.json?{PARAMS}", {403, 404}),
        (f"/registry/{PRIVATE_FLAG_QUERY}?{PARAMS}", {403, 404}),
        (f"/registry/{PRIVATE_FLAG_QUERY}.json?{PARAMS}", {403, 404}),
        ("/_memory.json?sql=select+1", {403, 404}),
    ):
        response = await ds.client.get(url)
        assert response.status_code in statuses, (url, response.status_code)
        assert PRIVATE_SOURCE not in response.text
    for url in ("/registry", "/-/metadata.json", "/", "/registry/flagged_homes"):
        response = await ds.client.get(url)
        assert response.status_code == 200
        assert PRIVATE_FLAG_QUERY not in response.text
        assert PRIVATE_SOURCE not in response.text
    flagged = await ds.client.get(f"/registry/flagged_homes.json?{PARAMS}&_shape=array")
    assert [r["urn"] for r in flagged.json()] == ["SC100001"]
    assert "40" not in {str(r["incidents"]) for r in flagged.json()}
    with pytest.raises(RegistryError, match="inspector"):
        datasette_options(registry_path, private_db=private_path)


def test_the_private_flag_is_flagged_homes_own_parts(kit):
    """Composed, not edited: every common table expression of flagged_homes
    but its evidence counts is in the private query word for word, and only
    the final select differs (every column of ``flagged``)."""
    public = kit.canned_sql("flagged_homes")
    public_ctes, public_final = split_ctes(public)
    private_ctes, private_final = split_ctes(private_flag_sql("r", "p", public))
    assert [n for n, _ in private_ctes] == [n for n, _ in public_ctes]
    changed = [
        name
        for (name, a), (_, b) in zip(public_ctes, private_ctes, strict=True)
        if a != b
    ]
    assert changed == ["evidence_counts"]
    counts = dict(private_ctes)["evidence_counts"]
    assert '"r".incident_counts' in counts and '"p".incident_counts' in counts
    assert private_final.startswith("select * from flagged")
    assert public_final != private_final


def test_a_flagged_homes_without_its_parts_fails_loudly(kit):
    sql = kit.canned_sql("flagged_homes")
    with pytest.raises(RegistryError, match="evidence_counts"):
        private_flag_sql("r", "p", sql.replace("evidence_counts", "counts"))
    with pytest.raises(RegistryError, match="WITH query"):
        private_flag_sql("r", "p", "select 1")
