"""Logging in to an inspector-mode Datasette in tests, as a browser does."""

from __future__ import annotations

import re


async def inspector_cookies(ds, password: str) -> dict:
    """Log in to the inspector-mode ``ds`` through /-/login; its cookies."""
    form = await ds.client.get("/-/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', form.text)[1]
    response = await ds.client.post(
        "/-/login",
        data={"username": "inspector", "password": password, "csrftoken": token},
        cookies={"ds_csrftoken": form.cookies["ds_csrftoken"]},
    )
    assert response.status_code == 302
    return {"ds_actor": response.cookies["ds_actor"]}
