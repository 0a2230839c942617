"""The sample site's HTTP server: all three sources on one 127.0.0.1 port, with
misbehaviour on request.

Paths (each prefix is one real site; the crawler's base URL settings point at
them):

* ``/govuk/...``   www.gov.uk Content API and its attachments
* ``/ees/...``     the explore-education-statistics public API
* ``/ofsted/...``  reports.ofsted.gov.uk search and provider pages
* ``/files/...``   files.ofsted.gov.uk report PDFs
* ``/_sample/...`` control and counters, for tests and the demo

Example::

    site = SampleSite(homes=40, seed=1).start()
    site.faults.add("429", "/ofsted/provider", count=1, retry_after=2)
    ...
    site.stop()
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sample_site import files, pages
from sample_site.population import (
    RELEASE_YEARS,
    Population,
    add_new_reports,
    build_population,
)

logger = logging.getLogger(__name__)

PAGE_ROWS_MAX = 100


@dataclass
class Fault:
    """One kind of misbehaviour for requests whose path contains ``pattern``.
    ``count`` is how many requests it hits (None: all of them)."""

    # "429", "503", "slow", "drop", "html-for-pdf", "404", "not-found-200"
    # (the reports site's "Report not found" page with status 200),
    # "empty-search" (a search page whose results list is empty)
    kind: str
    pattern: str
    count: int | None = None
    retry_after: str | None = None
    seconds: float = 0.0
    hits: int = 0


@dataclass
class Faults:
    active: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, pattern: str = "", **options: object) -> Fault:
        fault = Fault(kind, pattern, **options)
        with self.lock:
            self.active.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.active.clear()

    def take(self, path: str) -> list[Fault]:
        """The faults that apply to this request (and count it against them)."""
        hit = []
        with self.lock:
            for fault in self.active:
                if fault.pattern not in path:
                    continue
                if fault.count is not None and fault.hits >= fault.count:
                    continue
                fault.hits += 1
                hit.append(fault)
        return hit


@dataclass
class Hit:
    at: float
    path: str
    status: int
    size: int
    user_agent: str


class SampleSite:
    """The sample population, its mutable state and the server that serves it."""

    def __init__(
        self,
        *,
        homes: int = 200,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        cache_dir: Path | None = None,
        xlsx: bool | None = None,
        layout: str = "confirmed",
    ) -> None:
        self.population: Population = build_population(seed=seed, homes=homes)
        self.seed = seed
        self.host = host
        self.port = port
        self.faults = Faults()
        # "confirmed" (only markup seen on the live site), "rich" (plus
        # invented optional extras) or "changed" (every class renamed)
        self.layout = layout
        self.omit: set[str] = set()  # markup parts to leave out ("nonvisual", ...)
        self.robots_disallow: list[str] = []
        self.removed: set[str] = set()
        self.xlsx = files.have_xlsx() if xlsx is None else xlsx
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SampleSite:
        if self._cache_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sample-site-")
            self._cache_dir = Path(self._tmp.name)
        self._cache_dir.mkdir(parents=True, exist_ok=True)
        handler = type("Handler", (_Handler,), {"site": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sample-site", daemon=True
        )
        self._thread.start()
        logger.info("sample site serving on %s", self.url)
        return self

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SampleSite:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def crawler_settings(self) -> dict[str, str]:
        """Scrapy settings that point the spiders at this site."""
        return {
            "GOVUK_URL": f"{self.url}/govuk",
            "EES_API_URL": f"{self.url}/ees",
            "OFSTED_REPORTS_URL": f"{self.url}/ofsted",
            "OFSTED_FILES_URL": f"{self.url}/files",
        }

    # ------------------------------------------------------------- changes

    def publish_new_reports(
        self, count: int, *, today: dt.date | None = None
    ) -> list[str]:
        """Publish ``count`` new reports (one each for ``count`` listed homes);
        returns their PDF URLs."""
        today = today or dt.datetime.now(dt.UTC).date()
        with self._lock:
            added = add_new_reports(
                self.population, count, today=today, exclude=self.removed
            )
        return [f"{self.url}/files/v1/file/{i.file_id}" for i in added]

    def remove_homes(self, fraction: float) -> list[str]:
        """Stop listing a deterministic ``fraction`` of the homes in search."""
        listed = sorted(
            h.urn for h in self.population.homes if h.urn not in self.removed
        )
        step = max(1, round(1 / fraction)) if fraction else 0
        chosen = listed[::step][: round(len(listed) * fraction)] if step else []
        with self._lock:
            self.removed.update(chosen)
        return chosen

    def restore_homes(self, urns: list[str] | None = None) -> None:
        with self._lock:
            if urns is None:
                self.removed.clear()
            else:
                self.removed.difference_update(urns)

    # ------------------------------------------------------------ counters

    def count(self, pattern: str = "", *, status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for hit in self.hits
                if pattern in hit.path and (status is None or hit.status == status)
            )

    def hits_for(self, pattern: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if pattern in hit.path]

    def bytes_served(self) -> int:
        with self._lock:
            return sum(hit.size for hit in self.hits)

    def reset_counters(self) -> None:
        with self._lock:
            self.hits.clear()
            self.max_in_flight = 0

    # ------------------------------------------------------------- content

    def cached(self, key: str, make) -> bytes:
        with self._lock:
            body = self._cache.get(key)
        if body is None:
            body = make()
            with self._lock:
                self._cache[key] = body
        return body

    def listed_homes(self, since: dt.date | None, until: dt.date | None):
        today = dt.datetime.now(dt.UTC).date()
        for home in sorted(self.population.homes, key=lambda h: h.urn):
            if home.urn in self.removed:
                continue
            published = [
                i.publication_date
                for i in home.inspections
                if i.publication_date <= today
            ]
            latest = max(published, default=None)
            if since and (latest is None or latest < since):
                continue
            if until and (latest is None or latest > until):
                continue
            yield home, latest

    def report_pdf(self, file_id: int) -> bytes | None:
        inspection = self.population.inspection_by_file_id(file_id)
        if inspection is None:
            return None
        home = self.population.home(inspection.urn)
        assert self._cache_dir is not None and home is not None
        path = self._cache_dir / f"report-{self.seed}-{file_id}.pdf"
        if not path.exists():
            from sample_site.reports import write_report

            write_report(home, inspection, path, seed=self.seed)
        return path.read_bytes()


_DATE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")


def _dmy(value: str | None) -> dt.date | None:
    match = _DATE.match(value or "")
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    site: SampleSite
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes
    server_version = "ofsted-homes-sample-site"

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        site = self.site
        with site._lock:
            site.in_flight += 1
            site.max_in_flight = max(site.max_in_flight, site.in_flight)
        status, size = 0, 0
        self._counted = True
        try:
            status, size = self._respond()
        except (BrokenPipeError, ConnectionResetError):
            status = status or -1
        finally:
            with site._lock:
                if self._counted:
                    site.in_flight -= 1
                site.hits.append(
                    Hit(
                        time.monotonic(),
                        self.path,
                        status,
                        size,
                        self.headers.get("User-Agent", ""),
                    )
                )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        site = self.site
        if parts.path == "/_sample/publish":
            result: object = site.publish_new_reports(int(query.get("count", "5")))
        elif parts.path == "/_sample/remove":
            result = site.remove_homes(float(query.get("fraction", "0.05")))
        elif parts.path == "/_sample/fault":
            options = json.loads(body or b"{}")
            site.faults.add(**options)
            result = options
        elif parts.path == "/_sample/reset":
            site.faults.clear()
            site.layout = "confirmed"
            site.omit = set()
            site.robots_disallow = []
            result = "ok"
        elif parts.path == "/_sample/layout":
            site.layout = query.get("layout", "confirmed")
            site.omit = {p for p in query.get("omit", "").split(",") if p}
            result = site.layout
        else:
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, json.dumps(result).encode(), "application/json")

    # ------------------------------------------------------------ routing

    def _respond(self) -> tuple[int, int]:
        site = self.site
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qs(parts.query)
        faults = site.faults.take(self.path)
        for fault in faults:
            if fault.kind == "slow":
                time.sleep(fault.seconds)
        for fault in faults:
            if fault.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return -1, 0
            if fault.kind == "429":
                headers = {"Retry-After": fault.retry_after or "1"}
                return self._send(429, b"Too Many Requests", "text/plain", headers)
            if fault.kind == "503":
                return self._send(503, b"Service Unavailable", "text/plain")
            if fault.kind == "404":
                return self._send(
                    404, pages.not_found_page(), "text/html; charset=utf-8"
                )
            if fault.kind == "not-found-200":
                return self._send(
                    200, pages.report_not_found_page(), "text/html; charset=utf-8"
                )
        if path == "/robots.txt":
            lines = ["User-agent: *", *(f"Disallow: {p}" for p in site.robots_disallow)]
            return self._send(200, ("\n".join(lines) + "\n").encode(), "text/plain")
        if path == "/_sample/stats":
            body = json.dumps(
                {
                    "requests": len(site.hits),
                    "bytes": site.bytes_served(),
                    "max_in_flight": site.max_in_flight,
                    "pdfs": site.count("/files/v1/file/", status=200),
                }
            ).encode()
            return self._send(200, body, "application/json")
        if path == "/":
            # the address `demo` prints: say what this is and where to look
            base = site.url
            body = (
                "<!DOCTYPE html><title>SAMPLE DATA: ofsted-homes sample site</title>"
                "<h1>SAMPLE DATA: the ofsted-homes sample site</h1>"
                "<p>A generated stand-in for gov.uk, explore-education-statistics and "
                "reports.ofsted.gov.uk, for demos and tests. Nothing here is real.</p><ul>"
                f'<li><a href="{base}/govuk/api/content/government/collections/'
                f'{pages.COLLECTION_SLUG}">gov.uk collection (JSON)</a></li>'
                f'<li><a href="{base}/ofsted/search">Ofsted report search</a></li>'
                f'<li><a href="{base}/robots.txt">robots.txt</a></li></ul>'
            ).encode()
            return self._send(200, body, "text/html; charset=utf-8")
        if path.startswith("/govuk/"):
            return self._govuk(path[len("/govuk") :])
        if path.startswith("/ees/"):
            return self._ees(path[len("/ees") :])
        if path.startswith("/ofsted/"):
            return self._ofsted(path[len("/ofsted") :], query, faults)
        if path.startswith("/files/v1/file/"):
            return self._pdf(path.rsplit("/", 1)[-1], faults)
        return self._send(404, pages.not_found_page(), "text/html; charset=utf-8")

    def _govuk(self, path: str) -> tuple[int, int]:
        site = self.site
        base = f"{site.url}/govuk"
        if path == f"/api/content/government/collections/{pages.COLLECTION_SLUG}":
            return self._send(200, pages.govuk_collection(base), "application/json")
        for year in RELEASE_YEARS:
            if (
                path
                == f"/api/content/government/statistics/{pages.statistics_slug(year)}"
            ):
                body = pages.govuk_statistics(base, year, xlsx=site.xlsx)
                return self._send(200, body, "application/json")
            for ext in ("xlsx", "csv"):
                if path == pages.asset_path(year, ext):
                    body = site.cached(
                        f"workbook-{year}-{ext}",
                        lambda y=year, e=ext: files.workbook_bytes(
                            site.population, y, fmt=e
                        ),
                    )
                    kind = (
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                        if ext == "xlsx"
                        else "text/csv"
                    )
                    return self._send(200, body, kind)
        return self._send(404, pages.not_found_page(), "text/html; charset=utf-8")

    def _ees(self, path: str) -> tuple[int, int]:
        site = self.site
        base = f"{site.url}/ees"
        if path == "/v1/publications":
            return self._send(200, pages.ees_publications(base), "application/json")
        if path == f"/v1/publications/{pages.EES_PUBLICATION_ID}/data-sets":
            return self._send(200, pages.ees_data_sets(base), "application/json")
        match = re.fullmatch(r"/v1/data-sets/([\w-]+)/csv", path)
        if match and match.group(1) in pages.EES_DATA_SETS:
            make = (
                files.dfe_la_missing_csv
                if match.group(1) == "sample-la-missing"
                else files.dfe_national_missing_csv
            )
            body = site.cached(f"ees-{match.group(1)}", lambda: make(site.seed))
            return self._send(200, body, "text/csv")
        return self._send(404, b'{"title": "Not Found"}', "application/json")

    def _ofsted(
        self, path: str, query: dict[str, list[str]], faults: list[Fault] = ()
    ) -> tuple[int, int]:
        site = self.site
        html_type = "text/html; charset=utf-8"
        if path == "/search":
            return self._search(query, faults)
        match = re.fullmatch(r"/provider/2/(SC\d{6}|\d{7})", path)
        if match:
            home = site.population.home(match.group(1))
            if home is None:
                return self._send(404, pages.not_found_page(), html_type)
            today = dt.datetime.now(dt.UTC).date()
            body = pages.provider_page(
                home,
                home.inspections_until(today),
                files_base=f"{site.url}/files",
                canonical_base=f"{site.url}/ofsted",
                layout=site.layout,
                omit=site.omit,
            )
            return self._send(200, body, html_type)
        return self._send(404, pages.not_found_page(), html_type)

    def _search(
        self, query: dict[str, list[str]], faults: list[Fault] = ()
    ) -> tuple[int, int]:
        site = self.site

        def one(name: str, default: str = "") -> str:
            return (query.get(name) or [default])[-1]

        start = max(int(one("start", "0") or 0), 0)
        rows = min(max(int(one("rows", "100") or 100), 1), PAGE_ROWS_MAX)
        since = _dmy(one("latest_report_date_start"))
        until = _dmy(one("latest_report_date_end"))
        listed = list(site.listed_homes(since, until))
        if any(f.kind == "empty-search" for f in faults):
            listed = []
        page = listed[start : start + rows]
        next_href = None
        if start + rows < len(listed):
            params = {k: v[-1] for k, v in query.items()}
            params.update(start=str(start + rows), rows=str(rows))
            next_href = "/ofsted/search?" + "&".join(
                f"{k}={v}" for k, v in params.items()
            )
        body = pages.search_page(
            page,
            total=len(listed),
            start=start,
            rows=rows,
            next_href=next_href,
            layout=site.layout,
            omit=site.omit,
        )
        return self._send(200, body, "text/html; charset=utf-8")

    def _pdf(self, file_id: str, faults: list[Fault]) -> tuple[int, int]:
        if not file_id.isdigit():
            return self._send(404, pages.not_found_page(), "text/html; charset=utf-8")
        if any(f.kind == "html-for-pdf" for f in faults):
            return self._send(
                200, pages.html_instead_of_pdf(), "text/html; charset=utf-8"
            )
        body = self.site.report_pdf(int(file_id))
        if body is None:
            return self._send(404, pages.not_found_page(), "text/html; charset=utf-8")
        return self._send(200, body, "application/pdf")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, int]:
        # the request stops counting as in flight once its answer starts
        # (the client may send its next one as soon as it has read this)
        if getattr(self, "_counted", False):
            with self.site._lock:
                self.site.in_flight -= 1
            self._counted = False
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Sample-Data", "true")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        return status, len(body)
