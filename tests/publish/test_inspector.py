"""Inspector mode requires a login for everything; public mode never loads the
private database (reliability.md §1.5 D9)."""

from __future__ import annotations

import re

import pytest
from datasette_auth_passwords.utils import hash_password

from registry.errors import RegistryError
from registry.publish.serve import PASSWORD_HASH_ENV, datasette_options, make_datasette

PASSWORD = "correct horse battery staple"
PAGES = [
    "/",
    "/registry",
    "/registry/homes",
    "/registry/homes.json",
    "/registry/homes/SC100001",
    "/registry.db",
    "/registry.json?sql=select+1",
    "/registry/flagged_homes",
    "/-/versions.json",
    "/-/metadata.json",
    "/-/databases.json",
    "/home/SC100001",
    "/owner/sunrise-care-ltd",
    "/la/E06000001",
    "/overview",
    "/foi",
    "/foi/annex_a_counts.json",
]


@pytest.fixture(scope="module")
def password_hash():
    return hash_password(PASSWORD)


@pytest.fixture
def inspector(monkeypatch, password_hash, registry_path, private_db_path):
    monkeypatch.setenv(PASSWORD_HASH_ENV, password_hash)
    return make_datasette(
        registry_path, inspector=True, private_db=private_db_path, secret="inspector"
    )


async def login(ds, password=PASSWORD):
    form = await ds.client.get("/-/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)[1]
    return await ds.client.post(
        "/-/login",
        data={"username": "inspector", "password": password, "csrftoken": token},
        cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]},
    )


@pytest.mark.parametrize("page", PAGES)
async def test_inspector_mode_refuses_anonymous_requests(inspector, page):
    response = await inspector.client.get(page)
    assert response.status_code == 403, page
    assert "PRIVATE-MARKER" not in response.text
    assert "SC100001" not in response.text or page.endswith("SC100001")


async def test_inspector_login_opens_everything(inspector):
    response = await login(inspector)
    assert response.status_code == 302
    cookies = {"ds_actor": response.cookies["ds_actor"]}
    for page in PAGES:
        opened = await inspector.client.get(page, cookies=cookies)
        assert opened.status_code == 200, page
    private = await inspector.client.get(
        "/foi.json?sql=select+secret+from+annex_a_counts&_shape=array", cookies=cookies
    )
    assert private.json() == [{"secret": "PRIVATE-MARKER"}]
    settings = (await inspector.client.get("/-/settings.json", cookies=cookies)).json()
    assert settings["sql_time_limit_ms"] == 5000
    databases = (
        await inspector.client.get("/-/databases.json", cookies=cookies)
    ).json()
    # _memory: crossdb (inspector mode only) attaches both for cross-database SQL.
    assert {(d["name"], d["is_mutable"]) for d in databases} == {
        ("_memory", True),
        ("registry", False),
        ("foi", False),
    }


async def test_wrong_password_gets_no_login(inspector):
    response = await login(inspector, password="wrong")
    assert response.status_code == 200
    assert "Invalid username or password" in response.text
    assert "ds_actor" not in response.cookies


async def test_cookie_signed_by_another_server_is_rejected(inspector, registry_path):
    public = make_datasette(registry_path, secret="public")
    forged = public.sign({"a": {"id": "inspector"}}, "actor")
    response = await inspector.client.get("/registry", cookies={"ds_actor": forged})
    assert response.status_code == 403


async def test_public_mode_never_loads_a_private_database(
    registry_path, private_db_path
):
    with pytest.raises(RegistryError, match="only served in inspector mode"):
        datasette_options(registry_path, private_db=private_db_path)
    public = make_datasette(registry_path)
    databases = (await public.client.get("/-/databases.json")).json()
    assert [d["name"] for d in databases] == ["registry"]
    assert (await public.client.get("/foi")).status_code == 404
    reach = await public.client.get(
        "/registry.json", params={"sql": "select * from foi.annex_a_counts"}
    )
    assert reach.status_code == 400
    assert "PRIVATE-MARKER" not in reach.text
    settings = (await public.client.get("/-/settings.json")).json()
    assert settings["sql_time_limit_ms"] == 1000


def test_inspector_options_lock_everything_down(registry_path, private_db_path):
    options = datasette_options(
        registry_path, inspector=True, private_db=private_db_path
    )
    metadata = options["metadata"]
    assert metadata["allow"] == {"id": "inspector"}
    assert metadata["allow_sql"] == {"id": "inspector"}
    assert metadata["plugins"]["datasette-auth-passwords"] == {
        "inspector_password_hash": {"$env": PASSWORD_HASH_ENV}
    }
    public = datasette_options(registry_path)["metadata"]
    assert "allow" not in public
    assert "datasette-auth-passwords" not in public.get("plugins", {})
