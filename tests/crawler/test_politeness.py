"""Politeness counted at the server, and the publish step's checks."""

from __future__ import annotations

import sqlite3

import pytest

from registry.publish.publish import PublishRefused, build_copy, check, publish
from registry.refresh.crawls import run_spider
from registry.refresh.refresh import site_settings
from sample_site.server import SampleSite

from .conftest import FAST, file_digest


def test_at_most_two_requests_in_flight_and_a_user_agent_with_a_contact(tmp_path):
    with SampleSite(homes=12, seed=2) as site:
        # slow pages, so that a crawler allowed more in flight would show it
        site.faults.add("slow", "/ofsted/provider/", seconds=0.15)
        crawl = run_spider(
            "reports",
            data_dir=tmp_path,
            settings={
                **FAST,
                **site_settings(site.url),
                "CONCURRENT_REQUESTS": "16",
                "OFSTED_DOWNLOAD_REPORTS": "0",
            },
        )
        assert crawl.summary["finish_reason"] == "finished"
        assert site.max_in_flight == 2
        agents = {hit.user_agent for hit in site.hits}
        assert len(agents) == 1
        (agent,) = agents
        assert agent.startswith("ofsted-homes/") and "(+https://" in agent
        assert site.count("/robots.txt") == 1
        assert "Cookie" not in str(crawl.summary)


def _registry(path):
    conn = sqlite3.connect(path)
    conn.executescript(
        "PRAGMA foreign_keys=ON; CREATE TABLE a (id INTEGER PRIMARY KEY);"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a INTEGER REFERENCES a(id));"
        "INSERT INTO a VALUES (1); INSERT INTO b VALUES (1, 1);"
    )
    conn.commit()
    conn.close()


def test_publish_refuses_an_orphan_row_and_keeps_the_old_file(tmp_path):
    served = tmp_path / "registry.db"
    _registry(served)
    before = file_digest(served)
    build = tmp_path / "build.db"
    _registry(build)
    conn = sqlite3.connect(build)
    conn.execute("INSERT INTO b VALUES (2, 99)")  # foreign keys off: an orphan
    conn.commit()
    conn.close()
    assert check(build) == ["1 rows point at missing rows (tables: b)"]
    with pytest.raises(PublishRefused, match="failed its checks"):
        publish(build, served)
    assert file_digest(served) == before


def test_publish_refuses_a_corrupt_copy(tmp_path):
    served = tmp_path / "registry.db"
    _registry(served)
    before = file_digest(served)
    build = tmp_path / "build.db"
    _registry(build)
    data = bytearray(build.read_bytes())
    data[4096 : 4096 + 12] = b"\xff" * 12  # trample the second page's header
    build.write_bytes(bytes(data))
    with pytest.raises(PublishRefused):
        publish(build, served)
    assert file_digest(served) == before


def test_publish_renames_a_checked_copy_in_delete_mode(tmp_path):
    served = tmp_path / "registry.db"
    with build_copy(served) as (path, db):
        db["crawls"].insert({"id": "x", "spider": "reports", "outcome": "merged"})
        db.close()
        publish(path, served)
        assert not path.exists()
    conn = sqlite3.connect(served)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("select id from crawls").fetchall() == [("x",)]
    conn.close()
    assert not (tmp_path / "registry.db-wal").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.db"]
