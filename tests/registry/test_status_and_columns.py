"""Home status follows every listing (files and crawls alike), and older
layouts' columns are read, derived or said to be missing, never zero."""

import os
import shutil
from pathlib import Path

import pytest
from registry_support import run_load

from registry.derive.status import apply_status, derive_status
from registry.refresh.crawls import Crawl, Thresholds
from registry.schema.db import open_registry


@pytest.fixture(scope="module")
def real_registry(tmp_path_factory):
    real = os.environ.get("REAL_DATA_DIR")
    if not real or not Path(real).is_dir():
        pytest.skip("REAL_DATA_DIR is not set to the folder of real official files")
    files = sorted(p for p in (Path(real) / "ofsted").iterdir() if p.is_file())
    path = tmp_path_factory.mktemp("status") / "registry.db"
    result = run_load(path, *files)
    assert result.exit_code == 0, result.output
    return path


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(path, target)
    return target


def _crawl(urns, crawl_id="reports-20261129T200000-abcd", day="2026-11-29"):
    return Crawl(
        {
            "crawl_id": crawl_id,
            "spider": "reports",
            "mode": "full",
            "started_at": f"{day}T20:00:00Z",
        },
        [{"kind": "listing", "urn": u} for u in sorted(urns)],
    )


@pytest.mark.real
def test_only_homes_on_the_2025_list_are_active(real_registry):
    db = open_registry(real_registry)
    on_list = {
        r[0]
        for r in db.execute("select urn from home_snapshots where as_at = '2025-03-31'")
    }
    assert len(on_list) == 4009
    statuses = dict(
        db.execute("select status, count(*) from homes group by 1").fetchall()
    )
    assert statuses["active"] == 4009
    assert sum(statuses.values()) == db["homes"].count
    active = {r[0] for r in db.execute("select urn from homes where status = 'active'")}
    assert active == on_list
    # the private homes at 31 March 2025, as the list gives them
    private = db.execute(
        "select count(*) from homes where status = 'active' and sector = 'Private'"
    ).fetchone()[0]
    assert (
        private
        == db.execute(
            "select count(*) from home_snapshots where as_at = '2025-03-31' and sector = 'Private'"
        ).fetchone()[0]
    )
    # every other home says since when it is no longer listed, and why
    rows = db.execute(
        "select missing_since, status_note, last_listed from homes where status != 'active'"
    ).fetchall()
    assert rows and all(since in ("2021-03-31", "2025-03-31") for since, _, _ in rows)
    assert all(
        note.startswith(f"no longer listed as of {since}") for since, note, _ in rows
    )
    gone_2025 = [r for r in rows if r[0] == "2025-03-31" and r[2] == "2021-03-31"]
    assert gone_2025 and all("last listed 2021-03-31" in r[1] for r in gone_2025)


@pytest.mark.real
def test_status_is_recreated_from_the_evidence(real_registry, tmp_path):
    path = _copy(real_registry, tmp_path)
    db = open_registry(path)
    before = db.execute(
        "select urn, status, missing_since, status_note from homes"
    ).fetchall()
    db.execute(
        "update homes set status = 'active', missing_since = null, status_note = null"
    )
    derive_status(db)
    after = db.execute(
        "select urn, status, missing_since, status_note from homes"
    ).fetchall()
    assert sorted(after) == sorted(before)


