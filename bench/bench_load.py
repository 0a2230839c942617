"""Benchmark: `ofsted-homes load` of every real official file (Ofsted's
providers lists and inspections tables, DfE's missing-from-care files) against
a naive baseline that reads the same files with the project's readers and
dumps their raw rows with sqlite_utils ``insert_all``; then a reload of the
unchanged files. Each run is a child process (interpreter start-up counted in
both), the two alternate round by round, and the report gives medians, the
ratio and each child's peak resident memory.

    REAL_DATA_DIR=/work/shared/real .venv/bin/python bench/bench_load.py [--rounds 5]

Goals (issue 14): load at most 1.5x the naive dump, measured in the same run;
reload of unchanged files under 1 s; memory flat (under 200 MB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the console command, run from this checkout (as `ofsted-homes` runs it)
COMMAND = [sys.executable, "-c", "from registry.cli.main import main; main()"]

# The naive baseline: what a user of sqlite-utils would write with the
# project's readers. Every row of every table read, as published, no
# derivation, no provenance, no upserts.
NAIVE = r"""
import sys
from pathlib import Path
from sqlite_utils import Database
from extract import ofsted
from extract.kinds import parse_tabular

db = Database(sys.argv[1])
for name in sys.argv[2:]:
    parsed = parse_tabular(Path(name))
    if parsed.kind == "ofsted":
        for table in parsed.ofsted.tables:
            db["raw_homes"].insert_all(
                (ofsted.as_row(row.home) for row in table.rows), alter=True
            )
            db["raw_inspections"].insert_all(
                (
                    ofsted.as_row(i)
                    for row in table.rows
                    for i in (*row.inspections, *row.earlier)
                ),
                alter=True,
            )
    elif parsed.kind == "dfe":
        db["raw_" + parsed.dfe.kind.replace("-", "_")].insert_all(
            (ofsted.as_row(s) for s in parsed.dfe.statistics), alter=True
        )
"""


def run_child(args: list[str]) -> tuple[float, float]:
    """Run a child to the end: (wall seconds, peak resident MB of that child)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out, err = process.communicate()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(
            f"{' '.join(args[:3])} … failed ({process.returncode}):\n"
            f"{out.decode()[-2000:]}{err.decode()[-2000:]}"
        )
    return wall, usage.ru_maxrss / 1024  # KB on Linux


def real_files(real: Path) -> list[Path]:
    return sorted(
        p
        for folder in ("ofsted", "dfe")
        for p in (real / folder).iterdir()
        if p.is_file() and p.suffix in (".csv", ".ods", ".xlsx", ".xls")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--copies",
        type=int,
        default=4,
        help="memory check: load the files plus this many altered copies of each CSV",
    )
    parser.add_argument(
        "--real", default=os.environ.get("REAL_DATA_DIR", "../shared/real")
    )
    args = parser.parse_args()
    files = real_files(Path(args.real))
    if not files:
        print(f"No files under {args.real}/ofsted or /dfe: set REAL_DATA_DIR")
        return 2
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {size / 1e6:.1f} MB, from {args.real}")
    names = [str(p) for p in files]
    naive, load, reload, rss = [], [], [], {"naive": [], "load": [], "reload": []}
    for number in range(1, args.rounds + 1):
        tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
        try:
            raw = tmp / "naive.db"
            wall, peak = run_child([sys.executable, "-c", NAIVE, str(raw), *names])
            naive.append(wall)
            rss["naive"].append(peak)
            db = tmp / "registry.db"
            command = [*COMMAND, "load", str(db), *names, "--silent"]
            wall, peak = run_child(command)
            load.append(wall)
            rss["load"].append(peak)
            wall, peak = run_child(command)  # every file already loaded
            reload.append(wall)
            rss["reload"].append(peak)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(
            f"round {number}: naive {naive[-1]:.2f} s, load {load[-1]:.2f} s "
            f"({load[-1] / naive[-1]:.2f}x), reload {reload[-1]:.2f} s"
        )
    ratio = statistics.median(load) / statistics.median(naive)
    print(
        f"naive insert_all: median {statistics.median(naive):.2f} s "
        f"(min {min(naive):.2f}, max {max(naive):.2f})"
    )
    print(
        f"ofsted-homes load: median {statistics.median(load):.2f} s "
        f"(min {min(load):.2f}, max {max(load):.2f})"
    )
    print(f"ratio load / naive (medians): {ratio:.2f}x (goal <= 1.5x)")
    print(
        f"reload of unchanged files: median {statistics.median(reload):.2f} s "
        f"(min {min(reload):.2f}, max {max(reload):.2f}; goal < 1 s, "
        "interpreter start-up included)"
    )
    print(
        "peak RSS (MB, max over rounds): "
        + ", ".join(f"{k} {max(v):.0f}" for k, v in rss.items())
        + " (goal < 200 MB)"
    )
    memory(names, files, args.copies)
    print(
        f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    return 0


def memory(names: list[str], files: list[Path], copies: int) -> None:
    """Peak RSS of one load of the files, and of the files with ``copies``
    copies of every CSV (a blank line added per copy: the same rows, a new
    SHA-256, so every copy is loaded): flat memory stays the same."""
    if copies < 1:
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-memory-"))
    try:
        extra = []
        for number in range(1, copies + 1):
            for path in files:
                if path.suffix == ".csv":
                    copy = tmp / f"copy{number}-{path.name}"
                    copy.write_bytes(path.read_bytes() + b"\n" * number)
                    extra.append(str(copy))
        peaks = {}
        for batch in (names, names + extra):
            db = tmp / f"registry-{len(batch)}.db"
            wall, peak = run_child([*COMMAND, "load", str(db), *batch, "--silent"])
            peaks[len(batch)] = (wall, peak)
        print(
            "memory: "
            + "; ".join(
                f"{count} files: peak RSS {peak:.0f} MB ({wall:.1f} s)"
                for count, (wall, peak) in peaks.items()
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
