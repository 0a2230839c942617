"""Benchmark: reading report PDFs, against poppler's `pdftotext`.

Generates a corpus of realistic reports (every layout, 2-9 pages each) in a
temporary folder, then times, on the same files:

* ``pdftotext`` (Debian poppler-utils), one process per file, as a shell loop
  would run it: sequentially, and two at a time;
* ``extract_report`` in this process (no sandbox): the parsing cost alone;
* the sandboxed pool (``extract.sandbox.extract_many``) with 1 and 2 workers:
  what ``ofsted-homes load`` does (wall time, and the CPU time the workers
  report, which a busy machine disturbs less);
* ``registry.reports.reports.load_reports`` into a fresh registry (parse + write).

Each timing is the best of three. Reports pages per second per core and the
ratio to ``pdftotext`` (target: within 3 times pdftotext's time for the whole
corpus).

Usage::

    .venv/bin/python bench/bench_reports.py            # 300 reports
    .venv/bin/python bench/bench_reports.py --reports 1000 --json result.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extract.reports import extract_report
from extract.sandbox import extract_many
from registry.reports.reports import load_reports
from registry.schema.db import open_registry
from sample_site.report_pdfs import render_report, sample_report

FILLER = (
    "Inspectors spoke to children, staff, parents and social workers, and read "
    "records of care, incidents and complaints. Children's plans are detailed and "
    "reviewed regularly, and staff understand each child's needs and risks well."
)


def make_corpus(folder: Path, count: int) -> list[Path]:
    weights = ["sccif"] * 6 + [
        "interim",
        "monitoring",
        "assurance",
        "2015",
        "2014",
        "nms2010",
    ]
    paths = []
    for number in range(count):
        layout = weights[number % len(weights)]
        spec = sample_report(f"SC{200000 + number}", seed=number, layout=layout)
        spec["narrative"] = spec["narrative"] + [FILLER] * (number % 7) * 8
        path = folder / f"report-{number:05d}-{layout}.pdf"
        render_report(spec, path, layout=layout)
        paths.append(path)
    return paths


ROUNDS = 3  # the machine is shared: report the best of three


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_pdftotext(paths: list[Path], workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for pdftotext over every file."""

    def run(path: Path) -> None:
        subprocess.run(
            ["pdftotext", "-q", str(path), "-"], check=False, stdout=subprocess.DEVNULL
        )

    cpu = children_cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, paths))
    return time.perf_counter() - start, children_cpu() - cpu


def time_sandbox(paths: list[Path], workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for the sandboxed pool: what the workers
    report plus what this process spent handing out files and reading results."""
    parent = time.process_time()
    start = time.perf_counter()
    outcomes = list(extract_many(paths, workers=workers))
    wall = time.perf_counter() - start
    assert all(o.ok for o in outcomes), [o.message for o in outcomes if not o.ok]
    used = time.process_time() - parent
    return wall, used + sum(o.cpu_seconds or 0.0 for o in outcomes)


def best(measure, *args) -> tuple[float, float]:
    runs = [measure(*args) for _ in range(ROUNDS)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--json", type=Path, help="Also write the numbers here")
    parser.add_argument("--keep", type=Path, help="Keep the corpus in this folder")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-reports-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        paths = make_corpus(folder, args.reports)
        render_seconds = time.perf_counter() - start

        start = time.perf_counter()
        reports = [extract_report(p) for p in paths]
        in_process = time.perf_counter() - start
        pages = sum(r.pages for r in reports)
        judged = sum(1 for r in reports if r.judgements.overall)

        results: dict[str, float] = {}
        cpu: dict[str, float] = {}
        have_pdftotext = shutil.which("pdftotext") is not None
        for workers in (1, 2):
            key = f"sandbox_{workers}"
            results[key], cpu[key] = best(time_sandbox, paths, workers)
            if have_pdftotext:
                key = f"pdftotext_{workers}"
                results[key], cpu[key] = best(time_pdftotext, paths, workers)

        db_path = folder / "bench.db"
        db = open_registry(db_path)
        start = time.perf_counter()
        loaded = load_reports(db, paths, workers=2)
        results["load_reports_2"] = time.perf_counter() - start
        assert all(r.ok for r in loaded)
        db.close()

        cores = os.cpu_count() or 1
        summary = {
            "reports": len(paths),
            "pages": pages,
            "cores": cores,
            "render_ms_per_report": 1000 * render_seconds / len(paths),
            "in_process_seconds": in_process,
            "in_process_pages_per_second": pages / in_process,
            **{f"{k}_seconds": v for k, v in results.items()},
            **{f"{k}_cpu_seconds": v for k, v in cpu.items()},
            "sandbox_1_pages_per_second_per_core": pages / results["sandbox_1"],
            "sandbox_2_pages_per_second_per_core": pages / results["sandbox_2"] / 2,
            "load_reports_pages_per_second": pages / results["load_reports_2"],
            "reports_with_overall_judgement": judged,
        }
        if have_pdftotext:
            summary["ratio_sandbox_1_to_pdftotext_1"] = (
                results["sandbox_1"] / results["pdftotext_1"]
            )
            summary["ratio_sandbox_2_to_pdftotext_2"] = (
                results["sandbox_2"] / results["pdftotext_2"]
            )
            summary["ratio_cpu_sandbox_to_pdftotext"] = (
                cpu["sandbox_2"] / cpu["pdftotext_2"]
            )
            summary["ratio_load_reports_2_to_pdftotext_2"] = (
                results["load_reports_2"] / results["pdftotext_2"]
            )
        for key, value in summary.items():
            shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}"
            print(f"{key:42} {shown}")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