@pytest.mark.real
def test_a_nightly_refresh_on_a_file_built_registry_is_not_refused(
    real_registry, tmp_path
):
    db = open_registry(_copy(real_registry, tmp_path))
    listed = [
        r[0]
        for r in db.execute(
            "select urn from home_snapshots where as_at = '2025-03-31' order by urn"
        )
    ]
    closed = listed[:40]  # deregistered since March: 1% of the list
    changes = apply_status(
        db, _crawl(set(listed) - set(closed)), thresholds=Thresholds()
    )
    assert changes == {"missing": 40}, changes
    missing = {
        r[0] for r in db.execute("select urn from homes where status = 'missing'")
    }
    assert missing == set(closed)
    note = db.execute(
        "select status_note from homes where urn = ?", [closed[0]]
    ).fetchone()[0]
    assert note == (
        "missing from the complete crawl of Ofsted's search on 2026-11-29 "
        "(listed until 2025-03-31)"
    )
    history = db.execute(
        "select status, previous_status, crawl_id from home_status_history "
        "where urn = ?",
        [closed[0]],
    ).fetchall()
    assert history == [("missing", "active", "reports-20261129T200000-abcd")]
    # a second complete crawl without them: no longer listed
    changes = apply_status(
        db,
        _crawl(set(listed) - set(closed), "reports-20261130T200000-abcd", "2026-11-30"),
        thresholds=Thresholds(),
    )
    assert changes == {"inactive": 40}


@pytest.mark.real
def test_the_gate_counts_only_homes_the_crawl_was_expected_to_see(
    real_registry, tmp_path
):
    db = open_registry(_copy(real_registry, tmp_path))
    listed = sorted(
        r[0]
        for r in db.execute("select urn from home_snapshots where as_at = '2025-03-31'")
    )
    # a crawl that lost a quarter of the register is still refused...
    reason = apply_status(db, _crawl(listed[:3000]), thresholds=Thresholds())
    assert reason == (
        "crawl reports-20261129T200000-abcd would mark 1009 of the 4009 homes on the "
        "newest listing missing (over 10%); refusing rather than guessing"
    )
    assert db.execute("select count(*) from crawl_listings").fetchone()[0] == 0
    # ...and a sample crawl judges only sample homes, never the real ones
    before = db.execute("select urn, status from homes").fetchall()
    changes = apply_status(
        db, _crawl(["SC999001", "SC999002"]), thresholds=Thresholds(), is_sample=True
    )
    assert changes == {}
    assert db.execute("select urn, status from homes").fetchall() == before


# ------------------------------------------------------------ older layouts

SEPT_2014 = (
    "URN,Provision type,Registration status,Sector,LA,GOR,Max/Estimated Places,"
    "Organisation,Inspection type,Inspection date,Overall effectiveness\n"
    "SC064050,Children's Home,Active,Local authority,Durham,North East,4,"
    "Durham County Council,Full inspection,12/05/2014,Adequate\n"
    "SC777001,Children's Home,Active,Private,Poole,South West,5,DMR Services Ltd,"
    "Full inspection,11/06/2014,Good\n"
    "SC777002,Children's Home,Active,Private,Leeds,Yorkshire and the Humber,3,"
    "DMR Services Ltd,Full inspection,11/06/2014,Good\n"
)
MARCH_2015 = (
    "Web link,URN,Provision type,Reg Status,Setting Name,Address 1,Address 2,Town,"
    "County,Postcode,Region,Local authority,Sector,Inspection type,Inspection Date,"
    "Inspection ID,Overall effectiveness\n"
    "Ofsted Social Care Provider Webpage,SC064050,Children's Home,Active,REDACTED,"
    'REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,"North East, Yorkshire and the '
    'Humber",Durham,Local authority,Full inspection,27/03/2015,326436,Good\n'
    "Ofsted Social Care Provider Webpage,SC777001,Children's Home,Active,REDACTED,"
    "REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,South West,Poole,Private,"
    "Full inspection,26/03/2015,326600,Good\n"
)


def test_the_september_2014_columns_are_read(db_path, tmp_path):
    path = tmp_path / "providers_at_30_september_2014.csv"
    path.write_text(SEPT_2014, encoding="utf-8")
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "providers_at_30_september_2014.csv: providers at 2014-09-30, 3 homes with 12 "
        "places; 0 problems (0 other providers skipped)"
    ]
    db = open_registry(db_path)
    rows = db.execute(
        "select urn, local_authority, la_code, region, region_is_derived, places "
        "from home_snapshots order by urn"
    ).fetchall()
    assert rows == [
        ("SC064050", "Durham", "E06000047", "North East", 0, 4),
        ("SC777001", "Poole", "E06000029", "South West", 0, 5),
        # the reference list's spelling, so one region is one group
        ("SC777002", "Leeds", "E08000035", "Yorkshire and The Humber", 0, 3),
    ]


