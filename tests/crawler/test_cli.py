"""The commands as a user runs them: exit codes and one-line messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner
from net_support import free_port

from registry.cli.main import cli
from registry.lock import refresh_lock

from .conftest import FAST, copy_baseline, file_digest

ROOT = Path(__file__).resolve().parents[2]


def _options(site) -> list[str]:
    options = ["--site", site.url, "--sample", "--spider", "reports", "--full"]
    for name, value in FAST.items():
        options += ["-s", f"{name}={value}"]
    return options


def test_refused_refresh_exits_1_says_why_and_changes_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = file_digest(db_path)
    site.robots_disallow = ["/ofsted/"]
    result = CliRunner().invoke(cli, ["refresh", str(db_path), *_options(site)])
    assert result.exit_code == 1
    assert "Refused: reports crawl" in result.output
    assert "robots.txt forbade 1 request(s)" in result.output
    assert f"Nothing merged; {db_path} is unchanged." in result.output
    assert "Traceback" not in result.output
    assert file_digest(db_path) == before


def test_refresh_while_another_runs_exits_2(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    with refresh_lock(db_path):
        result = CliRunner().invoke(cli, ["refresh", str(db_path), *_options(site)])
    assert result.exit_code == 2
    assert (
        result.output.startswith("Error: ")
        and "another refresh or load is writing to it" in result.output
    )
    assert len(result.output.strip().splitlines()) == 1


def test_good_refresh_prints_a_summary_and_publishes(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    result = CliRunner().invoke(cli, ["refresh", str(db_path), *_options(site)])
    assert result.exit_code == 0, result.output
    assert f"Published {db_path}" in result.output


def test_sample_site_command_serves_until_ctrl_c():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from registry.cli.main import cli; cli()",
            "sample-site",
            "--homes",
            "5",
            "--port",
            str(port),
        ],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/ofsted/search", timeout=2
                ) as r:
                    assert r.read().count(b'<li><h3><a href="/provider/2/') == 5
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert b"SAMPLE DATA" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
