"""The scrapyd path for real: start scrapyd on 127.0.0.1, deploy the project
with scrapyd-deploy (the `[deploy:local]` target of scrapy.cfg), schedule
`reports` against the sample site through the HTTP API, check the manifest."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from net_support import free_port

from sample_site.server import SampleSite

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _api(port: int, path: str, data: dict | list | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/{path}", data=body, timeout=10
    ) as r:
        return json.loads(r.read())


@pytest.mark.slow
def test_scrapyd_deploy_and_schedule_reports(tmp_path):
    port = free_port()
    server_dir = tmp_path / "scrapyd"
    server_dir.mkdir()
    (server_dir / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.5\n"
        "eggs_dir = eggs\nlogs_dir = logs\ndbs_dir = dbs\nmax_proc = 1\n"
    )
    # Deploy from a staging folder holding only scrapy.cfg and crawler/: the
    # egg scrapyd-deploy builds must not pick up the whole distribution.
    stage = tmp_path / "stage"
    shutil.copytree(
        ROOT / "crawler",
        stage / "crawler",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    cfg = (ROOT / "scrapy.cfg").read_text()
    assert "[deploy:local]" in cfg and "url = http://127.0.0.1:6800/" in cfg
    (stage / "scrapy.cfg").write_text(
        cfg.replace("127.0.0.1:6800", f"127.0.0.1:{port}")
    )
    scrapyd = subprocess.Popen(
        [str(BIN / "scrapyd")],
        cwd=server_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _api(port, "daemonstatus.json")["status"] == "ok"
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        deployed = subprocess.run(
            [str(BIN / "scrapyd-deploy"), "local", "-p", "ofsted-homes"],
            cwd=stage,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert deployed.returncode == 0, deployed.stderr
        assert _api(port, "listspiders.json?project=ofsted-homes")["spiders"] == [
            "releases",
            "reports",
        ]
        data_dir = tmp_path / "data"
        with SampleSite(homes=6, seed=4) as site:
            settings = [
                ("DATA_DIR", str(data_dir)),
                ("OFSTED_REPORTS_URL", f"{site.url}/ofsted"),
                ("AUTOTHROTTLE_ENABLED", "0"),
                ("DOWNLOAD_DELAY", "0"),
            ]
            form = [
                ("project", "ofsted-homes"),
                ("spider", "reports"),
                ("crawl_id", "reports-scrapyd-test"),
            ]
            form += [("setting", f"{k}={v}") for k, v in settings]
            job = _api(port, "schedule.json", form)
            assert job["status"] == "ok"
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                jobs = _api(port, "listjobs.json?project=ofsted-homes")
                if any(j["id"] == job["jobid"] for j in jobs["finished"]):
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"scrapyd job did not finish: {jobs}")
            visited = site.count("/ofsted/provider/", status=200)
        manifest = data_dir / "manifests" / "reports-scrapyd-test.jsonl"
        entries = [json.loads(line) for line in manifest.read_text().splitlines()]
        listed = {e["urn"] for e in entries if e["kind"] == "listing"}
        assert listed == {h.urn for h in site.population.homes}
        reports = [
            e for e in entries if e["kind"] == "report" and e["status"] == "stored"
        ]
        assert len(reports) == len(site.population.inspections)
        assert all((data_dir / e["path"]).exists() for e in reports)
        assert visited == 6
        summary = json.loads(
            (data_dir / "crawls" / "reports-scrapyd-test.json").read_text()
        )
        assert summary["finish_reason"] == "finished"
    finally:
        scrapyd.terminate()
        scrapyd.wait(timeout=10)
