"""The registry's schema: ONE sqlite-utils migration set, ``ofsted-homes``,
in one ordered list.

The steps are written by topic (``core``, ``incidents``, ``crawls``,
``reports``, ``writes``: the modules beside this one) and applied in the order
of :data:`ORDER`, the only place that order is written. A step that changes a
table another topic created (``m001_reports`` adds
``inspections.report_sha256``) is simply listed after the step that created
it. To change the schema, write a step in its topic module and append it to
the end of :data:`ORDER`; never edit, reorder or rename a step that has
shipped.

Registries built by earlier versions recorded their steps under five set
names (``ofsted-homes`` and :data:`OLD_SETS`); the step names never changed,
so :func:`apply_migrations` first relabels those records to this set
(:func:`registry.schema.steps.relabel`) and nothing runs twice.

The private incidents database is another database with its own small set
(``registry.schema.incidents.private_migrations``).
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database, Migrations

from registry.schema import core, crawls, incidents, reports, writes
from registry.schema.steps import Step, Steps, not_recorded, relabel

SET_NAME = "ofsted-homes"

# Every step of the registry's schema, in the order it is applied.
ORDER: list[Step] = [
    core.m001_spine,
    core.m002_listings_and_derived_region,
    core.m003_councils_and_groups,
    core.m004_indexes_for_stories,
    incidents.m001_incidents,
    incidents.m002_keyed_row_keys_and_hidden_rows,
    incidents.m003_vacuum_old_keys,
    crawls.m001_crawls,
    crawls.m002_crawl_monitors,
    reports.m001_reports,  # adds inspections.report_sha256 (core.m001_spine)
    reports.m002_inspection_history,
    reports.m003_pdf_errors_is_current,
    reports.m004_report_checks,
    writes.m001_writes,
    # ------- steps written after the one set: append new ones below -------
    core.m005_one_ranking_and_pending_derivation,
    reports.m005_inspection_reports,
    core.m006_rules_as_reference,
    core.m007_story_summaries,
]

TOPICS: list[Steps] = [
    core.migrations,
    incidents.steps,
    crawls.migrations,
    reports.migrations,
    writes.migrations,
]

# The set names earlier versions recorded steps under, and those steps.
OLD_SETS: dict[str, tuple[str, ...]] = {
    "ofsted-homes-incidents": (
        "m001_incidents",
        "m002_keyed_row_keys_and_hidden_rows",
        "m003_vacuum_old_keys",
    ),
    "ofsted-homes-crawls": ("m001_crawls", "m002_crawl_monitors"),
    "ofsted-homes-reports": (
        "m001_reports",
        "m002_inspection_history",
        "m003_pdf_errors_is_current",
        "m004_report_checks",
    ),
    "ofsted-homes-writes": ("m001_writes",),
}


def check_listed(order: list[Step], topics: list[Steps]) -> None:
    """Every step of every topic is in ``order`` exactly once, and nothing
    else is: raises ``ValueError`` naming the step and the fix."""
    written = {f: t for t in topics for f in t.functions}
    for function in written:
        if function not in order:
            raise ValueError(
                f"{written[function].where}: migration step {function.__name__} "
                "is not in registry.schema.migrations.ORDER; append it at the end"
            )
    seen: set[str] = set()
    for function in order:
        if function not in written:
            raise ValueError(
                f"registry.schema.migrations.ORDER: {function.__name__} is not "
                "marked as a step (@steps()/@migrations()) in a topic module"
            )
        if function.__name__ in seen:
            raise ValueError(
                f"registry.schema.migrations.ORDER: {function.__name__} is listed "
                "twice, or two steps share the name; step names are unique"
            )
        seen.add(function.__name__)


def _the_set(order: list[Step], topics: list[Steps]) -> Migrations:
    check_listed(order, topics)
    transactional = {f: t.transactional[f] for t in topics for f in t.functions}
    migrations = Migrations(SET_NAME)
    for function in order:
        migrations(transactional=transactional[function])(function)
    return migrations


migrations = _the_set(ORDER, TOPICS)


def apply_migrations(db: Database) -> None:
    """Relabel what earlier versions recorded, then apply what is pending."""
    relabel(db, OLD_SETS, SET_NAME)
    migrations.apply(db)


def pending_steps(path: str | Path) -> list[str] | None:
    """The steps the registry at ``path`` has not applied yet (None: not a
    registry with a record of migrations). Reads without changing the file:
    ``serve`` uses it to bring an older registry up to date before serving."""
    return not_recorded(path, [f.__name__ for f in ORDER], {SET_NAME, *OLD_SETS})
