"""The index page points newcomers at the main tables and stories, and every
one of those links works."""

import re


async def test_index_start_here_links_all_work(ds):
    response = await ds.client.get("/")
    assert response.status_code == 200
    start = response.text.index("Start here")
    section = response.text[start : response.text.index("</section>", start)]
    links = re.findall(r'href="([^"]+)"', section)
    assert len(links) >= 9
    assert "/registry/homes" in links and "/registry/flagged_homes" in links
    for link in links:
        page = await ds.client.get(link.replace("&amp;", "&"))
        assert page.status_code == 200, link
