"""Scrapy settings for the ofsted-homes crawlers.

Polite by default: robots.txt obeyed, a user agent that
names the project with a contact URL, at most 2 requests in flight per
domain, AutoThrottle, retries that honour ``Retry-After`` with capped
exponential back-off and jitter, no cookies, size limits.

Environment variables are read here and nowhere else:

* ``OFSTED_HOMES_DATA_DIR``: where raw files, manifests and crawl summaries go
* ``OFSTED_HOMES_CONTACT``: contact URL or e-mail put in the user agent
* ``OFSTED_HOMES_GOVUK_URL``, ``..._EES_API_URL``, ``..._OFSTED_REPORTS_URL``,
  ``..._OFSTED_FILES_URL``: base URLs (default: the real sites)
"""

import os

BOT_NAME = "ofsted-homes"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# ---- sources (base URLs, so tests and the demo can point at the sample site)
GOVUK_URL = os.environ.get("OFSTED_HOMES_GOVUK_URL", "https://www.gov.uk")
GOVUK_COLLECTION = os.environ.get(
    "OFSTED_HOMES_GOVUK_COLLECTION", "childrens-social-care-statistics"
)
EES_API_URL = os.environ.get(
    "OFSTED_HOMES_EES_API_URL", "https://api.education.gov.uk/statistics"
)
EES_PUBLICATION_SEARCH = "Children looked after in England including adoptions"
OFSTED_REPORTS_URL = os.environ.get(
    "OFSTED_HOMES_OFSTED_REPORTS_URL", "https://reports.ofsted.gov.uk"
)
OFSTED_FILES_URL = os.environ.get(
    "OFSTED_HOMES_OFSTED_FILES_URL", "https://files.ofsted.gov.uk"
)
# reports.ofsted.gov.uk search: children's social care (3), children's homes (11)
OFSTED_SEARCH_PARAMS = {"level_1_types": "3", "level_2_types": "11", "status[]": "1"}
OFSTED_SEARCH_ROWS = 100  # the site's cap since February 2025
# False: read search and provider pages only (a quick status-only walk)
OFSTED_DOWNLOAD_REPORTS = True

# ---- where things land
DATA_DIR = os.environ.get("OFSTED_HOMES_DATA_DIR", "data")

# ---- politeness
CONTACT = os.environ.get(
    "OFSTED_HOMES_CONTACT", "https://github.com/ofsted-homes/ofsted-homes"
)
USER_AGENT = (
    f"ofsted-homes/0.1 (+{CONTACT}; public-interest registry of children's homes)"
)
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 50 * 1024 * 1024
DOWNLOAD_WARNSIZE = 10 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True

# ---- retries: our middleware replaces Scrapy's (it honours Retry-After)
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 1.0  # seconds; doubles per attempt
RETRY_BACKOFF_MAX = 600.0  # cap on any single wait, Retry-After included
RETRY_JITTER = 0.25  # up to +25 % random extra
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.PoliteRetryMiddleware": 550,
    # next to the downloader: Scrapy 2.19's per-domain limit leaks (see its docstring)
    "crawler.middlewares.DomainConcurrencyMiddleware": 990,
}
# 404/410 reach the spiders, which record them as "not found" observations
HTTPERROR_ALLOWED_CODES = [404, 410]

# ---- stop a run that is going wrong (the refresh gate refuses to merge it)
CLOSESPIDER_ERRORCOUNT = 20
CLOSESPIDER_PAGECOUNT_NO_ITEM = 0
CLOSESPIDER_TIMEOUT = 6 * 3600

ITEM_PIPELINES = {
    "crawler.pipelines.ValidateItemPipeline": 100,
    "crawler.pipelines.StoreFilePipeline": 300,
    "crawler.pipelines.ManifestPipeline": 900,
}
EXTENSIONS = {"crawler.pipelines.CrawlSummary": 500}

LOG_LEVEL = os.environ.get("OFSTED_HOMES_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
