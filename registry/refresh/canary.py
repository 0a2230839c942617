"""`ofsted-homes canary`: is the reports site still in the layout the crawler
understands? Run it before enabling a scheduled refresh, and whenever a
refresh stops with ``layout_check_failed``.

It fetches, politely (robots.txt obeyed, the crawler's user agent, a delay
between requests), the first search results page, a handful of provider
pages (URNs given, else from the registry, else from the search) and a
couple of their report links, reads them with the crawler's own code
(``crawler.markup``) and prints one line per selector or field: found or
not, and an example value. Exit 0 when every required check passes, 1 when
one fails, 2 when the site could not be reached at all.

Example::

    ofsted-homes canary
    ofsted-homes canary --db registry.db --pages 5
    ofsted-homes canary --site http://127.0.0.1:8002 --urn SC123456
"""

from __future__ import annotations

import sqlite3
import time
import urllib.error
import urllib.request
import urllib.robotparser
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit


@dataclass
class Fetcher:
    """One request at a time, ``delay`` seconds apart, robots.txt obeyed."""

    user_agent: str
    delay: float = 1.0
    timeout: float = 30.0
    requests: int = 0
    _robots: dict[str, urllib.robotparser.RobotFileParser] = field(default_factory=dict)
    _last: float = 0.0

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            parser = urllib.robotparser.RobotFileParser(f"{root}/robots.txt")
            try:
                status, _type, body = self._get(f"{root}/robots.txt")
                if status >= 400:
                    parser.parse([])  # no robots.txt: everything allowed
                else:
                    parser.parse(body.decode("utf-8", "replace").splitlines())
            except OSError:
                parser.parse([])
            self._robots[root] = parser
        return self._robots[root].can_fetch(self.user_agent, url)

    def get(self, url: str) -> tuple[int, str, bytes]:
        if not self.allowed(url):
            raise PermissionError(f"{url}: robots.txt forbids it")
        return self._get(url)

    def _get(self, url: str) -> tuple[int, str, bytes]:
        wait = self._last + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
                return response.status, response.headers.get("Content-Type", ""), body
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read()
        finally:
            self._last = time.monotonic()


@dataclass
class CanaryResult:
    rows: list[dict]
    failures: list[str]
    pages: dict[str, list[str]]  # what was fetched: search, provider, report
    requests: int

    @property
    def ok(self) -> bool:
        return not self.failures


def registry_urns(db_path: Path, count: int) -> list[str]:
    """Active homes of the registry with the most recent inspections (the
    likeliest to have report links)."""
    if not db_path.exists():
        return []
    # a read-only look: the canary never writes (nor migrates) the registry
    uri = f"{db_path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        if "homes" not in tables:
            return []
        return [
            row[0]
            for row in conn.execute(
                "select urn from homes where status = 'active' "
                "order by latest_inspection_date desc, urn limit ?",
                [count],
            )
        ]


def run_canary(
    *,
    reports_url: str,
    urns: list[str] | None = None,
    pages: int = 3,
    reports: int = 2,
    delay: float = 1.0,
    user_agent: str | None = None,
    search_params: dict[str, str] | None = None,
    rows: int = 100,
) -> CanaryResult:
    """Fetch and check; never raises for what the site answers."""
    from parsel import Selector

    from crawler import markup
    from crawler import settings as crawler_settings

    fetcher = Fetcher(user_agent or crawler_settings.USER_AGENT, delay=delay)
    base = reports_url.rstrip("/")
    params = dict(search_params or crawler_settings.OFSTED_SEARCH_PARAMS)
    params.update(start="0", rows=str(rows))
    search_url = f"{base}/search?{urlencode(params)}"
    fetched: dict[str, list[str]] = {"search": [], "provider": [], "report": []}
    errors: list[str] = []
    searches: list[dict] = []
    try:
        status, _type, body = fetcher.get(search_url)
        fetched["search"].append(f"{search_url} ({status})")
        searches.append(
            markup.read_search(
                Selector(text=body.decode("utf-8", "replace")), base_url=search_url
            )
        )
    except (OSError, PermissionError) as error:
        errors.append(f"search page: {error}")
    chosen = list(urns or [])
    if not chosen:
        chosen = [r["urn"] for s in searches for r in s["results"] if r["urn"]]
    chosen = chosen[:pages]
    providers: list[dict] = []
    links: list[str] = []
    for urn in chosen:
        url = f"{base}/provider/2/{urn}"
        try:
            status, _type, body = fetcher.get(url)
        except (OSError, PermissionError) as error:
            errors.append(f"provider page {urn}: {error}")
            continue
        fetched["provider"].append(f"{url} ({status})")
        sel = Selector(text=body.decode("utf-8", "replace"))
        if status in (404, 410) or markup.is_not_found(sel):
            providers.append({"dead": True})
            continue
        read = markup.read_provider(sel, base_url=url)
        providers.append(read)
        if read["events"] and len(links) < reports:
            links.append(read["events"][0]["report_url"])
    answers: list[dict] | None = [] if links else None
    for link in links:
        try:
            status, content_type, body = fetcher.get(link)
        except (OSError, PermissionError) as error:
            errors.append(f"report {link}: {error}")
            continue
        fetched["report"].append(f"{link} ({status})")
        is_pdf = body.startswith(b"%PDF-")
        dead = status in (404, 410) or (
            not is_pdf
            and markup.is_not_found(Selector(text=body.decode("utf-8", "replace")))
        )
        answers.append(
            {
                "url": link,
                "is_pdf": is_pdf,
                "dead": dead,
                "content_type": content_type,
            }
        )
    rows_out = markup.layout_checks(searches, providers, answers)
    failures = errors + markup.failed_checks(rows_out)
    if answers and all(a["dead"] for a in answers):
        failures.append("every report link fetched was dead ('Report not found')")
    return CanaryResult(rows_out, failures, fetched, fetcher.requests)


def format_table(result: CanaryResult) -> str:
    lines = [
        f"{'check':38} {'selector / field':42} {'found':>9}  {'':4} example",
        "-" * 120,
    ]
    for row in result.rows:
        mark = ("ok" if row["ok"] else "FAIL") if row["required"] else "-"
        lines.append(
            f"{row['check']:38} {row['selector'][:42]:42} "
            f"{row['found']:>4} of {row['seen']:<2} {mark:4} {row['example']}"
        )
    return "\n".join(lines)


def reports_url_for(site: str | None) -> str:
    """The reports site to check: a sample site's (``--site``), else the live one."""
    from crawler import settings as crawler_settings

    return f"{site.rstrip('/')}/ofsted" if site else crawler_settings.OFSTED_REPORTS_URL
