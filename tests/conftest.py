"""Suite-wide settings: which tests are slow.

`make test-fast` (``pytest -m "not slow and not browser"``) is the inner loop
and runs in under a minute; `make test` runs everything. A test is slow when
it crawls the sample site, starts servers or browsers, builds a wheel, reads
the real official files or runs a large generated corpus. Mark a new slow test
file here (or a single test with ``@pytest.mark.slow``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SLOW_FILES = {
    "crawler/test_cli.py",
    "crawler/test_demo.py",
    "crawler/test_misbehaviour.py",
    "crawler/test_politeness.py",
    "crawler/test_refresh_sample.py",
    "crawler/test_scrapyd.py",
    "incidents/test_concurrent_writes.py",
    "incidents/test_private_flag.py",
    "incidents/test_private_never_public.py",
    "publish/test_browser.py",
    "publish/test_inspector.py",
    "publish/test_security.py",
    "registry/test_real_files.py",
    "registry/test_story_summaries.py",
    "reports/test_bad_pdfs.py",
    "reports/test_report_properties.py",
    "reports/test_report_registry.py",
    "test_installed_wheel.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).resolve()
        if (
            path.is_relative_to(TESTS)
            and path.relative_to(TESTS).as_posix() in SLOW_FILES
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def real_registry_path(tmp_path_factory) -> Path:
    """A registry of every real official file (REAL_DATA_DIR), loaded once
    for the session by the real loader; tests only read it."""
    from registry.loading.files import load_files
    from registry.schema.db import open_registry

    real = os.environ.get("REAL_DATA_DIR")
    if not real or not Path(real).is_dir():
        pytest.skip("REAL_DATA_DIR is not set to the folder of real official files")
    files = sorted(
        p for p in Path(real).rglob("*") if p.is_file() and p.suffix in (".csv", ".ods")
    )
    path = tmp_path_factory.mktemp("real-registry") / "registry.db"
    db = open_registry(path)
    results = load_files(db, files)
    assert all(r.ok for r in results), [r.summary for r in results if not r.ok]
    db.conn.execute("PRAGMA journal_mode = DELETE")
    db.close()
    return path
