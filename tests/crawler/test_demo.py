"""`ofsted-homes demo`: sample site + refresh + serve, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from net_support import free_port

ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> dict | list | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


@pytest.mark.slow
def test_demo_builds_the_sample_registry_serves_it_and_stops_on_ctrl_c(tmp_path):
    port, site_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from registry.cli.main import cli; cli()",
            "demo",
            "--port",
            str(port),
            "--site-port",
            str(site_port),
            "--homes",
            "8",
            "--dir",
            str(tmp_path / "demo"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        url = f"http://127.0.0.1:{port}/registry.json?_shape=array&sql="
        rows = None
        deadline = time.monotonic() + 120
        while rows is None and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            rows = _get(
                url + "select+count(*)+as+homes,+min(status)+as+status+from+homes"
            )
        assert rows == [{"homes": 8, "status": "active"}], (
            process.stderr.read1().decode() if rows is None else rows
        )
        sources = _get(
            url + "select+count(*)+as+n,+min(is_sample)+as+sample+from+sources"
        )
        assert sources[0]["n"] > 8 and sources[0]["sample"] == 1
        # the demo's owner groups come from a mapping marked as sample
        groups = _get(
            url + "select+s.is_sample,+count(*)+as+rules+from+owner_group_rules+r"
            "+join+sources+s+on+s.sha256+=+r.source_id+group+by+1"
        )
        assert groups == [{"is_sample": 1, "rules": 4}]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert b"Stopped." in process.stderr.read()
        # the sample site stopped with it
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", site_port), timeout=1).close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
