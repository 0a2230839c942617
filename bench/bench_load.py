"""Benchmark: load every real official file into a fresh registry, then load
them again (unchanged files are skipped by SHA-256).

    REAL_DATA_DIR=../shared/real .venv/bin/python bench/bench_load.py [--repeat 3]

Targets (issue 2): first load under 10 s, reload under 1 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from registry.loading.files import load_files
from registry.schema.db import open_registry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--real", default=os.environ.get("REAL_DATA_DIR", "../shared/real")
    )
    args = parser.parse_args()
    real = Path(args.real)
    files = sorted(p for p in real.rglob("*") if p.is_file() and p.suffix != ".md")
    if not files:
        print(f"No files under {real}: set REAL_DATA_DIR", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in files)
    print(f"{len(files)} files, {size / 1e6:.1f} MB, from {real}")
    first, again = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            db = open_registry(Path(tmp) / "registry.db")
            start = time.perf_counter()
            results = load_files(db, files)
            first.append(time.perf_counter() - start)
            assert all(r.ok for r in results), [r.summary for r in results if not r.ok]
            start = time.perf_counter()
            results = load_files(db, files)
            again.append(time.perf_counter() - start)
            assert all(r.skipped for r in results)
            counts = {
                t: db[t].count for t in ("homes", "inspections", "la_missing_stats")
            }
    print(f"registry: {counts}")
    print(
        f"first load: median {statistics.median(first):.2f} s "
        f"(min {min(first):.2f}, max {max(first):.2f}; target < 10 s)"
    )
    print(
        f"reload of unchanged files: median {statistics.median(again):.3f} s "
        f"(min {min(again):.3f}, max {max(again):.3f}; target < 1 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
