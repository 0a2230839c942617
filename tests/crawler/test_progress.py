"""Issue 11, item 10: a refresh says up front whether politeness delays apply
and what they cost, and what each crawl has fetched while it runs (it printed
nothing for 18 of the 19 minutes a sample crawl took). Real crawls of the
sample site; the progress lines are counted, never timed."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from registry.cli.main import cli
from registry.refresh.crawls import CrawlProgress, expected_homes, politeness_note
from registry.refresh.refresh import fast_site_settings, site_settings

from .conftest import copy_baseline, run

PROGRESS = re.compile(
    r"^  (?P<crawl>\S+): (?P<items>[\d,]+) items so far after \d+m\d\ds: "
)


def progress_lines(lines: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for line in lines:
        if match := PROGRESS.match(line):
            found.setdefault(match["crawl"], []).append(
                int(match["items"].replace(",", ""))
            )
    return found


def test_a_refresh_says_what_each_crawl_fetched_as_it_goes(site, tmp_path):
    lines: list[str] = []
    result = run(
        tmp_path / "registry.db",
        site,
        echo=lines.append,
        progress_items=10,
        progress_seconds=None,
    )
    assert result.ok, result.reasons
    found = progress_lines(lines)
    assert set(found) <= {crawl.id for crawl in result.crawls}
    for crawl in result.crawls:
        items = crawl.summary["items"]
        # one line at every tenth item, whenever the refresh looked
        assert found.get(crawl.id, []) == list(range(10, items + 1, 10)), crawl.id
    reports = next(c for c in result.crawls if c.spider == "reports")
    assert len(found[reports.id]) >= 5
    last = [line for line in lines if line.startswith(f"  {reports.id}: ")][-2]
    assert "homes listed" in last and "provider pages" in last
    assert "report PDFs (" in last and " new)" in last
    # the politeness line comes before the crawling, the summary after it
    polite = [i for i, line in enumerate(lines) if "politeness" in line.lower()]
    first_progress = min(i for i, line in enumerate(lines) if PROGRESS.match(line))
    assert polite and polite[0] < first_progress
    assert lines[polite[0]].startswith("No politeness delays")


def test_no_echo_no_lines_and_silent_prints_nothing(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    options = ["--site", site.url, "--sample", "--spider", "reports", "--full"]
    result = CliRunner().invoke(
        cli,
        ["refresh", str(db_path), *options, "--fast-sample-site", "--silent"],
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_fast_sample_site_drops_the_delays_and_shows_progress(site, tmp_path):
    db_path = tmp_path / "registry.db"
    options = ["--site", site.url, "--sample", "--spider", "reports", "--full"]
    result = CliRunner().invoke(
        cli, ["refresh", str(db_path), *options, "--fast-sample-site"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "No politeness delays: requests go as fast as the site answers." in lines
    (crawl_id,) = progress_lines(lines)
    summary = json.loads(
        (db_path.parent / "data" / "crawls" / f"{crawl_id}.json").read_text()
    )
    # every 100 items (the command's default)
    assert summary["items"] >= 100
    assert progress_lines(lines)[crawl_id] == list(
        range(100, summary["items"] + 1, 100)
    )
    assert f"Published {db_path}" in result.output


def test_a_polite_crawl_says_so_before_it_starts(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    options = ["--site", site.url, "--sample", "--spider", "reports", "--full"]
    # a tiny delay: polite, and the test still takes seconds
    polite = ["-s", "DOWNLOAD_DELAY=0.01", "-s", "AUTOTHROTTLE_ENABLED=False"]
    result = CliRunner().invoke(cli, ["refresh", str(db_path), *options, *polite])
    assert result.exit_code == 0, result.output
    (note,) = [line for line in result.output.splitlines() if "Polite" in line]
    # the baseline's good full crawl listed 20 homes
    assert note.startswith("Polite crawl: 0.01 s between requests to each site;")
    assert "a full crawl of 20 homes takes about 1 minute;" in note
    assert "--fast-sample-site drops the delays" in note
    assert result.output.index("Polite crawl") < result.output.index(": finished, ")


def test_fast_sample_site_is_refused_for_any_other_site(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    before = db_path.read_bytes()
    manifests = sorted((db_path.parent / "data" / "manifests").glob("*"))
    for arguments in (
        ["--site", "https://reports.example.org"],
        [],
        ["--site", site.url, "-s", "OFSTED_REPORTS_URL=https://reports.ofsted.gov.uk"],
    ):
        result = CliRunner().invoke(
            cli, ["refresh", str(db_path), *arguments, "--fast-sample-site"]
        )
        assert result.exit_code == 1, arguments
        (line,) = result.output.splitlines()
        assert line.startswith("Error: --fast-sample-site")
        assert "crawled politely" in line
    assert db_path.read_bytes() == before
    assert sorted((db_path.parent / "data" / "manifests").glob("*")) == manifests


# ------------------------------------------------------------- the pieces


def test_politeness_note_in_numbers():
    default = politeness_note({})
    assert default == (
        "Polite crawl: 1 s between requests to each site, AutoThrottle on "
        "(slower when a site is); about 9 minutes per 100 homes."
    )
    counted = politeness_note({}, homes=4009, requests_per_home=4.8)
    assert "a full crawl of 4,009 homes takes about 321 minutes" in counted
    assert "--fast" not in counted
    local = politeness_note(
        {"DOWNLOAD_DELAY": "2"}, homes=200, fast_option="--fast-sample-site"
    )
    assert "2 s between requests" in local and "about 34 minutes" in local
    assert "--fast-sample-site drops the delays" in local
    fast = politeness_note(fast_site_settings("http://127.0.0.1:8002"))
    assert fast.startswith("No politeness delays")


def test_fast_settings_keep_an_explicit_setting():
    settings = fast_site_settings("http://localhost:8002", {"DOWNLOAD_DELAY": "0.5"})
    assert settings["DOWNLOAD_DELAY"] == "0.5"
    assert settings["AUTOTHROTTLE_ENABLED"] == "0"
    assert (
        settings["OFSTED_REPORTS_URL"]
        == site_settings("http://localhost:8002")["OFSTED_REPORTS_URL"]
    )


def test_expected_homes_of_a_registry(baseline, tmp_path):
    _, db_path = copy_baseline(baseline, tmp_path)
    homes, per_home = expected_homes(db_path)
    assert homes == 20
    assert per_home > 1
    assert expected_homes(tmp_path / "none.db") == (None, None)


def test_progress_lines_by_time_only_when_something_came(tmp_path):
    manifest = tmp_path / "m.jsonl"
    now = [0.0]
    watcher = CrawlProgress(
        manifest, "reports-x", every_items=1000, every_seconds=5, clock=lambda: now[0]
    )
    assert watcher.poll() == []  # no manifest yet
    with open(manifest, "w") as fh:
        fh.write(json.dumps({"kind": "listing"}) + "\n")
        fh.write(json.dumps({"kind": "report", "status": "stored"}) + "\n")
        fh.write('{"kind": "provider-pa')  # half-written by the spider
    now[0] = 4.0
    assert watcher.poll() == []  # too soon
    now[0] = 6.0
    (line,) = watcher.poll()
    assert line == (
        "  reports-x: 2 items so far after 0m06s: 1 homes listed, 1 report PDFs (1 new)"
    )
    now[0] = 20.0
    assert watcher.poll() == []  # nothing new
    with open(manifest, "a") as fh:
        fh.write('ge"}\n')
    (line,) = watcher.poll()
    assert line.endswith("1 homes listed, 1 provider pages, 1 report PDFs (1 new)")
