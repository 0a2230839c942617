"""Suite-wide settings: which tests are slow.

`make test-fast` (``pytest -m "not slow and not browser"``) is the inner loop
and runs in under a minute; `make test` runs everything. A test is slow when
it crawls the sample site, starts servers or browsers, builds a wheel, reads
the real official files or runs a large generated corpus. Mark a new slow test
file here (or a single test with ``@pytest.mark.slow``)."""

from __future__ import annotations

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
