"""Derived columns and tables the stories read instead of working them out on
every request.

At ten times today's registry two stories spent most of their time on SQL that
gives the same answer until the next load: ``downgrades`` looked up every full
inspection's previous one (a correlated subquery per inspection: 1.6 s for the
complete CSV), and ``owners`` counted and graded every home on a list (60 ms
before the first row). Both are now derived when the registry changes:

* ``inspections.previous_full_inspection_date``, ``previous_judgement`` and
  ``judgement_change``: for a full inspection, the home's latest earlier full
  inspection whose judgement is on the one scale (`judgement_scale`; at the
  same date, the larger inspection id), and the change in steps on that scale
  (negative: down; NULL when either judgement is not on it). NULL for other
  events. :func:`derive_judgement_changes`, for the homes being derived.
* ``owner_snapshots``: one row per (Ofsted list, owner), the homes, places and
  judgements the list gives the owner. :func:`derive_owner_snapshots`, from
  `home_snapshots` (a list's rows) alone, for the lists a load wrote rows of
  (:func:`mark_list`, ``owner_snapshots_pending``): a load of reports or a
  crawl recounts no list.

Both are derived like `homes` and `inspections` (``registry.derive.derive``):
deleting them and rebuilding gives them back exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlite_utils import Database

# One statement for any set of homes: each of their inspections gets its
# previous judged full inspection and the change on the scale; only rows whose
# values change are written.
_JUDGEMENT_CHANGES = """
UPDATE inspections SET
    previous_full_inspection_date = x.previous_date,
    previous_judgement = x.previous_judgement,
    judgement_change = x.change
FROM (
    SELECT i.id AS id,
        p.inspection_date AS previous_date,
        p.judgement AS previous_judgement,
        s.score - ps.score AS change
    FROM inspections i
    LEFT JOIN inspections p ON i.event_type = 'Full inspection' AND p.id = (
        SELECT k.id FROM inspections k
        WHERE k.urn = i.urn AND k.event_type = 'Full inspection'
          AND k.inspection_date < i.inspection_date
          AND k.judgement IN (SELECT judgement FROM judgement_scale)
        ORDER BY k.inspection_date DESC, k.id DESC LIMIT 1)
    LEFT JOIN judgement_scale s ON s.judgement = i.judgement
    LEFT JOIN judgement_scale ps ON ps.judgement = p.judgement
    WHERE {homes}
) AS x
WHERE inspections.id = x.id
  AND (inspections.previous_full_inspection_date IS NOT x.previous_date
       OR inspections.previous_judgement IS NOT x.previous_judgement
       OR inspections.judgement_change IS NOT x.change)
"""


def derive_judgement_changes(db: Database, urns: Iterable[str] | None = None) -> None:
    """Fill the previous-inspection columns of these homes' inspections (all
    homes when ``urns`` is None). The caller holds the transaction."""
    if urns is None:
        db.execute(_JUDGEMENT_CHANGES.format(homes="1"))
        return
    db.execute(
        _JUDGEMENT_CHANGES.format(homes="i.urn IN (SELECT value FROM json_each(?))"),
        [json.dumps(sorted(urns))],
    )


# Every (list, owner) of some lists as the lists' rows give it now.
_OWNER_COUNTS = """
SELECT h.as_at AS as_at, h.owner AS owner,
    count(*) AS homes,
    sum(h.places) AS places,
    count(*) FILTER (WHERE s.grade = 'outstanding') AS outstanding,
    count(*) FILTER (WHERE s.grade = 'good') AS good,
    count(*) FILTER (WHERE s.grade = 'requires_improvement') AS requires_improvement,
    count(*) FILTER (WHERE s.grade = 'inadequate') AS inadequate,
    count(*) FILTER (WHERE h.latest_judgement IS NULL) AS not_yet_judged,
    count(h.latest_judgement) AS judged
FROM home_snapshots h
LEFT JOIN judgement_scale s ON s.judgement = h.latest_judgement
WHERE h.owner IS NOT NULL AND {lists}
GROUP BY h.as_at, h.owner
"""

_COUNTS = (
    "homes",
    "places",
    "outstanding",
    "good",
    "requires_improvement",
    "inadequate",
    "not_yet_judged",
    "judged",
)


def mark_list(db: Database, as_at: str) -> None:
    """Note that a load wrote rows of the list dated ``as_at`` (counted by
    the next derivation). Called in the load's own transaction."""
    db.execute(
        "INSERT INTO owner_snapshots_pending (as_at) VALUES (?) "
        "ON CONFLICT(as_at) DO NOTHING",
        [as_at],
    )


def derive_owner_snapshots(db: Database, lists: Iterable[str] | None = None) -> None:
    """Bring ``owner_snapshots`` in line with `home_snapshots` for these
    lists (their ``as_at``; every list when None): upsert every (list, owner)
    whose counts changed, and drop the pairs no list row gives any more (a
    re-published list that moved a home to another owner). It is a summary
    of `home_snapshots`, which keeps every row. The caller holds the
    transaction."""
    if lists is None:
        where, params = "true", []
    else:
        where = "{} IN (SELECT value FROM json_each(?))"
        params = [json.dumps(sorted(lists))]
    names = ", ".join(("as_at", "owner", *_COUNTS))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COUNTS)
    changed = " OR ".join(f"owner_snapshots.{c} IS NOT excluded.{c}" for c in _COUNTS)
    counts = _OWNER_COUNTS.format(lists=where.format("h.as_at"))
    db.execute(
        f"INSERT INTO owner_snapshots ({names}) "  # noqa: S608
        f"SELECT {names} FROM ({counts}) WHERE true "
        f"ON CONFLICT(as_at, owner) DO UPDATE SET {updates} WHERE {changed}",
        params,
    )
    db.execute(
        "DELETE FROM owner_snapshots WHERE "  # noqa: S608
        + where.format("owner_snapshots.as_at")
        + " AND NOT EXISTS (SELECT 1 FROM home_snapshots h "
        "WHERE h.as_at = owner_snapshots.as_at AND h.owner = owner_snapshots.owner)",
        params,
    )


def derive_pending_lists(db: Database, *, every: bool = False) -> None:
    """Count the lists loads have written rows of since the last derivation
    (every list when ``every``), and empty the work list. The caller holds
    the transaction."""
    if every:
        derive_owner_snapshots(db)
    else:
        lists = [r[0] for r in db.execute("SELECT as_at FROM owner_snapshots_pending")]
        if not lists:
            return
        derive_owner_snapshots(db, lists)
    db.execute("DELETE FROM owner_snapshots_pending")


def derive_summaries(db: Database) -> None:
    """Both summaries for the whole registry (a migration, or a registry whose
    `homes` and `inspections` were written by hand)."""
    derive_judgement_changes(db)
    derive_pending_lists(db, every=True)
