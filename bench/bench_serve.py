"""How fast the published registry answers, against stock Datasette on the
same file, at today's size (the real files) and at ten times it.

Builds a registry (``--scale 1``: the real files in $REAL_DATA_DIR;
``--scale 10``: bench/build_10x.py, through the real loader), serves it with
``ofsted-homes serve`` and with stock ``datasette`` (no metadata, no plugins
directory, default settings) on free loopback ports, and measures over HTTP:

* **sequential**: every route, ``--runs`` times each, round-robin (so a
  burst of load on the machine hits every route alike): p50, p95, max and
  the number of answers that were not 200. Goal: p95 under 200 ms.
* **8 at once**: every route, 8 clients each asking it ``--rounds`` times at
  the same moment. Goal: no answer other than 200 (no 400 "took too long",
  no 429, no 500).
* **baseline**: the index page and the homes table and facet pages, asked of
  our instance and of stock Datasette in turn; the ratio of medians. Goal:
  the index within 1.2x of stock.
* ``--flood``: home pages while 30 runaway ``?sql=`` queries run, and
  blob/printf bombs.

Routes: ``/``, every canned query with its default parameters and its
complete CSV export (``/registry/<story>.csv``, every row), /overview,
the biggest local authority's page (first and second page), the biggest
owner's page, 20 home pages, /search, and the homes and inspections tables
with the facets metadata.yml gives them (facets asked for in the URL are held
to two at a time by the request guard: the rest get 429 by design).

Usage::

    .venv/bin/python bench/bench_serve.py --scale 1
    .venv/bin/python bench/bench_serve.py --scale 10 --keep /tmp/bench-10x
    .venv/bin/python bench/bench_serve.py --registry some.db
    .venv/bin/python bench/bench_serve.py --registry x.db --only owners,.csv

``--registry`` takes a file of any name: one not called registry.db is
served through a link of that name (see ``as_registry_db``).

``--keep DIR`` builds the registry in DIR the first time and reuses it after
(the 10x build takes minutes). See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from registry.publish.serve import load_metadata  # noqa: E402

TARGET_P95_MS = 200
TARGET_INDEX_RATIO = 1.2
CONCURRENCY = 8
RUNAWAY = "with recursive c(x) as (select 1 union all select x + 1 from c) select count(*) from c"
BOMBS = [
    "select length(randomblob(900000000))",
    "select length(printf('%.*c', 900000000, 'x'))",
    "select length(replace(hex(zeroblob(50000000)), '0', 'xx'))",
]


# ------------------------------------------------------------------- helpers


def fetch(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        status = 0  # refused or reset: counted as a failure
    return status, (time.perf_counter() - started) * 1000


def p95(times: list[float]) -> float:
    times = sorted(times)
    return times[max(0, round(len(times) * 0.95) - 1)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], port: int, log: Path) -> subprocess.Popen:
    """A server process, its output to ``log`` (never a pipe nobody reads:
    a full pipe would stall the server), once it answers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[0]} exited: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=2).read()
            return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{command[0]} did not answer within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --------------------------------------------------------------- registries


def build_real(directory: Path) -> Path:
    real = Path(os.environ.get("REAL_DATA_DIR", ROOT.parent / "shared" / "real"))
    files = sorted((real / "ofsted").glob("*")) + sorted((real / "dfe").glob("*.csv"))
    path = directory / "registry.db"
    started = time.perf_counter()
    from build_10x import load_registry

    load_registry(path, files)
    print(
        f"built {path} from {len(files)} real files in {time.perf_counter() - started:.1f} s"
    )
    return path


def as_registry_db(path: Path) -> Path:
    """``path`` under the name metadata.yml describes: the stories and table
    notes belong to the database called "registry", and Datasette names a
    database after its file, so a file called anything else would answer
    404 on every story. Another name is linked as registry.db in a fresh
    temporary directory (the file itself is neither copied nor changed)."""
    path = path.resolve()
    if not path.is_file():
        raise SystemExit(f"--registry {path}: no such file")
    if path.name == "registry.db":
        return path
    link = Path(tempfile.mkdtemp(prefix="bench-serve-registry-")) / "registry.db"
    link.symlink_to(path)
    print(f"--registry {path}: served as {link} (a link) so the stories apply")
    return link


