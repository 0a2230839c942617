"""How fast the published registry answers, on the real official files.

Builds a registry from $REAL_DATA_DIR (Ofsted 2025 workbook, in-year
inspections, DfE missing files), serves it with `ofsted-homes serve` on a free
loopback port, and measures over HTTP:

* every canned query with its default parameters (5 runs each);
* 200 home pages, the owner and LA pages of the biggest owner and LA,
  /overview, and the homes table faceted by sector;
* the same home pages while 30 runaway queries run at once (reliability.md
  D4: head-of-line blocking without a separate SQL process);
* blob/printf bombs (D5).

Usage: .venv/bin/python bench/bench_serve.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "publish"))

from conftest import start_server, stop_server  # noqa: E402

from registry.publish.serve import METADATA_PATH  # noqa: E402

RUNAWAY = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
BOMBS = [
    "select length(randomblob(900000000))",
    "select length(printf('%.*c', 900000000, 'x'))",
    "select length(replace(hex(zeroblob(50000000)), '0', 'xx'))",
]


def fetch(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return status, (time.perf_counter() - started) * 1000


def summary(name: str, times: list[float]) -> str:
    times = sorted(times)
    p95 = times[max(0, round(len(times) * 0.95) - 1)]
    return (
        f"{name:<44} n={len(times):<4} p50={statistics.median(times):7.1f} ms"
        f"  p95={p95:7.1f} ms  max={times[-1]:7.1f} ms"
    )


def build(directory: Path) -> Path:
    real = Path(os.environ.get("REAL_DATA_DIR", ROOT.parent / "shared" / "real"))
    files = sorted((real / "ofsted").glob("*")) + sorted((real / "dfe").glob("*.csv"))
    path = directory / "registry.db"
    started = time.perf_counter()
    subprocess.run(
        [
            str(ROOT / ".venv/bin/ofsted-homes"),
            "load",
            str(path),
            *map(str, files),
            "--silent",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    counts = {
        t: conn.execute(f"select count(*) from {t}").fetchone()[0]  # noqa: S608
        for t in ("homes", "inspections", "home_snapshots")
    }
    conn.close()
    print(
        f"built {path.name} from {len(files)} real files in {time.perf_counter() - started:.1f} s: {counts}"
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="build the registry here and keep it")
    args = parser.parse_args()
    directory = args.keep or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "registry.db"
    if not path.exists():
        path = build(directory)
    import sqlite3

    conn = sqlite3.connect(path)
    urns = [r[0] for r in conn.execute("select urn from homes")]
    owner = conn.execute(
        "select owner from homes where owner is not null group by owner order by count(*) desc limit 1"
    ).fetchone()[0]
    la = conn.execute(
        "select la_code from homes where la_code is not null group by la_code order by count(*) desc limit 1"
    ).fetchone()[0]
    conn.close()
    random.seed(5)
    sample = random.sample(urns, 200)

    process, base = start_server(path)
    try:
        queries = yaml.safe_load(METADATA_PATH.read_text())["databases"]["registry"][
            "queries"
        ]
        print("\ncanned queries (default parameters), 5 runs each:")
        for name, spec in queries.items():
            params = {
                p: {"urn": sample[0], "q": "missing"}.get(p, "")
                for p in spec.get("params", [])
            }
            url = f"{base}/registry/{name}.json?" + urllib.parse.urlencode(params)
            runs = [fetch(url) for _ in range(5)]
            assert all(status == 200 for status, _ in runs), (name, runs)
            print("  " + summary(name, [ms for _, ms in runs]))

        print("\npages:")
        homes = [fetch(f"{base}/home/{urn}") for urn in sample]
        assert all(status == 200 for status, _ in homes)
        print("  " + summary("/home/<urn> (200 homes)", [ms for _, ms in homes]))
        for path_ in (
            f"/owner/{owner}",
            f"/la/{la}",
            "/overview",
            "/registry/homes?_facet=sector",
            "/registry/inspections?_facet=judgement",
        ):
            runs = [fetch(base + path_) for _ in range(5)]
            assert all(status == 200 for status, _ in runs), path_
            print("  " + summary(path_, [ms for _, ms in runs]))

        print("\nhome pages while 30 runaway queries run at once:")
        results: list[tuple[int, float]] = []
        url = f"{base}/registry.json?" + urllib.parse.urlencode({"sql": RUNAWAY})
        threads = [
            threading.Thread(target=lambda: results.append(fetch(url)))
            for _ in range(30)
        ]
        for thread in threads:
            thread.start()
        during = [fetch(f"{base}/home/{urn}") for urn in sample[:50]]
        for thread in threads:
            thread.join()
        print(
            "  "
            + summary("/home/<urn> during the flood (50)", [ms for _, ms in during])
        )
        codes = sorted({status for status, _ in results})
        print(
            "  "
            + summary(f"runaway queries (status {codes})", [ms for _, ms in results])
        )

        print("\nbombs (reliability.md D5):")
        for sql in BOMBS:
            status, ms = fetch(
                f"{base}/registry.json?" + urllib.parse.urlencode({"sql": sql})
            )
            print(f"  {sql[:60]:<62} status {status} in {ms:6.1f} ms")
    finally:
        stop_server(process)


if __name__ == "__main__":
    main()
