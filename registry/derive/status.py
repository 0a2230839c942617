"""Home status, derived from every listing of the register the registry holds.

A *listing* is a complete list of the homes registered on a date: one of
Ofsted's "providers at <date>" lists (`home_snapshots`), or a complete (full,
merged) crawl of Ofsted's search (`crawl_listings`). Files and crawls follow
one model, walked through the listings in date order:

* ``active``: on the newest listing (or first seen after it);
* ``missing``: absent from the newest listing, a crawl, after being on the
  one before (a search can drop a home for a day; it comes back if listed);
* ``inactive``: no longer listed: absent from an official list, or from two
  complete crawls in a row;
* ``not found``: its provider page answered 404/410 at the newest crawl.

``missing_since`` is the date of the first listing the home was absent from;
``status_note`` says it in words ("no longer listed as of 2025-03-31 …").
Status is derived from the listings alone, so rebuilding the registry from
its evidence gives the same statuses, whatever order files were loaded in.
Every change a crawl makes is logged in `home_status_history` (crawls come in
date order); `home_snapshots` is the record of which official lists held a
home. Sample listings judge only sample homes, and real
listings only real homes.

Example::

    changes = apply_status(db, crawl, thresholds=Thresholds())
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlite_utils import Database

from registry.provenance import utc_now
from registry.refresh.crawls import Crawl, Thresholds

ACTIVE, MISSING, INACTIVE, NOT_FOUND = "active", "missing", "inactive", "not found"


@dataclass
class Listing:
    """One complete list of registered homes."""

    at: str  # YYYY-MM-DD for a file, the crawl's start time for a crawl
    crawl_id: str | None  # None: an official list
    is_sample: int
    urns: set[str] = field(default_factory=set)
    not_found: set[str] = field(default_factory=set)

    @property
    def day(self) -> str:
        return self.at[:10]

    def describe(self) -> str:
        if self.crawl_id is None:
            return f"Ofsted's list of providers at {self.day}"
        return f"the complete crawl of Ofsted's search on {self.day}"


def _table_exists(db: Database, name: str) -> bool:
    return bool(
        db.execute(
            "select 1 from sqlite_master where type = 'table' and name = ?", [name]
        ).fetchone()
    )


def listings(db: Database) -> list[Listing]:
    """Every listing, oldest first (an official list before a crawl of the
    same day)."""
    found: dict[tuple, Listing] = {}
    for urn, as_at, is_sample in db.execute(
        "select h.urn, h.as_at, coalesce(s.is_sample, 0) from home_snapshots h "
        "left join sources s on s.sha256 = h.source_id"
    ):
        key = (as_at, "", is_sample)
        found.setdefault(key, Listing(as_at, None, is_sample)).urns.add(urn)
    if _table_exists(db, "crawl_listings"):
        for crawl_id, urn, listed_at, is_sample in db.execute(
            "select crawl_id, urn, listed_at, is_sample from crawl_listings"
        ):
            key = (listed_at, crawl_id, is_sample)
            found.setdefault(key, Listing(listed_at, crawl_id, is_sample)).urns.add(urn)
        if _table_exists(db, "crawl_observations"):
            by_crawl = {k[1]: v for k, v in found.items() if k[1]}
            for crawl_id, urn in db.execute(
                "select crawl_id, urn from crawl_observations "
                "where observation = 'not-found' and urn is not null"
            ):
                if crawl_id in by_crawl:
                    by_crawl[crawl_id].not_found.add(urn)
    return [found[k] for k in sorted(found, key=lambda k: (k[0], k[1] != "", k[1]))]


@dataclass
class Derived:
    status: str
    since: str | None  # missing_since
    changed: Listing | None  # the listing where this status began
    last_listed: str | None
    note: str


def _home_kinds(db: Database) -> tuple[dict[str, int], dict[str, str]]:
    """Per home: 1 if every source that mentions it is sample data, and the
    date it was first seen."""
    kinds: dict[str, int] = {}
    first: dict[str, str] = {}
    crawled = (
        " union all select urn, is_sample, substr(listed_at, 1, 10) from crawl_listings"
        if _table_exists(db, "crawl_listings")
        else ""
    )
    for urn, sample, seen in db.execute(
        "select urn, min(sample), min(seen) from ("  # noqa: S608
        " select h.urn, coalesce(s.is_sample, 0) as sample, h.as_at as seen"
        " from home_snapshots h left join sources s on s.sha256 = h.source_id"
        " union all select o.urn, coalesce(s.is_sample, 0), o.as_at"
        " from home_observations o left join sources s on s.sha256 = o.source_id"
        f"{crawled}) group by urn"
    ):
        kinds[urn], first[urn] = sample, seen
    return kinds, first


def derive(urn: str, first_seen: str | None, timeline: list[Listing]) -> Derived:
    """Walk one home through the listings of its kind."""
    state: str | None = None
    changed: Listing | None = None
    since: str | None = None
    last_listed: str | None = None
    for listing in timeline:
        listed = urn in listing.urns
        if listed:
            last_listed = listing.day
        if urn in listing.not_found:
            new = NOT_FOUND
        elif listed:
            new = ACTIVE
        elif first_seen is None or listing.day < first_seen:
            continue  # before the home existed as far as we know
        elif state in (None, ACTIVE):
            new = MISSING if listing.crawl_id else INACTIVE
        elif state in (MISSING, NOT_FOUND):
            new = INACTIVE
        else:
            new = state
        if new != state:
            if new == ACTIVE:
                since = None
            elif state in (None, ACTIVE):
                since = listing.day
            state, changed = new, listing
    if state is None:
        return Derived(
            ACTIVE, None, None, None, "seen in Ofsted's data; not on any list held"
        )
    if state == ACTIVE:
        assert changed is not None
        newest = next((lst for lst in reversed(timeline) if urn in lst.urns), changed)
        note = f"listed: on {newest.describe()}"
    elif state == MISSING:
        note = f"missing from {changed.describe()} (listed until {last_listed})"
    elif state == NOT_FOUND:
        note = f"provider page not found at {changed.describe()}"
    else:
        absent_from = next(
            (lst for lst in timeline if lst.day == since and urn not in lst.urns),
            changed,
        )
        note = f"no longer listed as of {since}: not on {absent_from.describe()}"
        if last_listed:
            note += f" (last listed {last_listed})"
    return Derived(state, since, changed, last_listed, note)


def derive_status(db: Database) -> dict[str, int]:
    """Re-derive every home's status from the listings; record changes in
    `home_status_history`. Returns counts of changes by new status."""
    if not _table_exists(db, "homes"):
        return {}
    timeline = listings(db)
    kinds, first = _home_kinds(db)
    by_kind: dict[int, list[Listing]] = defaultdict(list)
    for listing in timeline:
        by_kind[listing.is_sample].append(listing)
    current = {
        r[0]: r[1:]
        for r in db.execute(
            "select urn, status, missing_since, last_listed, status_note, "
            "status_changed_at from homes"
        )
    }
    # the log already kept: a rebuild of `homes` from the evidence walks the
    # same crawls again and must not log their changes twice
    logged = set(
        db.execute(
            "select urn, status, changed_at, crawl_id from home_status_history"
        ).fetchall()
    )
    counts: dict[str, int] = {}
    updates, history = [], []
    for urn, (status, *stored) in current.items():
        derived = derive(urn, first.get(urn), by_kind[kinds.get(urn, 0)])
        day = derived.changed.day if derived.changed else None
        fields = (derived.status, derived.since, derived.last_listed, derived.note, day)
        if fields == (status, *stored):
            continue
        updates.append((*fields, urn))
        if (
            derived.status != status
            and derived.changed
            and derived.changed.crawl_id
            and (urn, derived.status, day, derived.changed.crawl_id) not in logged
        ):
            # Crawls come in date order, so their changes are a log. A change an
            # official list makes needs no row: `home_snapshots` is its record,
            # and lists load in any order.
            history.append(
                (
                    urn,
                    derived.status,
                    status,
                    day,
                    derived.changed.crawl_id,
                    derived.note,
                )
            )
        if derived.status != status:
            counts[derived.status] = counts.get(derived.status, 0) + 1
    db.conn.executemany(
        "update homes set status = ?, missing_since = ?, last_listed = ?, "
        "status_note = ?, status_changed_at = ? where urn = ?",
        updates,
    )
    db.conn.executemany(
        "insert into home_status_history "
        "(urn, status, previous_status, changed_at, crawl_id, reason) "
        "values (?, ?, ?, ?, ?, ?)",
        history,
    )
    return counts


def apply_status(
    db: Database, crawl: Crawl, *, thresholds: Thresholds, is_sample: bool = False
) -> dict[str, int] | str:
    """After a complete crawl: keep its listing, then re-derive status.

    The gate counts only the homes this crawl was expected to see: those of
    its kind (sample or real) that are active now, i.e. on the newest listing.
    A home already known to be no longer listed (by an official list or an
    earlier crawl) is not expected, so a registry built from files refreshes
    like any other. Returns counts of changes, or a refusal reason (too many
    going missing at once)."""
    listed = crawl.listed
    not_found = {
        e["urn"]
        for e in crawl.of_kind("provider-page")
        if e.get("status") == "not-found"
    }
    kinds, _first = _home_kinds(db)
    kind = int(is_sample)
    expected = [
        r[0]
        for r in db.execute("select urn from homes where status = 'active'")
        if kinds.get(r[0], 0) == kind
    ]
    going_missing = sum(1 for u in expected if u not in listed and u not in not_found)
    if expected and going_missing > thresholds.max_missing_share * len(expected):
        return (
            f"crawl {crawl.id} would mark {going_missing} of the {len(expected)} "
            f"{'sample ' if is_sample else ''}homes on the newest listing missing "
            f"(over {thresholds.max_missing_share:.0%}); refusing rather than guessing"
        )
    at = crawl.summary.get("started_at") or crawl.summary.get("finished_at")
    if not at:
        at = utc_now()
    db.conn.executemany(
        "insert into crawl_listings (crawl_id, urn, listed_at, is_sample) "
        "values (?, ?, ?, ?) on conflict do nothing",
        [(crawl.id, urn, at, kind) for urn in sorted(listed)],
    )
    return derive_status(db)
