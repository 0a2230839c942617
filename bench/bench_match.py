"""Matcher quality and speed on a labelled, generated set of FOI rows.

Builds a registry of generated homes (owners with several homes in one local
authority, look-alike owner names), then FOI rows whose true home is known:
by URN, by provider and LA with typos, with wrong places, and rows for homes
that are not in the registry at all. Reports precision and recall of the
automatic matches and how often the true home is among the queued candidates.

    .venv/bin/python bench/bench_match.py            # 260 labelled rows
    .venv/bin/python bench/bench_match.py --rows 5000 --homes 4000   # speed

The test tests/incidents/test_matcher_quality.py imports ``labelled_set`` and
``evaluate`` from here.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LAS = [
    ("E10000017", "Lancashire", ["Lancashire County Council", "Lancashre", "Lancs CC"]),
    ("E10000016", "Kent", ["Kent County Council", "KENT", "Kent CC"]),
    (
        "E06000010",
        "Kingston upon Hull, City of",
        ["Hull", "Kingston upon Hull", "Hull City Council"],
    ),
    ("E08000025", "Birmingham", ["Birmingham City Council", "Birmingam", "birmingham"]),
    (
        "E09000008",
        "Croydon",
        ["London Borough of Croydon", "Croydn", "Croydon Council"],
    ),
    (
        "E10000011",
        "East Sussex",
        ["East Sussex County Council", "E Sussex", "East Susex"],
    ),
    (
        "E10000032",
        "West Sussex",
        ["West Sussex CC", "West Sussex County Council", "West Susex"],
    ),
    (
        "E06000024",
        "North Somerset",
        ["North Somerset Council", "N Somerset", "North Somerset"],
    ),
    (
        "E06000066",
        "Somerset",
        ["Somerset Council", "Somerset", "Somerset County Council"],
    ),
    ("E08000035", "Leeds", ["Leeds City Council", "Leeds", "Leeds MBC"]),
    (
        "E10000034",
        "Worcestershire",
        ["Worcestershire County Council", "Worcs", "Worcestershre"],
    ),
    ("E06000052", "Cornwall", ["Cornwall Council", "Cornwal", "Cornwall"]),
]
FIRST = [
    "Bright",
    "Oak",
    "Horizon",
    "Harbour",
    "Kingfisher",
    "Meadow",
    "Willow",
    "North Star",
    "Haven",
    "Pathway",
    "Compass",
    "Evergreen",
    "Phoenix",
    "Beacon",
    "Summit",
    "Cedar",
    "Hope",
    "Riverside",
    "Acorn",
    "Lighthouse",
]
SECOND = [
    "Care",
    "Homes",
    "Children's Services",
    "Residential",
    "Care Group",
    "Healthcare",
    "Young People's Services",
    "Futures",
]
SUFFIX = ["Ltd", "Limited", "Ltd.", "Group Ltd", "Limited"]


@dataclass
class Labelled:
    row: dict  # the FOI row (header → value)
    truth: str | None  # the URN it is about, None if that home is not in the registry


def make_homes(rng: random.Random, n_homes: int) -> list[dict]:
    owners = sorted(
        {
            f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.choice(SUFFIX)}"
            for _ in range(n_homes // 6)
        }
    )
    homes = []
    for number in range(n_homes):
        owner = rng.choice(owners)
        la = rng.choice(LAS)
        urn = f"SC{200000 + number:06d}" if number % 2 else f"{3000000 + number:07d}"
        homes.append(
            {
                "urn": urn,
                "owner": owner,
                "la_code": la[0],
                "la_name": la[1],
                "places": rng.choice([1, 2, 3, 3, 4, 4, 4, 5, 6, 8]),
            }
        )
        # owners often run a second home of the same size in the same LA
        if rng.random() < 0.15:
            twin = dict(homes[-1])
            twin["urn"] = f"{4000000 + number:07d}"
            homes.append(twin)
    return homes


def typo(rng: random.Random, text: str) -> str:
    choice = rng.random()
    if choice < 0.2:
        return (
            text.replace("Limited", "Ltd")
            if "Limited" in text
            else text.replace("Ltd", "Limited")
        )
    if choice < 0.35:
        return text.replace(" Ltd.", "").replace(" Ltd", "").replace(" Limited", "")
    if choice < 0.5:
        return text.upper()
    if choice < 0.65:
        return text.replace("'", "").replace(" and ", " & ")
    if choice < 0.85 and len(text) > 6:
        i = rng.randrange(1, len(text) - 2)
        return text[:i] + text[i + 1 :]  # a dropped letter
    if len(text) > 6:
        i = rng.randrange(1, len(text) - 3)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swapped letters
    return text


def labelled_set(
    seed: int = 6, n_homes: int = 400, n_rows: int = 260
) -> tuple[list[dict], list[Labelled]]:
    """Registry homes and labelled FOI rows (``n_rows`` ≥ 200)."""
    rng = random.Random(seed)
    homes = make_homes(rng, n_homes)
    by_urn = {h["urn"]: h for h in homes}
    absent = make_homes(
        random.Random(seed + 1), n_rows // 5
    )  # homes the registry lacks
    for number, home in enumerate(absent):
        home["urn"] = f"{5000000 + number:07d}"
        if number % 2:  # half are new homes of owners the registry knows
            home["owner"] = rng.choice(homes)["owner"]
    rows: list[Labelled] = []
    for number in range(n_rows):
        kind = number % 10
        if kind == 0:  # by URN, as written in many ways
            home = rng.choice(homes)
            urn = home["urn"]
            written = rng.choice(
                [
                    urn,
                    urn.lower(),
                    f" {urn} ",
                    urn[:2] + " " + urn[2:] if urn.startswith("SC") else f"{urn}.0",
                ]
            )
            rows.append(
                Labelled(
                    {
                        "URN": written,
                        "Provider": "",
                        "Local authority": "",
                        "Places": "",
                    },
                    urn,
                )
            )
            continue
        if kind in (1, 2):  # not in the registry
            home = rng.choice(absent)
            truth = None
        else:
            home = rng.choice(homes)
            truth = home["urn"]
        la_written = rng.choice(
            [home["la_name"], *next(la for la in LAS if la[0] == home["la_code"])[2]]
        )
        places = home["places"]
        places_written: object = places
        if rng.random() < 0.2:
            places_written = ""
        elif rng.random() < 0.1:
            places_written = places + rng.choice([-1, 1, 2])
        owner = home["owner"] if rng.random() < 0.3 else typo(rng, home["owner"])
        rows.append(
            Labelled(
                {
                    "URN": "",
                    "Provider": owner,
                    "Local authority": la_written,
                    "Places": places_written,
                },
                truth,
            )
        )
    assert all(r.truth is None or r.truth in by_urn for r in rows)
    return homes, rows


def build_registry(path: Path, homes: list[dict]):
    from extract.normalise import owner_id
    from registry.schema.db import open_registry

    db = open_registry(path)
    with db.conn:
        for code, name, _ in LAS:
            if not db["local_authorities"].count_where("la_code = ?", [code]):
                db["local_authorities"].insert({"la_code": code, "name": name})
        db["owners"].upsert_all(
            ({"id": owner_id(h["owner"]), "name": h["owner"]} for h in homes), pk="id"
        )
        db["homes"].insert_all(
            {
                "urn": h["urn"],
                "la_code": h["la_code"],
                "local_authority": h["la_name"],
                "places": h["places"],
                "owner": owner_id(h["owner"]),
                "status": "active",
            }
            for h in homes
        )
    return db


def record_for(row: dict, line: int):
    from extract.incidents import IncidentRecord
    from extract.normalise import clean_text, normalise_urn, parse_count

    return IncidentRecord(
        rows=(line,),
        urn=normalise_urn(row["URN"]),
        urn_as_published=clean_text(row["URN"]),
        home_name=None,
        provider=clean_text(row["Provider"]),
        local_authority=clean_text(row["Local authority"]),
        address=None,
        postcode=None,
        places=parse_count(row["Places"]),
        kind="missing",
        period=None,
        incidents=1,
        incidents_as_published="1",
        children=None,
        children_as_published=None,
    )


def evaluate(db, rows: list[Labelled]) -> dict:
    from registry.incidents.matching import Matcher

    matcher = Matcher(db)
    counts = {
        "rows": len(rows),
        "with_truth": 0,
        "auto": 0,
        "auto_right": 0,
        "auto_wrong": 0,
        "queued": 0,
        "queued_with_truth": 0,
        "unmatched": 0,
        "unmatched_with_truth": 0,
    }
    wrong = []
    started = time.perf_counter()
    for line, item in enumerate(rows, start=2):
        match = matcher.match(record_for(item.row, line))
        counts["with_truth"] += item.truth is not None
        if match.status == "matched":
            counts["auto"] += 1
            if match.urn == item.truth:
                counts["auto_right"] += 1
            else:
                counts["auto_wrong"] += 1
                wrong.append((item.row, item.truth, match.urn, match.note))
        elif match.status == "queued":
            counts["queued"] += 1
            counts["queued_with_truth"] += item.truth in {
                c.urn for c in match.candidates
            }
        else:
            counts["unmatched"] += 1
            counts["unmatched_with_truth"] += item.truth is not None
    counts["seconds"] = time.perf_counter() - started
    counts["precision"] = (
        counts["auto_right"] / counts["auto"] if counts["auto"] else 1.0
    )
    counts["recall"] = (
        counts["auto_right"] / counts["with_truth"] if counts["with_truth"] else 0.0
    )
    reachable = counts["auto_right"] + counts["queued_with_truth"]
    counts["recall_with_review"] = (
        reachable / counts["with_truth"] if counts["with_truth"] else 0.0
    )
    counts["wrong"] = wrong
    return counts


def _time_load(db, folder: Path, rows: list[Labelled]) -> None:
    import csv

    from registry.incidents.incidents import load_incidents

    path = folder / "foi.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["URN", "Provider", "Local authority", "Places", "Year", "Incidents"]
        )
        for number, item in enumerate(rows):
            row = item.row
            writer.writerow(
                [
                    row["URN"],
                    row["Provider"],
                    row["Local authority"],
                    row["Places"],
                    2020 + number % 4,
                    number % 40,
                ]
            )
    started = time.perf_counter()
    load = load_incidents(db, path, source_name="bench")
    seconds = time.perf_counter() - started
    print(
        f"load-incidents: {len(rows):,} rows in {seconds:.2f} s ({len(rows) / seconds:,.0f} rows/s): {load.result.summary}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=260)
    parser.add_argument("--homes", type=int, default=400)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--load",
        action="store_true",
        help="also time load-incidents on the rows as a CSV",
    )
    args = parser.parse_args()
    homes, rows = labelled_set(args.seed, args.homes, args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        db = build_registry(Path(tmp) / "bench.db", homes)
        result = evaluate(db, rows)
        if args.load:
            _time_load(db, Path(tmp), rows)
    print(
        f"{len(homes)} homes, {result['rows']} labelled rows ({result['with_truth']} about a home in the registry)"
    )
    print(
        f"automatic matches: {result['auto']} — right {result['auto_right']}, wrong {result['auto_wrong']}"
    )
    print(
        f"precision {result['precision']:.3f}, recall {result['recall']:.3f}, "
        f"recall after review (true home among candidates) {result['recall_with_review']:.3f}"
    )
    print(
        f"queued {result['queued']} (true home among candidates in {result['queued_with_truth']}), "
        f"unmatched {result['unmatched']} ({result['unmatched_with_truth']} of them about a registry home)"
    )
    print(
        f"{result['rows'] / result['seconds']:,.0f} rows/s ({result['seconds']:.2f} s)"
    )
    for row, truth, got, note in result["wrong"][:10]:
        print("WRONG", row, "truth", truth, "got", got, note)


if __name__ == "__main__":
    main()
