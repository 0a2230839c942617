"""/search counts an owner's homes on the newest list (status active), as
every other count does, with the homes ever listed beside it (issue 11)."""

from __future__ import annotations

import re


async def test_owner_counts_are_homes_on_the_newest_list(ds):
    page = await ds.client.get("/search?q=Futures")
    assert page.status_code == 200
    # Bright Futures Ltd: two homes on the newest list, one no longer listed
    found = re.search(r"Bright Futures Ltd</a> \(([^)]*)\)", page.text)
    assert found[1] == "2 homes on the newest list; 3 ever listed"
    sunrise = await ds.client.get("/search?q=Sunrise")
    found = re.search(r"Sunrise Care Ltd</a> \(([^)]*)\)", sunrise.text)
    assert found[1] == "3 homes on the newest list"