def registry_for(args: argparse.Namespace) -> Path:
    if args.registry:
        return as_registry_db(args.registry)
    directory = args.keep or Path(
        tempfile.mkdtemp(prefix=f"bench-serve-{args.scale}x-")
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "registry.db"
    if path.exists():
        return path
    if args.scale == 1:
        return build_real(directory)
    from build_10x import build

    return build(directory, copies=args.scale)


def describe(path: Path) -> dict:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        sizes = {
            table: conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608
            for table in ("homes", "home_snapshots", "inspections", "owners")
        }
        urns = [r[0] for r in conn.execute("select urn from homes order by urn")]
        owner = conn.execute(
            "select owner from homes where owner is not null group by owner"
            " order by count(*) desc, owner limit 1"
        ).fetchone()[0]
        la, la_homes = conn.execute(
            "select la_code, count(*) from homes where la_code is not null"
            " group by la_code order by count(*) desc, la_code limit 1"
        ).fetchone()
    finally:
        conn.close()
    return {
        "sizes": sizes,
        "urns": urns,
        "owner": owner,
        "la": la,
        "la_homes": la_homes,
    }


def routes(facts: dict) -> list[tuple[str, str]]:
    """(name, path) of every page and story measured."""
    queries = load_metadata("registry")["databases"]["registry"]["queries"]
    random.seed(5)
    homes = random.sample(facts["urns"], min(20, len(facts["urns"])))
    found = [("/ (index)", "/")]
    for name, spec in queries.items():
        params = {
            p: {"urn": homes[0], "q": "missing"}.get(p, "")
            for p in spec.get("params", [])
        }
        query = urllib.parse.urlencode(params)
        found.append((name, f"/registry/{name}" + (f"?{query}" if query else "")))
    for name, spec in queries.items():  # every row of each story, as CSV
        params = {
            p: {"urn": homes[0], "q": "missing"}.get(p, "")
            for p in spec.get("params", [])
        }
        query = urllib.parse.urlencode(params)
        found.append(
            (f"{name}.csv", f"/registry/{name}.csv" + (f"?{query}" if query else ""))
        )
    found += [
        ("/overview", "/overview"),
        (f"/la/<biggest> ({facts['la_homes']:,} homes)", f"/la/{facts['la']}"),
        ("/la/<biggest>?page=2", f"/la/{facts['la']}?page=2"),
        ("/owner/<biggest>", f"/owner/{facts['owner']}"),
        ("/search?q=care", "/search?q=care"),
        # the facets metadata.yml gives each table (sector, region,
        # latest_judgement, status; event_type, judgement, framework)
        ("homes table, 4 facets", "/registry/homes"),
        ("homes?status=active, 4 facets", "/registry/homes?status=active"),
        ("inspections table, 3 facets", "/registry/inspections"),
        ("home_snapshots table, 3 facets", "/registry/home_snapshots"),
        ("/registry (database page)", "/registry"),
    ]
    found += [(f"/home/<urn> #{i}", f"/home/{urn}") for i, urn in enumerate(homes)]
    return found


# -------------------------------------------------------------- measurements


def sequential(base: str, paths: list[tuple[str, str]], runs: int) -> dict:
    times: dict[str, list[float]] = {name: [] for name, _ in paths}
    failed: dict[str, list[int]] = {name: [] for name, _ in paths}
    for _name, path in paths:  # warm-up: first hit of each page (caches, plans)
        fetch(base + path)
    for _ in range(runs):
        for name, path in paths:
            status, ms = fetch(base + path)
            times[name].append(ms)
            if status != 200:
                failed[name].append(status)
    return {name: (times[name], failed[name]) for name in times}


def at_once(url: str, rounds: int) -> list[tuple[int, float]]:
    """CONCURRENCY clients ask ``url`` at the same moment, ``rounds`` times."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    gate = threading.Barrier(CONCURRENCY)

    def client() -> None:
        for _ in range(rounds):
            gate.wait()
            outcome = fetch(url)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def concurrent(base: str, paths: list[tuple[str, str]], rounds: int) -> dict:
    found = {}
    for name, path in paths:
        results = at_once(base + path, rounds)
        found[name] = (
            [ms for _, ms in results],
            [status for status, _ in results if status != 200],
        )
    return found


def against_stock(
    ours: str, stock: str, pairs: list[tuple[str, str, str]], runs: int
) -> dict:
    """(label, our path, stock's path) → (our median, stock's median), asked
    in turn; None for stock when it cannot answer (not a 200)."""
    found = {}
    for label, mine_path, their_path in pairs:
        fetch(ours + mine_path)  # warm-up
        if fetch(stock + their_path)[0] != 200:
            found[label] = (None, None)
            continue
        mine, theirs = [], []
        for _ in range(runs):
            mine.append(fetch(ours + mine_path)[1])
            theirs.append(fetch(stock + their_path)[1])
        found[label] = (statistics.median(mine), statistics.median(theirs))
    return found


def stock_pairs(paths: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """What to compare with stock Datasette: the index, the homes table and
    its facets, and each story as stock runs it, its SQL with the default
    parameters given as ``?sql=`` (stock has no canned queries nor our SQL
    functions: a story that uses them is left out)."""
    pairs = [
        ("/ (index)", "/", "/"),
        ("/registry/homes", "/registry/homes", "/registry/homes"),
        (
            "/registry/homes?_facet=sector&_facet=latest_judgement",
            "/registry/homes?_facet=sector&_facet=latest_judgement",
            "/registry/homes?_facet=sector&_facet=latest_judgement",
        ),
    ]
    queries = load_metadata("registry")["databases"]["registry"]["queries"]
    for name, path in paths:
        spec = queries.get(name)
        if spec is None or "list_date(" in spec["sql"] or "fts_query(" in spec["sql"]:
            continue
        query = urllib.parse.urlsplit(path).query
        stock_path = "/registry?" + urllib.parse.urlencode(
            {"sql": spec["sql"], **dict(urllib.parse.parse_qsl(query))}
        )
        pairs.append((f"story {name} (stock: as ?sql=)", path, stock_path))
    return pairs


def print_table(title: str, results: dict, *, timed: bool) -> list[str]:
    """Print one line per route; return the routes that missed the goal (p95
    under 200 ms when ``timed``, and every answer a 200)."""
    print(f"\n{title}")
    print(
        f"  {'route':<46} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
        f" {'p95/200ms':>9} {'non-200':>8}"
    )
    missed = []
    for name, (times, failed) in results.items():
        worst = p95(times)
        codes = ",".join(str(c) for c in sorted(set(failed)))
        flag = ""
        if (timed and worst >= TARGET_P95_MS) or failed:
            flag = "  <-- goal missed"
            missed.append(name)
        print(
            f"  {name[:46]:<46} {len(times):>4} {statistics.median(times):>8.1f}"
            f" {worst:>8.1f} {max(times):>8.1f} {worst / TARGET_P95_MS:>9.2f}"
            f" {len(failed):>8}{' (' + codes + ')' if codes else ''}{flag}"
        )
    return missed


def flood(base: str, homes: list[str]) -> None:
    print("\nhome pages while 30 runaway queries run at once:")
    results: list[tuple[int, float]] = []
    url = f"{base}/registry.json?" + urllib.parse.urlencode({"sql": RUNAWAY})
    threads = [
        threading.Thread(target=lambda: results.append(fetch(url))) for _ in range(30)
    ]
    for thread in threads:
        thread.start()
    during = [fetch(f"{base}/home/{urn}") for urn in homes]
    for thread in threads:
        thread.join()
    times = [ms for _, ms in during]
    print(
        f"  /home/<urn> during the flood: n={len(times)} p50={statistics.median(times):.1f} ms"
        f" p95={p95(times):.1f} ms, statuses {sorted({s for s, _ in during})}"
    )
    codes = sorted({status for status, _ in results})
    print(f"  runaway queries: statuses {codes}")
    print("\nbombs:")
    for sql in BOMBS:
        status, ms = fetch(
            f"{base}/registry.json?" + urllib.parse.urlencode({"sql": sql})
        )
        print(f"  {sql[:60]:<62} status {status} in {ms:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="1 (real files) or 10")
    parser.add_argument(
        "--keep", type=Path, help="build the registry here and reuse it"
    )
    parser.add_argument("--registry", type=Path, help="measure this registry instead")
    parser.add_argument(
        "--runs", type=int, default=50, help="sequential runs per route"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 8 at once")
    parser.add_argument(
        "--flood", action="store_true", help="also runaway SQL and bombs"
    )
    parser.add_argument(
        "--only",
        help="only routes whose name contains this (several: separate with commas)",
    )
    args = parser.parse_args()

    path = registry_for(args)
    facts = describe(path)
    print(
        f"registry {path}: "
        + ", ".join(f"{t} {n:,}" for t, n in facts["sizes"].items())
    )
    uptime = os.getloadavg()
    print(f"load average at start: {uptime[0]:.2f} {uptime[1]:.2f} {uptime[2]:.2f}")
    paths = routes(facts)
    if args.only:
        wanted = [w for w in args.only.split(",") if w]
        paths = [(n, p) for n, p in paths if any(w in n for w in wanted)]

    logs = Path(tempfile.mkdtemp(prefix="bench-serve-logs-"))
    ours_port, stock_port = free_port(), free_port()
    ours = start(
        [
            str(ROOT / ".venv/bin/ofsted-homes"),
            "serve",
            str(path),
            "--port",
            str(ours_port),
            "--silent",
        ],
        ours_port,
        logs / "ours.log",
    )
    stock = start(
        [
            str(ROOT / ".venv/bin/datasette"),
            "serve",
            "-i",
            str(path),
            "--port",
            str(stock_port),
        ],
        stock_port,
        logs / "stock.log",
    )
    ours_base = f"http://127.0.0.1:{ours_port}"
    stock_base = f"http://127.0.0.1:{stock_port}"
    try:
        compared = against_stock(
            ours_base, stock_base, stock_pairs(paths), runs=max(10, args.runs // 2)
        )
        print(
            "\nours against stock Datasette 0.65.5 on the same file (medians, interleaved):"
        )
        index_ratio = None
        for label, (mine, theirs) in compared.items():
            if mine is None:
                print(f"  {label:<58} stock cannot run it")
                continue
            ratio = mine / theirs
            if label == "/ (index)":
                index_ratio = ratio
            goal = f" (goal <= {TARGET_INDEX_RATIO}x)" if label == "/ (index)" else ""
            print(
                f"  {label[:58]:<58} ours {mine:7.1f} ms  stock {theirs:7.1f} ms"
                f"  ratio {ratio:5.2f}x{goal}"
            )

        missed = print_table(
            f"sequential, {args.runs} runs per route, round-robin:",
            sequential(ours_base, paths, args.runs),
            timed=True,
        )
        missed_together = print_table(
            f"{CONCURRENCY} at once, {args.rounds} rounds per route:",
            concurrent(ours_base, paths, args.rounds),
            timed=False,
        )
        if args.flood:
            flood(ours_base, facts["urns"][:50])
    finally:
        stop(ours)
        stop(stock)
    uptime = os.getloadavg()
    print(f"\nload average at end: {uptime[0]:.2f} {uptime[1]:.2f} {uptime[2]:.2f}")
    print(
        f"summary: index {index_ratio:.2f}x stock (goal <= {TARGET_INDEX_RATIO}x);"
        f" sequential p95 >= {TARGET_P95_MS} ms or non-200: {len(missed)} routes"
        f"{' ' + ', '.join(missed) if missed else ''};"
        f" {CONCURRENCY} at once, any non-200: "
        f"{', '.join(missed_together) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