def test_the_2015_list_says_what_it_lacks_and_derives_the_region(db_path, tmp_path):
    path = tmp_path / "providers_at_31_march_2015.csv"
    path.write_text(MARCH_2015, encoding="utf-8")
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "providers_at_31_march_2015.csv: providers at 2015-03-31, 2 homes, places not "
        "given (owner not given; region not given, worked out from the local authority "
        "for 2 homes); 0 problems (0 other providers skipped)"
    ]
    db = open_registry(db_path)
    rows = db.execute(
        "select urn, la_code, region, region_is_derived, places from home_snapshots "
        "order by urn"
    ).fetchall()
    assert rows == [
        ("SC064050", "E06000047", "North East", 1, None),
        ("SC777001", "E06000029", "South West", 1, None),
    ]
    assert db.execute("select columns_not_given from sources").fetchone() == (
        "owner, places, region",
    )
    homes = db.execute("select region, region_is_derived from homes order by urn")
    assert homes.fetchall() == [("North East", 1), ("South West", 1)]


def test_a_date_written_yyyy_mm_dd_in_the_file_name_is_recognised(db_path, tmp_path):
    path = tmp_path / "providers_2018-03-31.csv"
    path.write_text(SEPT_2014, encoding="utf-8")
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "providers_2018-03-31.csv: providers at 2018-03-31,"
    )


def test_dfe_not_available_dots_are_a_symbol_not_a_problem(db_path, tmp_path):
    from registry_support import fixture

    lines = fixture("SFR34_Missing2015.csv").read_text(encoding="utf-8").splitlines()
    header, first, *rest = lines
    cells = first.split(",")
    cells[-1] = ".."
    path = tmp_path / "SFR34_Missing2015.csv"
    path.write_text(
        "\n".join([header, ",".join(cells), *rest]) + "\n", encoding="utf-8"
    )
    result = run_load(db_path, path)
    assert result.exit_code == 0, result.output
    assert ", 0 problems" in result.stdout
    db = open_registry(db_path)
    assert (
        db.execute(
            "select count(*) from la_missing_stats where symbol = 'x' and value is null"
        ).fetchone()[0]
        >= 1
    )
    assert db["problems"].count == 0


@pytest.mark.real
@pytest.mark.slow
def test_a_sample_refresh_on_a_registry_built_from_the_real_files(
    real_registry, tmp_path
):
    """The issue's path: load the official files, then `refresh --sample`.
    It used to be refused ("would mark 4868 of 5068 active homes missing")."""
    from registry.refresh.refresh import refresh, site_settings
    from sample_site.server import SampleSite

    path = _copy(real_registry, tmp_path)
    before = (
        open_registry(path)
        .execute("select urn, status, missing_since from homes order by urn")
        .fetchall()
    )
    fast = {"AUTOTHROTTLE_ENABLED": "0", "DOWNLOAD_DELAY": "0"}
    with SampleSite(homes=8, seed=4) as site:
        result = refresh(
            path,
            data_dir=tmp_path / "data",
            spiders=("reports",),
            mode="full",
            settings={**fast, **site_settings(site.url)},
            is_sample=True,
        )
        assert result.ok, result.reasons
        sample_urns = {h.urn for h in site.population.homes}
    db = open_registry(path)
    after = db.execute(
        "select urn, status, missing_since from homes where urn not in "
        "(select value from json_each(?)) order by urn",
        [__import__("json").dumps(sorted(sample_urns))],
    ).fetchall()
    assert after == [r for r in before if r[0] not in sample_urns]
    statuses = dict(
        db.execute("select status, count(*) from homes group by 1").fetchall()
    )
    assert statuses["active"] == 4009 + len(sample_urns - {r[0] for r in before})
