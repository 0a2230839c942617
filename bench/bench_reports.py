"""Benchmark: reading report PDFs, against poppler's `pdftotext`.

The goal it checks: reading the sample corpus takes at most 1.5 times the wall
time of ``pdftotext`` over the same files on 2 workers, CLI start-up included.

The corpus is the sample site's reports (``--homes 200``, seed 1: the reports
``make demo`` crawls and loads), rendered once into ``--pdf-cache`` and reused
from there (rendering is not timed). ``--corpus bench`` instead renders the
older synthetic corpus (every layout, 2-9 pages each, ``--reports`` of them).

Timed, interleaved round by round on the same files (medians over
``--rounds``):

* ``pdftotext``: one process per file, two at a time (``xargs -P2``), text to
  ``/dev/null``: the baseline;
* ``cli``: ``ofsted-homes load-reports --workers 2 --silent`` into a fresh
  registry, as a subprocess: start-up, migrations, the sandboxed pool, writing
  and linking, everything a user waits for;
* ``pool``: ``extract.sandbox.extract_many(workers=2)``, timed inside a fresh
  process from the first file handed out to the last result (pool start-up
  and parsing; no interpreter start-up, no registry).

Wall time is what the goal is about; CPU time (``RUSAGE_CHILDREN`` for the
subprocesses, the CLI's orphaned forkserver and workers included, and the
workers' own per-file figures for the pool) is printed as well,
since a machine shared with other work disturbs it less. The load average is
printed before and after.

Usage::

    .venv/bin/python bench/bench_reports.py --pdf-cache /tmp/sample-pdfs
    .venv/bin/python bench/bench_reports.py --rounds 7 --json result.json
    .venv/bin/python bench/bench_reports.py --corpus bench --reports 300
    .venv/bin/python bench/bench_reports.py --only cli,pdftotext
    .venv/bin/python bench/bench_reports.py --tree /tmp/old-checkout   # before/after
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 1.5

FILLER = (
    "Inspectors spoke to children, staff, parents and social workers, and read "
    "records of care, incidents and complaints. Children's plans are detailed and "
    "reviewed regularly, and staff understand each child's needs and risks well."
)


def sample_corpus(folder: Path, homes: int, seed: int) -> list[Path]:
    """The sample site's report PDFs, rendered into ``folder`` once."""
    from sample_site.server import SampleSite

    folder.mkdir(parents=True, exist_ok=True)
    site = SampleSite(homes=homes, seed=seed, cache_dir=folder)
    paths = []
    for inspection in site.population.inspections:
        if site.report_pdf(inspection.file_id) is not None:
            paths.append(folder / f"report-{seed}-{inspection.file_id}.pdf")
    return paths


def bench_corpus(folder: Path, count: int) -> list[Path]:
    """The synthetic corpus: every layout, with filler to vary the length."""
    from sample_site.report_pdfs import render_report, sample_report

    weights = ["sccif"] * 6 + [
        "interim",
        "monitoring",
        "assurance",
        "2015",
        "2014",
        "nms2010",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(count):
        layout = weights[number % len(weights)]
        path = folder / f"report-{number:05d}-{layout}.pdf"
        if not path.exists():
            spec = sample_report(f"SC{200000 + number}", seed=number, layout=layout)
            spec["narrative"] = spec["narrative"] + [FILLER] * (number % 7) * 8
            render_report(spec, path, layout=layout)
        paths.append(path)
    return paths


def adopt_orphans() -> bool:
    """Become a child subreaper (Linux): the CLI's forkserver and workers,
    orphaned when it exits, are then reaped here and their CPU time counted."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def time_pdftotext(paths: list[Path], work: Path) -> tuple[float, float]:
    """(wall, CPU) of ``pdftotext`` over every file, two at a time."""
    listing = work / "files.txt"
    listing.write_text("".join(f"{p}\0" for p in paths))
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(
        f"xargs -0 -P2 -I{{}} pdftotext -q {{}} - < {listing} > /dev/null",
        shell=True,
        check=True,
    )
    return time.perf_counter() - start, children_cpu() - cpu


#: The code timed: this repository, or another checkout (``--tree``).
TREE = ROOT

LAUNCHER = """import sys
sys.path.insert(0, {tree!r})
from registry.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""


def cli_command(work: Path) -> list[str]:
    """The installed ``ofsted-homes`` script, or for another tree a script
    made like it (a file that imports the command line, then runs it)."""
    if TREE == ROOT:
        return [str(Path(sys.executable).with_name("ofsted-homes"))]
    launcher = work / "ofsted-homes-tree"
    launcher.write_text(LAUNCHER.format(tree=str(TREE)))
    return [sys.executable, str(launcher)]


def time_cli(paths: list[Path], work: Path) -> tuple[float, float]:
    """(wall, CPU) of ``ofsted-homes load-reports`` into a fresh registry."""
    db = work / "cli.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    command = [
        *cli_command(work),
        "load-reports",
        str(db),
        *map(str, paths),
        "--workers",
        "2",
        "--silent",
    ]
    cpu = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    reap_orphans()  # its forkserver and workers, for their CPU time
    if done.returncode != 0:
        raise SystemExit(f"load-reports failed ({done.returncode}): {done.stderr}")
    return wall, children_cpu() - cpu


