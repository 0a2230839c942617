"""What both spiders share: a crawl id, the data directory, and the files
earlier crawls already stored."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

from scrapy import Spider

from crawler.pipelines import known_files

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_WORDY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})")
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def page_date(text: str | None) -> str | None:
    """'08 September 2026', '8 Sept 2026' or '08/09/2026' in page text → ISO date."""
    if not text:
        return None
    text = " ".join(text.split())
    match = _WORDY.search(text)
    try:
        if match:
            month = _MONTHS.get(match.group(2).casefold())
            if month:
                return dt.date(
                    int(match.group(3)), month, int(match.group(1))
                ).isoformat()
        match = _DMY.search(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return dt.date(year, month, day).isoformat()
    except ValueError:
        return None
    return None


def new_crawl_id(name: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{name}-{stamp}-{secrets.token_hex(3)}"


class OfstedSpider(Spider):
    """Base class: ``-a crawl_id=...`` names the crawl (else one is made up)."""

    def __init__(self, *args, crawl_id: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.crawl_id = crawl_id or new_crawl_id(self.name)
        self._known: tuple[set[str], set[str]] | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.get("DATA_DIR", "data")).resolve()

    @property
    def known_urls(self) -> set[str]:
        if self._known is None:
            self._known = known_files(self.data_dir)
        return self._known[0]

    @property
    def known_digests(self) -> set[str]:
        if self._known is None:
            self._known = known_files(self.data_dir)
        return self._known[1]

    def count(self, key: str, value: int = 1) -> None:
        self.crawler.stats.inc_value(key, value)
