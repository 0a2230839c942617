"""A --private load never appears in any public page, JSON or CSV: the real
``registry.publish.serve`` app is crawled page by page. The same crawl in inspector
mode finds the private figures, so the test can fail."""

from __future__ import annotations

import pytest

from registry.incidents.incidents import load_incidents, open_private
from registry.incidents.reviews import decide, open_reviews

MARKERS = ("PRIVATE-ANNEX-A-ZQX", "7777", "Zebedee Secret Care")


@pytest.fixture
def published(tmp_path, kit):
    registry = kit.build_registry(tmp_path / "registry.db")
    public = kit.write_csv(
        tmp_path / "public-foi.csv",
        [
            ["URN", "Year", "Incidents"],
            ["SC100001", "2022", "12"],
            ["1000005", "2022", "6"],
        ],
    )
    load_incidents(registry, public, source_name="Public FOI", licence="OGL v3.0")
    private_path = tmp_path / "registry.private.db"
    private = open_private(private_path)
    secret = kit.write_csv(
        tmp_path / "annex-a.csv",
        [
            ["URN", "Provider", "Local authority", "Places", "Period", "Incidents"],
            ["SC100001", "", "", "", "2022/23", "7777"],
            ["", "Zebedee Secret Care Ltd", "Birmingham", "6", "2022/23", "31"],
            ["", "Safe Haven Residential Ltd", "Birmingham", "6", "2022/23", "19"],
        ],
    )
    load_incidents(registry, secret, source_name=MARKERS[0], private_db=private)
    (review,) = open_reviews(private)
    decide(private, review["row_key"], "1000007", "accept", note=MARKERS[0])
    urns = [r["urn"] for r in registry.query("select urn from homes")]
    owners = [r["id"] for r in registry.query("select id from owners")]
    las = [
        r["la_code"] for r in registry.query("select la_code from local_authorities")
    ]
    tables = registry.table_names() + registry.view_names()
    registry.conn.close()
    private.conn.close()
    return tmp_path / "registry.db", private_path, urns, owners, las, tables


def public_urls(ds, urns, owners, las, tables):
    queries = ds.metadata()["databases"]["registry"]["queries"]
    urls = [
        "/",
        "/.json",
        "/registry",
        "/registry.json",
        "/-/metadata.json",
        "/-/databases.json",
        "/overview",
    ]
    for table in tables:
        urls += [
            f"/registry/{table}",
            f"/registry/{table}.json?_shape=array&_size=max",
            f"/registry/{table}.csv?_size=max",
        ]
    params = "min_incidents=0&months=600"
    for query in queries:
        urls += [
            f"/registry/{query}?{params}",
            f"/registry/{query}.json?{params}&_shape=array",
            f"/registry/{query}.csv?{params}",
        ]
    urls += (
        [f"/home/{u}" for u in urns]
        + [f"/owner/{o}" for o in owners]
        + [f"/la/{c}" for c in las]
    )
    urls += [
        "/registry.json?sql=select+*+from+incident_counts",
        "/registry~2Eprivate",
        "/registry~2Eprivate/incident_counts.json",
    ]
    return urls


async def test_private_load_is_on_no_public_page(published):
    from registry.publish.serve import make_datasette

    registry_path, _, urns, owners, las, tables = published
    ds = make_datasette(registry_path)
    assert [d for d in ds.databases if not d.startswith("_")] == ["registry"]
    urls = public_urls(ds, urns, owners, las, tables)
    assert len(urls) > 80
    seen_public = False
    for url in urls:
        response = await ds.client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        for marker in MARKERS:
            assert marker not in response.text, (url, marker)
        seen_public = seen_public or "Public FOI" in response.text
    assert seen_public  # the crawl does reach the incident tables


async def test_private_db_needs_inspector_mode(published):
    from registry.errors import RegistryError
    from registry.publish.serve import make_datasette

    registry_path, private_path, *_ = published
    with pytest.raises(RegistryError, match="inspector"):
        make_datasette(registry_path, private_db=private_path)


async def test_inspector_sees_the_private_load(published, monkeypatch):
    import re

    from datasette_auth_passwords.utils import hash_password

    from registry.publish.serve import PASSWORD_HASH_ENV, make_datasette

    password = "correct horse battery staple"
    monkeypatch.setenv(PASSWORD_HASH_ENV, hash_password(password))
    registry_path, private_path, *_ = published
    ds = make_datasette(
        registry_path, inspector=True, private_db=private_path, secret="test"
    )
    url = (
        ds.urls.table("registry.private", "incident_counts", format="json")
        + "?_shape=array"
    )
    anonymous = await ds.client.get(url)
    assert anonymous.status_code in (302, 403)
    # Log in as an inspector does (sessions are held by the server).
    form = await ds.client.get("/-/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)[1]
    login = await ds.client.post(
        "/-/login",
        data={"username": "inspector", "password": password, "csrftoken": token},
        cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]},
    )
    cookies = {"ds_actor": login.cookies["ds_actor"]}
    response = await ds.client.get(url, cookies=cookies)
    assert response.status_code == 200
    rows = response.json()
    assert {r["incidents_count"] for r in rows} >= {7777, 31, 19}
    assert {r["source_name"] for r in rows} == {MARKERS[0]}
