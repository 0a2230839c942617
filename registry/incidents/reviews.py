"""Review decisions about unsure matches of incident rows to homes.

A decision is kept in ``match_decisions`` (by the row's ``row_key``), so a
later load of the same home decides the same way (see ``registry.matching``).
"""

from __future__ import annotations

from sqlite_utils import Database

from extract.normalise import normalise_urn
from registry.errors import RegistryError
from registry.provenance import utc_now


def open_reviews(db: Database) -> list[dict]:
    """Queued rows (one per row_key) with their open candidates, best first."""
    reviews: dict[str, dict] = {}
    for row in db.query(
        """select c.row_key, c.urn, c.score, c.reasons, c.row_summary, c.home_summary
           from match_candidates c
           where c.status = 'open' and exists (
               select 1 from incident_counts i
               where i.row_key = c.row_key and i.match_status = 'queued')
           order by c.row_key, c.score desc, c.urn"""
    ):
        review = reviews.setdefault(
            row["row_key"],
            {"row_key": row["row_key"], "row": row["row_summary"], "candidates": []},
        )
        review["candidates"].append(
            {k: row[k] for k in ("urn", "score", "reasons", "home_summary")}
        )
    return list(reviews.values())


def decide(
    db: Database, row_key: str, urn: str, decision: str, *, note: str | None = None
) -> int:
    """Accept or reject ``urn`` for every row with ``row_key``; remembered in
    ``match_decisions`` so later loads of the same home decide the same way.
    Returns the number of incident rows changed."""
    if decision not in ("accept", "reject"):
        raise RegistryError(f"decision must be accept or reject, not {decision!r}")
    if normalise_urn(urn) != urn:
        raise RegistryError(f"{urn!r} is not a URN (SC and 6 digits, or 7 digits)")
    if "homes" in db.table_names() and not db["homes"].count_where("urn = ?", [urn]):
        raise RegistryError(f"{urn} is not a home in the registry")
    if not db["incident_counts"].count_where("row_key = ?", [row_key]):
        raise RegistryError(
            f"no incident rows with key {row_key!r}; list them with `ofsted-homes review DB`"
        )
    with db.atomic():
        db["match_decisions"].upsert(
            {
                "row_key": row_key,
                "urn": urn,
                "decision": decision,
                "decided_at": utc_now(),
                "note": note,
            },
            pk=("row_key", "urn"),
        )
        db.execute(
            "update match_candidates set status = ? where row_key = ? and urn = ?",
            ["accepted" if decision == "accept" else "rejected", row_key, urn],
        )
        if decision == "accept":
            cursor = db.execute(
                """update incident_counts set urn = ?, match_status = 'matched',
                   match_method = 'review', match_score = 100, match_note = 'accepted in review'
                   where row_key = ?""",
                [urn, row_key],
            )
            db.execute(
                "update match_candidates set status = 'rejected' where row_key = ? and urn != ? and status = 'open'",
                [row_key, urn],
            )
            return cursor.rowcount
        left = db["match_candidates"].count_where(
            "row_key = ? and status = 'open'", [row_key]
        )
        if left == 0:
            cursor = db.execute(
                """update incident_counts set match_status = 'unmatched',
                   match_note = 'every candidate rejected in review'
                   where row_key = ? and match_status = 'queued'""",
                [row_key],
            )
            return cursor.rowcount
        return 0
