"""A crawled provider page, loaded as evidence: a `sources` row (kind
``provider-page``), a home observation and inspection observations.

A timeline event needs only its report link: the inspection date and type
come from that report once it has been read (the `reports` row with the same
URL and URN); a date printed on the page itself is used only when there is no
readable report. An event whose report has not been read yet gives no
inspection (the next refresh that reads the report adds it).

Example::

    touched = load_provider_page(db, entry, data_dir=Path("data"), is_sample=False)
    rebuild(db, touched)  # registry.derive
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlite_utils import Database

from extract.normalise import inspection_id, normalise_event_type
from registry.derive.derive import add_home_observations, add_inspection_observations
from registry.derive.rank import rank_sql
from registry.la import match_la
from registry.provenance import Source, record_source, utc_now


def load_provider_page(
    db: Database, entry: dict, *, data_dir: Path, is_sample: bool
) -> set[str]:
    """One parsed provider page → a `sources` row (kind ``provider-page``),
    a home observation and inspection observations (rebuilt by the caller)."""
    path = data_dir / entry["path"]
    record = json.loads(path.read_text(encoding="utf-8"))
    fetched = (entry.get("fetched_at") or utc_now())[:10]
    source = Source(
        path, entry["sha256"], entry.get("url"), entry.get("fetched_at"), is_sample
    )
    urn = record["urn"]
    rows = []
    for event in record.get("events", []):
        event_type = normalise_event_type(event.get("event_type"))
        inspected = event.get("inspection_date")  # an optional extra of the page
        from_report = _report_for(db, event.get("report_url"), urn)
        if from_report:
            # the report says when the inspection was and what kind it was
            inspected = from_report["inspection_date"] or inspected
            event_type = from_report["inspection_type"] or event_type
        if not event_type or not inspected:
            continue
        rows.append(
            {
                "inspection_id": inspection_id(urn, inspected, event_type),
                "urn": urn,
                "inspection_date": inspected,
                "publication_date": event.get("publication_date"),
                "event_type": event_type,
                "event_type_as_published": event.get("event_type"),
            }
        )
    la = match_la(record.get("local_authority"), dt.date.fromisoformat(fetched))
    with db.conn:
        record_source(
            db,
            source,
            kind="provider-page",
            description=f"Ofsted provider page {urn}",
            as_at=fetched,
            rows_read=len(record.get("events", [])),
            rows_loaded=len(rows),
        )
        add_home_observations(
            db,
            source,
            [
                {
                    "urn": urn,
                    "provision_type": record.get("provision_type"),
                    "local_authority": record.get("local_authority"),
                    "la_code": la.la_code if la else None,
                    "registration_date": record.get("registration_date"),
                }
            ],
            as_at=fetched,
        )
        if rows:
            add_inspection_observations(db, source, rows, as_at=fetched)
    return {urn}


def _report_for(db: Database, url: str | None, urn: str) -> dict | None:
    """The read report behind a report link (same URN), if any."""
    if not url or "reports" not in db.table_names():
        return None
    # several reads of one link (the file changed): the one order of sources
    rank = rank_sql("s.as_at", "r.sha256", "'report'")
    row = db.execute(
        "select r.inspection_date, r.inspection_type from reports r "  # noqa: S608
        "left join sources s on s.sha256 = r.sha256 "
        "where r.url = ? and r.urn = ? and r.inspection_date is not null "
        f"order by {rank} desc limit 1",
        [url, urn],
    ).fetchone()
    return {"inspection_date": row[0], "inspection_type": row[1]} if row else None
