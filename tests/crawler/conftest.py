"""Shared fixtures: a real sample site on 127.0.0.1 and real refreshes
(Scrapy in subprocesses, SQLite files) against it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from sqlite_utils import Database

from registry.refresh.refresh import refresh, site_settings
from sample_site.server import SampleSite

# Politeness off for loopback speed; everything else as in production.
FAST = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "RETRY_BACKOFF_BASE": "0.1",
    "LOG_LEVEL": "INFO",
}
DATA_TABLES = (
    "homes",
    "inspections",
    "inspection_observations",
    "home_observations",
    "home_snapshots",
    "sources",
    "problems",
    "home_status_history",
    "la_missing_stats",
    "national_missing_stats",
)


@pytest.fixture
def site():
    with SampleSite(homes=20, seed=3) as running:
        yield running


def settings_for(site: SampleSite, **extra: str) -> dict[str, str]:
    return {**FAST, **site_settings(site.url), **extra}


def run(db_path: Path, site: SampleSite, *, extra: dict | None = None, **options):
    options.setdefault("is_sample", True)
    return refresh(db_path, settings=settings_for(site, **(extra or {})), **options)


# What a complete crawl on a later day rightly changes in an unchanged
# registry: the day the homes were last listed, and the words that say it.
LISTING_DAY_COLUMNS = {
    "homes": ("last_listed", "last_seen", "status_changed_at", "status_note")
}


def crawl_days(db_path: Path) -> set[str]:
    """The UTC days the registry's crawls started on."""
    db = Database(db_path)
    try:
        return {
            r[0] for r in db.execute("select substr(started_at, 1, 10) from crawls")
        }
    finally:
        db.close()


def table_digest(
    db_path: Path, tables=DATA_TABLES, without: dict | None = None
) -> dict[str, str]:
    """A hash of every row of each data table, to prove 'nothing changed'
    (``without``: columns of a table left out)."""
    db = Database(db_path)
    out = {}
    try:
        for table in tables:
            if table not in db.table_names():
                continue
            digest = hashlib.sha256()
            left_out = (without or {}).get(table, ())
            columns = [c.name for c in db[table].columns if c.name not in left_out]
            names = ", ".join(f"[{c}]" for c in columns)
            for row in db.execute(f"select {names} from [{table}] order by 1, 2"):
                digest.update(repr(row).encode())
            out[table] = digest.hexdigest()
    finally:
        db.close()
    return out


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def baseline(tmp_path_factory):
    """One good first refresh of a 20-home site, reused by tests that copy it."""
    root = tmp_path_factory.mktemp("baseline")
    running = SampleSite(homes=20, seed=3).start()
    result = run(root / "registry.db", running)
    assert result.ok, result.reasons
    yield running, root
    running.stop()


def copy_baseline(baseline, tmp_path: Path) -> tuple[SampleSite, Path]:
    site, root = baseline
    shutil.copytree(root, tmp_path / "b")
    site.faults.clear()
    site.layout = "confirmed"
    site.omit = set()
    site.robots_disallow = []
    site.reset_counters()
    return site, tmp_path / "b" / "registry.db"
