"""Home status after a complete crawl: active → missing → inactive, and
``not found`` for a provider page that answered 404/410.

Example::

    changes = apply_status(db, crawl, thresholds=Thresholds())
"""

from __future__ import annotations

from sqlite_utils import Database

from registry.provenance import utc_now
from registry.refresh.crawls import Crawl, Thresholds

ACTIVE, MISSING, INACTIVE, NOT_FOUND = "active", "missing", "inactive", "not found"


def apply_status(
    db: Database, crawl: Crawl, *, thresholds: Thresholds
) -> dict[str, int] | str:
    """After a complete crawl: a home it does not list becomes ``missing``
    (``missing_since`` = the crawl's day), one still missing at the next
    complete crawl ``inactive``; a listed home is ``active`` again; a home
    whose provider page answered 404/410 is ``not found``. Nothing is
    deleted; every change goes into `home_status_history` with the crawl id.
    Returns counts of changes, or a refusal reason (too many going missing)."""
    listed = crawl.listed
    not_found = {
        e["urn"]
        for e in crawl.of_kind("provider-page")
        if e.get("status") == "not-found"
    }
    day = (crawl.summary.get("started_at") or utc_now())[:10]
    homes = list(
        db.query(
            "select urn, status, missing_since, registration_status from homes "
            "where status != 'active' or registration_status is null "
            "or lower(registration_status) = 'active'"
        )
    )
    changes: list[tuple[str, str, str, str | None]] = []
    for home in homes:
        urn, status = home["urn"], home["status"]
        if urn in not_found:
            new, reason = NOT_FOUND, "provider page answered 404/410"
        elif urn in listed:
            new, reason = ACTIVE, "listed by the search again"
        elif status == ACTIVE:
            new, reason = MISSING, "not listed by a complete crawl"
        elif status in (MISSING, NOT_FOUND):
            new, reason = INACTIVE, "not listed by two complete crawls in a row"
        else:
            continue
        if new != status:
            changes.append((urn, new, status, reason))
    going_missing = sum(1 for c in changes if c[1] == MISSING)
    active = sum(1 for h in homes if h["status"] == ACTIVE) or 1
    if going_missing > thresholds.max_missing_share * active:
        return (
            f"crawl {crawl.id} would mark {going_missing} of {active} active homes missing "
            f"(over {thresholds.max_missing_share:.0%}); refusing rather than guessing"
        )
    counts: dict[str, int] = {}
    for urn, new, old, reason in changes:
        update = {"status": new, "status_changed_at": day}
        if new == ACTIVE:
            update["missing_since"] = None
        elif old == ACTIVE:
            update["missing_since"] = day
        db["homes"].update(urn, update)
        db["home_status_history"].insert(
            {
                "urn": urn,
                "status": new,
                "previous_status": old,
                "changed_at": day,
                "crawl_id": crawl.id,
                "reason": reason,
            }
        )
        counts[new] = counts.get(new, 0) + 1
    return counts
