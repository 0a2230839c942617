"""Which source wins: the one order of sources the registry uses wherever two
sources give a value for the same thing.

Sources are ordered, newest first, by:

1. the date the source describes (``as_at``: a list's date, a table's year
   end, a provider page's fetch day, a report's inspection date);
2. at the same date, its kind: an official providers list, then an official
   inspections table, then a crawled provider page, then a report
   (:data:`KIND_ORDER`);
3. then the larger SHA-256, so two copies of one release (a workbook and a CSV
   saved from it) always give the same answer, whatever order they load in.

:func:`source_rank` writes that order as text that sorts the same way
(``inspection_observations.source_rank``); :func:`rank_sql` is the same
expression in SQL, for queries and migrations. Where it decides:

* ``homes`` and ``inspections`` take each field from the best-ranked source
  that gives it (``registry.derive.derive``);
* ``inspections.report_sha256`` is the best-ranked of the reports linked to
  an inspection (``inspection_reports``);
* a crawled provider page's report link read more than once takes the
  best-ranked read (``registry.refresh.provider_pages``);
* rows with one key and one date (a providers list's home, a DfE figure of a
  release) keep the larger SHA-256 (step 3; ``upsert_rows(when=...)``).

Example::

    source_rank("2025-03-31", sha, "ofsted-providers")  # '2025-03-31|3|<sha>'
"""

from __future__ import annotations

# Higher wins at the same date. Keys are what `kind_of` makes of `sources.kind`.
LIST, TABLE, PAGE, REPORT = "list", "table", "page", "report"
KIND_ORDER = {LIST: 3, TABLE: 2, PAGE: 1, REPORT: 0}


def kind_of(source_kind: str | None) -> str:
    """The ranking kind of a `sources.kind` value."""
    kind = source_kind or ""
    if kind == "provider-page":
        return PAGE
    if kind == "report":
        return REPORT
    if "providers" in kind:
        return LIST
    return TABLE


def source_rank(as_at: str | None, source_id: str, source_kind: str | None) -> str:
    """Sorts best first when compared as text in descending order."""
    return f"{as_at or ''}|{KIND_ORDER[kind_of(source_kind)]}|{source_id}"


def rank_sql(as_at: str, source_id: str, source_kind: str) -> str:
    """:func:`source_rank` as an SQL expression over three column expressions."""
    order = (
        f"CASE WHEN {source_kind} = 'provider-page' THEN {KIND_ORDER[PAGE]} "
        f"WHEN {source_kind} = 'report' THEN {KIND_ORDER[REPORT]} "
        f"WHEN {source_kind} LIKE '%providers%' THEN {KIND_ORDER[LIST]} "
        f"ELSE {KIND_ORDER[TABLE]} END"
    )
    return f"(coalesce({as_at}, '') || '|' || ({order}) || '|' || {source_id})"