POOL_SCRIPT = """
import json, sys, time
from pathlib import Path
from extract.sandbox import extract_many
paths = [Path(p) for p in Path(sys.argv[1]).read_text().split("\\0") if p]
parent = time.process_time()
start = time.perf_counter()
outcomes = list(extract_many(paths, workers=2))
wall = time.perf_counter() - start
bad = [o.message for o in outcomes if not o.ok]
assert not bad, bad[:5]
cpu = time.process_time() - parent + sum(o.cpu_seconds or 0.0 for o in outcomes)
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def time_pool(paths: list[Path], work: Path) -> tuple[float, float]:
    """(wall, CPU) of ``extract_many(workers=2)``, timed inside a fresh
    process (so its pool starts from nothing, as in any run) from the first
    file handed out to the last result: no interpreter start-up, imports or
    registry. CPU is the workers' own per-file figures plus the parent's."""
    listing = work / "files.txt"
    listing.write_text("".join(f"{p}\0" for p in paths))
    done = subprocess.run(
        [sys.executable, "-c", POOL_SCRIPT, str(listing)],
        capture_output=True,
        text=True,
        cwd=TREE,
    )
    reap_orphans()
    if done.returncode != 0:
        raise SystemExit(f"the pool failed ({done.returncode}): {done.stderr}")
    figures = json.loads(done.stdout)
    return figures["wall"], figures["cpu"]


MEASURES = {"pdftotext": time_pdftotext, "cli": time_cli, "pool": time_pool}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["sample", "bench"], default="sample")
    parser.add_argument("--homes", type=int, default=200, help="sample site size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reports", type=int, default=300, help="--corpus bench")
    parser.add_argument(
        "--pdf-cache", type=Path, help="keep the rendered PDFs here between runs"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--only", default="pdftotext,cli,pool", help="comma-separated measures"
    )
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--tree",
        type=Path,
        help="time the code of another checkout (e.g. a `git worktree` of an "
        "older commit) with this one's venv",
    )
    args = parser.parse_args()
    if args.tree is not None:
        global TREE
        TREE = args.tree.resolve()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures {sorted(unknown)}: use {sorted(MEASURES)}")
    if "pdftotext" in names and shutil.which("pdftotext") is None:
        parser.error("pdftotext is not installed (Debian: apt install poppler-utils)")

    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        cache = args.pdf_cache or work / "pdfs"
        start = time.perf_counter()
        if args.corpus == "sample":
            paths = sample_corpus(cache / f"sample-{args.homes}", args.homes, args.seed)
        else:
            paths = bench_corpus(cache / f"bench-{args.reports}", args.reports)
        print(
            f"corpus: {len(paths)} PDFs, {sum(p.stat().st_size for p in paths):,} "
            f"bytes (ready in {time.perf_counter() - start:.1f} s, not timed)"
        )
        if "cli" in names and not adopt_orphans():
            print("cli CPU time leaves out its workers (no PR_SET_CHILD_SUBREAPER)")
        print(f"code: {TREE}")
        print(f"load average before: {load_average()}")
        walls: dict[str, list[float]] = {n: [] for n in names}
        cpus: dict[str, list[float]] = {n: [] for n in names}
        for number in range(args.rounds):
            # interleaved, and the order rotated, so drifting load hits all alike
            order = names[number % len(names) :] + names[: number % len(names)]
            shown = []
            for name in order:
                wall, cpu = MEASURES[name](paths, work)
                walls[name].append(wall)
                cpus[name].append(cpu)
                shown.append(f"{name} {wall:.2f} s")
            print(f"round {number + 1}: " + ", ".join(shown), flush=True)
        print(f"load average after: {load_average()}")

        summary: dict[str, float | int | str] = {"files": len(paths)}
        for name in names:
            summary[f"{name}_wall_median_s"] = statistics.median(walls[name])
            summary[f"{name}_cpu_median_s"] = statistics.median(cpus[name])
        if "pdftotext" in names:
            base_wall = statistics.median(walls["pdftotext"])
            base_cpu = statistics.median(cpus["pdftotext"])
            for name in names:
                if name == "pdftotext":
                    continue
                ratios = [
                    w / b for w, b in zip(walls[name], walls["pdftotext"], strict=True)
                ]
                summary[f"ratio_{name}_wall"] = (
                    statistics.median(walls[name]) / base_wall
                )
                summary[f"ratio_{name}_wall_round_median"] = statistics.median(ratios)
                summary[f"ratio_{name}_cpu"] = statistics.median(cpus[name]) / base_cpu
        summary["load_average_after"] = load_average()
        for key, value in summary.items():
            shown = f"{value:,.3f}" if isinstance(value, float) else f"{value}"
            print(f"{key:36} {shown}")
        if "pdftotext" in names:
            for name in ("cli", "pool"):
                if name in names:
                    ratio = summary[f"ratio_{name}_wall"]
                    verdict = "meets" if ratio <= GOAL else "misses"
                    print(f"{name}: {ratio:.2f}x pdftotext wall, {verdict} {GOAL}x")
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
