"""The real official files (REAL_DATA_DIR): figures computed from the files
themselves, and the same registry whatever the load order."""

import pytest
from registry_support import dump, run_load

from registry.schema.db import open_registry

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def real_registry(tmp_path_factory, request):
    import os
    from pathlib import Path

    real = os.environ.get("REAL_DATA_DIR")
    if not real or not Path(real).is_dir():
        pytest.skip("REAL_DATA_DIR is not set to the folder of real official files")
    files = sorted(
        p for p in Path(real).rglob("*") if p.is_file() and p.suffix != ".md"
    )
    path = tmp_path_factory.mktemp("real") / "registry.db"
    result = run_load(path, *files)
    assert result.exit_code == 0, result.output
    return path, files, result


def test_the_2025_workbook(real_registry):
    path, _, result = real_registry
    assert (
        "providers_at_31_march_2025.ods: providers at 2025-03-31, 4,009 homes with "
        "15,742 places; inspections in 2024-25, 4,455 inspection events"
        in result.stdout
    )
    db = open_registry(path)
    homes, places = db.execute(
        "select count(*), sum(places) from home_snapshots where as_at = '2025-03-31'"
    ).fetchone()
    assert (homes, places) == (4009, 15742)
    plain = db.execute(
        "select count(*), sum(places) from home_snapshots where as_at = '2025-03-31' "
        "and provision_type = 'Children''s home'"
    ).fetchone()
    assert plain == (3946, 14275)
    events = db.execute(
        "select count(*) from inspections where inspection_date between '2024-04-01' and '2025-03-31'"
    ).fetchone()[0]
    assert events == 4455
    sectors = dict(
        db.execute(
            "select sector, count(*) from home_snapshots where as_at = '2025-03-31' "
            "and provision_type = 'Children''s home' group by sector"
        ).fetchall()
    )
    assert sectors["Private"] > 3000 and sectors["Local Authority"] > 400
    assert (
        db.execute("select count(*) from homes where la_code is null").fetchone()[0]
        == 0
    )
    # one row per inspection event: no event number is shared by two rows of a home
    shared = db.execute(
        "select count(*) from (select urn, event_number from inspections where "
        "event_number is not null group by 1, 2 having count(*) > 1)"
    ).fetchone()[0]
    assert shared == 0
    vocabulary = {
        r[0] for r in db.execute("select distinct judgement from inspections")
    }
    assert vocabulary <= {
        None, "Outstanding", "Good", "Requires improvement to be good", "Adequate",
        "Satisfactory", "Inadequate", "Improved effectiveness", "Sustained effectiveness",
        "Declined in effectiveness", "Not judged",
    }  # fmt: skip


def test_the_2024_england_missing_incidents(real_registry):
    path, _, _ = real_registry
    db = open_registry(path)
    value = db.execute(
        "select value, release from la_missing_stats_latest where year = 2024 and "
        "geographic_level = 'National' and measure = 'missing_incidents'"
    ).fetchone()
    assert value == (83920, "2024")
    homes_2024 = db.execute(
        "select value from national_missing_stats where year = 2024 and kind = 'missing' "
        "and characteristic = '4: Secure homes and children''s homes' "
        "and breakdown = 'Placements from which children were missing'"
    ).fetchone()
    assert homes_2024 == (27270,)
    suppressed = db.execute(
        "select symbol, count(*) from la_missing_stats where symbol is not null group by symbol"
    ).fetchall()
    assert dict(suppressed) == {"c": 1206, "z": 244, "k": 5}


def test_loading_everything_twice_in_two_orders_is_identical(real_registry, tmp_path):
    path, files, _ = real_registry
    other = tmp_path / "reversed.db"
    for file in reversed(files):
        assert run_load(other, file).exit_code == 0
    again = run_load(other, *files)  # and again: a no-op
    assert again.stdout.count("already loaded") == len(files)
    assert dump(other) == dump(path)
