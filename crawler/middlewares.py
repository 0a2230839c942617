"""A retry middleware that is polite about it.

Scrapy's own RetryMiddleware retries at once and ignores ``Retry-After``.
This one (it replaces it in settings) waits before each retry:

    wait = min(RETRY_BACKOFF_MAX, max(Retry-After, RETRY_BACKOFF_BASE * 2 ** (n - 1)))
    wait *= 1 + uniform(0, RETRY_JITTER)

and while a 429/503 wait is running, the whole domain pauses, not just the one
request. Giving up is counted in ``retry/max_reached`` (Scrapy's key, which
the refresh gate reads) and ``ofsted/retry/gave_up``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
import time
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.utils.misc import load_object
from scrapy.utils.response import response_status_message

logger = logging.getLogger(__name__)


def retry_after_seconds(
    value: bytes | str | None, *, now: dt.datetime | None = None
) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


class PoliteRetryMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.base = settings.getfloat("RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX", 600.0)
        self.jitter = settings.getfloat("RETRY_JITTER", 0.25)
        self.exceptions = tuple(
            load_object(name) if isinstance(name, str) else name
            for name in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.paused_until: dict[str, float] = {}
        self.random = random.Random()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def spider(self) -> Spider:
        assert self.crawler.spider is not None
        return self.crawler.spider

    async def process_request(
        self, request: Request, spider: Spider | None = None
    ) -> None:
        """Hold a request until its own back-off and its domain's pause are over."""
        until = max(
            request.meta.get("retry_not_before", 0.0),
            self.paused_until.get(urlsplit(request.url).netloc, 0.0),
        )
        wait = until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return None

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get("dont_retry") or response.status not in self.codes:
            return response
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if retry_after is not None:
            self.crawler.stats.inc_value("ofsted/retry/retry_after")
        new = self._retry(
            request, response_status_message(response.status), retry_after
        )
        if new is not None and response.status in (429, 503):
            netloc = urlsplit(request.url).netloc
            self.paused_until[netloc] = max(
                self.paused_until.get(netloc, 0.0), new.meta["retry_not_before"]
            )
        return new or response

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | None:
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions):
            return None
        return self._retry(request, exception, None)

    def _retry(
        self, request: Request, reason, retry_after: float | None
    ) -> Request | None:
        attempt = request.meta.get("retry_times", 0) + 1
        new = get_retry_request(
            request,
            spider=self.spider,
            reason=reason,
            max_retry_times=request.meta.get("max_retry_times"),
        )
        if new is None:
            self.crawler.stats.inc_value("ofsted/retry/gave_up")
            return None
        wait = self.base * 2 ** (attempt - 1)
        if retry_after is not None:
            wait = max(wait, retry_after)
        wait = min(wait, self.cap) * (1 + self.random.uniform(0, self.jitter))
        new.meta["retry_not_before"] = time.monotonic() + wait
        self.crawler.stats.inc_value("ofsted/retry/waited_seconds", round(wait, 3))
        logger.info("retrying %s in %.1f s (%s)", request.url, wait, reason)
        return new


class DomainConcurrencyMiddleware:
    """Hold each request until fewer than ``CONCURRENT_REQUESTS_PER_DOMAIN``
    requests to its host are in flight.

    Scrapy's own per-slot limit does not hold under the asyncio reactor when
    ``DOWNLOAD_DELAY`` is 0: the downloader schedules every queued request as
    a task before any of them marks itself as transferring (measured here:
    8 in flight with a limit of 2). This middleware sits next to the
    downloader and enforces the limit whatever the delay.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.limit = max(crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"), 1)
        self.in_flight: dict[str, set[int]] = {}
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(
        self, request: Request, spider: Spider | None = None
    ) -> None:
        host = urlsplit(request.url).netloc
        flying = self.in_flight.setdefault(host, set())
        waited = False
        while len(flying) >= self.limit:
            waited = True
            await asyncio.sleep(0.005)
        if waited:
            self.stats.inc_value("ofsted/politeness/held")
        flying.add(id(request))
        return None

    def _release(self, request: Request) -> None:
        self.in_flight.get(urlsplit(request.url).netloc, set()).discard(id(request))

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        self._release(request)
        return response

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> None:
        self._release(request)
        return None
