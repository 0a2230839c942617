"""Requests, bytes and time of a full and an incremental crawl of a large
sample site (default 4,000 homes), counted at the server and by Scrapy, and
each crawl's coverage monitors as the refresh gate judges them (``--load``
also loads and publishes the full crawl, adding the report reader's monitors).
The sample site serves only the markup confirmed on the live site unless
``--layout rich``.

Politeness is switched off for the measurement (loopback; no delay, no
AutoThrottle); the polite estimate below multiplies the request count by the
per-request delay the production settings aim for.

    .venv/bin/python bench/bench_crawl.py --homes 4000
    .venv/bin/python bench/bench_crawl.py --homes 4000 --load   # also load and publish
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--new-reports", type=int, default=5)
    parser.add_argument(
        "--load", action="store_true", help="also load and publish (slow)"
    )
    parser.add_argument("--keep", type=Path, help="keep the data directory here")
    parser.add_argument(
        "--pdf-cache", type=Path, help="keep rendered PDFs here between runs"
    )
    parser.add_argument(
        "--cold", action="store_true", help="render PDFs on demand, inside the timing"
    )
    parser.add_argument(
        "--layout", default="confirmed", choices=["confirmed", "rich", "changed"]
    )
    args = parser.parse_args()

    from registry.refresh.crawls import Thresholds, gate, monitor_lines, run_spider
    from registry.refresh.refresh import refresh, site_settings
    from sample_site.server import SampleSite

    work = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    data_dir = args.keep or work / "data"
    fast = {"AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0", "LOG_LEVEL": "WARNING"}
    site = SampleSite(
        homes=args.homes,
        seed=args.seed,
        cache_dir=args.pdf_cache or work / "pdf-cache",
        layout=args.layout,
    ).start()
    settings = {**fast, **site_settings(site.url)}
    print(
        f"sample site: {args.homes} homes, {len(site.population.inspections)} reports"
    )
    if not args.cold:
        # render every PDF first, so the timings are the crawler's, not reportlab's
        started = time.monotonic()
        for inspection in site.population.inspections:
            site.report_pdf(inspection.file_id)
        print(f"rendered the PDFs in {time.monotonic() - started:.0f} s (not counted)")
    previous: dict = {}
    try:
        rows = []
        for label, spiders, arguments in (
            ("full", ("releases", "reports"), {}),
            ("incremental (unchanged)", ("releases", "reports"), {"since": "today"}),
            (
                f"incremental (+{args.new_reports} reports)",
                ("releases", "reports"),
                {"since": "today"},
            ),
        ):
            if label.startswith("incremental (+"):
                site.publish_new_reports(args.new_reports)
            site.reset_counters()
            started = time.monotonic()
            crawls = []
            for spider in spiders:
                spider_args = {}
                if spider == "reports" and arguments.get("since") == "today":
                    spider_args["since"] = time.strftime("%Y-%m-%d", time.gmtime())
                crawls.append(
                    run_spider(
                        spider,
                        data_dir=data_dir,
                        settings=settings,
                        arguments=spider_args,
                    )
                )
            elapsed = time.monotonic() - started
            pdfs = site.count("/files/v1/file/", status=200)
            reports_site = site.count("/ofsted/") + site.count("/files/")
            print(
                f"\n{label}: {reports_site:,} requests to the reports and files sites "
                f"({reports_site / args.homes:.2f} per home), {pdfs:,} PDFs"
            )
            for crawl in crawls:
                if crawl.spider != "reports":
                    continue
                reasons = gate(
                    crawl,
                    last_full_listed=None,
                    thresholds=Thresholds(),
                    data_dir=data_dir,
                    previous=previous,
                )
                previous = {
                    m["monitor"]: {**m, "crawl_id": crawl.id}
                    for m in crawl.summary.get("monitors", [])
                }
                print("\n".join(monitor_lines(crawl)))
                print(f"  gate: {'; '.join(reasons) if reasons else 'would merge'}")
            rows.append(
                (
                    label,
                    site.count(),
                    site.bytes_served(),
                    pdfs,
                    elapsed,
                    [c.summary.get("finish_reason") for c in crawls],
                )
            )
            if args.load and label == "full":
                started = time.monotonic()
                result = refresh(
                    work / "registry.db",
                    data_dir=data_dir,
                    crawls=crawls,
                    is_sample=True,
                )
                print(
                    f"load+publish of the full crawl: {time.monotonic() - started:.1f} s, ok={result.ok}, "
                    f"{result.loaded} files loaded, {len(result.load_failures)} not loaded"
                )
                for crawl in crawls:
                    if crawl.spider == "reports":
                        read = [
                            m
                            for m in crawl.summary.get("monitors", [])
                            if m["monitor"].startswith("report.")
                            and m["monitor"]
                            not in ("report.fetched", "report.not_found")
                        ]
                        print("\n".join(monitor_lines(crawl, only=read)))
                if result.reasons:
                    print("  refused: " + "; ".join(result.reasons))
        print(
            f"\n{'crawl':32} {'requests':>9} {'bytes':>14} {'PDFs':>6} {'seconds':>8}  finish"
        )
        for label, requests, size, pdfs, elapsed, reasons in rows:
            print(
                f"{label:32} {requests:9,} {size:14,} {pdfs:6,} {elapsed:8.1f}  {','.join(reasons)}"
            )
        full_requests = rows[0][1]
        print(
            f"\npolite estimate on the live sites (AutoThrottle, ~1 s per request per "
            f"domain): full ≈ {full_requests / 3600:.1f} h, incremental ≈ {rows[2][1]} s"
        )
    finally:
        site.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
