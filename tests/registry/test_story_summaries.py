"""What the ``downgrades`` and ``owners`` stories read is derived once, when
the registry changes (``registry.derive.summaries``), and says exactly what
the stories used to work out on every request.

The oracle is the stories' earlier SQL, which looked up each full
inspection's previous one and counted each owner's homes from the list rows
themselves, run on the same registry: a registry of the real official files
(REAL_DATA_DIR), a registry migrated from an older version, and small files
written here for the cases the real files may not hold (same-day
inspections, judgements off the scale, a monitoring visit between two full
inspections, a list re-published with a home under another owner)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from registry_support import run_load

from registry.derive import summaries
from registry.derive.summaries import derive_owner_snapshots, derive_summaries
from registry.publish.serve import make_datasette
from registry.schema.db import open_registry
from registry.schema.migrations import apply_migrations

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
HEADER = (
    (FIXTURES / "spreadsheets" / "inspections-2017-18-layout.csv").open().readline()
)

# The stories' SQL before the summaries: the reference definitions.
DOWNGRADES_BEFORE = """
select i.urn, j.inspection_date as previous_date,
  j.judgement as previous_judgement, i.inspection_date, i.judgement,
  sj.score - si.score as steps_down,
  h.local_authority, h.la_code, o.name as owner, h.owner as owner_id
from inspections i
join inspections j on j.urn = i.urn and j.event_type = 'Full inspection'
  and j.inspection_date = (
    select max(k.inspection_date) from inspections k
    where k.urn = i.urn and k.event_type = 'Full inspection'
      and k.inspection_date < i.inspection_date
      and k.judgement in (select judgement from judgement_scale))
cross join judgement_scale si cross join judgement_scale sj
join homes h on h.urn = i.urn
left join owners o on o.id = h.owner
where i.event_type = 'Full inspection'
  and si.judgement = i.judgement and sj.judgement = j.judgement
  and i.inspection_date >= coalesce(nullif(:from_date, ''), '0000-01-01')
  and i.inspection_date <= coalesce(nullif(:to_date, ''), '9999-12-31')
  and si.score < sj.score
order by i.inspection_date desc, i.urn
"""

# counts per (list, owner) straight from the list's rows
OWNERS_BEFORE = """
select as_at, owner, count(*) as homes, sum(places) as places,
  coalesce(sum(latest_judgement in (select judgement from judgement_scale where grade = 'outstanding')), 0),
  coalesce(sum(latest_judgement in (select judgement from judgement_scale where grade = 'good')), 0),
  coalesce(sum(latest_judgement in (select judgement from judgement_scale where grade = 'requires_improvement')), 0),
  coalesce(sum(latest_judgement in (select judgement from judgement_scale where grade = 'inadequate')), 0),
  sum(latest_judgement is null), sum(latest_judgement is not null)
from home_snapshots where owner is not null group by as_at, owner order by 1, 2
"""
OWNER_SNAPSHOTS = "select * from owner_snapshots order by 1, 2"


def _row(urn: str, day: str, event: str, overall: str, n: int) -> str:
    return (
        f"Ofsted Social Care Provider Webpage,{urn},,Children's home,Active,REDACTED,"
        "REDACTED,REDACTED,REDACTED,REDACTED,REDACTED,North West,North West,Lancashire,"
        f"Lancaster,Private,4,Some Care Ltd,{event},{day},{day},{10050000 + n},"
        f"{overall},,,Good,Good\n"
    )


def _downgrades_before(db, **params) -> list[tuple]:
    wanted = {"from_date": "", "to_date": "", **params}
    return db.execute(DOWNGRADES_BEFORE, wanted).fetchall()


async def _story(ds, name: str, **params) -> list[tuple]:
    """Every row of a story, from its complete CSV export, as text."""
    response = await ds.client.get(f"/registry/{name}.csv", params=params)
    assert response.status_code == 200, response.text
    return [tuple(r) for r in csv.reader(io.StringIO(response.text))][1:]


def _as_text(rows: list[tuple]) -> list[tuple]:
    return [tuple("" if v is None else str(v) for v in r) for r in rows]


@pytest.mark.real
def test_real_files_downgrades_are_the_earlier_definition(real_registry_path):
    db = open_registry(real_registry_path)
    everything = _downgrades_before(db)
    assert len(everything) > 100  # the real tables hold many
    rows = db.execute(
        "select urn, previous_full_inspection_date, previous_judgement, "
        "inspection_date, judgement, -judgement_change from inspections "
        "where judgement_change < 0 order by inspection_date desc, urn"
    ).fetchall()
    assert rows == [r[:6] for r in everything]
    # upgrades and no change are held too, and only for full inspections
    assert db.execute(
        "select count(*) from inspections where judgement_change > 0"
    ).fetchone()[0]
    assert db.execute(
        "select count(*) from inspections where judgement_change = 0"
    ).fetchone()[0]
    assert not db.execute(
        "select count(*) from inspections where event_type != 'Full inspection' "
        "and (judgement_change is not null or previous_judgement is not null)"
    ).fetchone()[0]


@pytest.mark.real
async def test_real_files_stories_answer_as_before(real_registry_path):
    db = open_registry(real_registry_path)
    assert (
        db.execute(OWNER_SNAPSHOTS).fetchall() == db.execute(OWNERS_BEFORE).fetchall()
    )
    ds = make_datasette(real_registry_path)
    for params in ({}, {"from_date": "2020-01-01", "to_date": "2022-12-31"}):
        assert await _story(ds, "downgrades", **params) == _as_text(
            _downgrades_before(db, **params)
        )
    newest = db.execute("select max(as_at) from home_snapshots").fetchone()[0]
    owners = await _story(ds, "owners", min_homes="3")
    homes, places = db.execute(
        "select count(*), sum(places) from home_snapshots where as_at = ?", [newest]
    ).fetchone()
    expected = db.execute(
        "select owner, count(*), sum(places) from home_snapshots "
        "where as_at = ? and owner is not null group by owner having count(*) >= 3",
        [newest],
    ).fetchall()
    assert sorted((r[0], r[2], r[3]) for r in owners) == sorted(_as_text(expected))
    top = owners[0]
    assert float(top[4]) == round(100.0 * int(top[2]) / homes, 2)
    assert float(top[5]) == round(100.0 * int(top[3]) / places, 2)
    assert {r[-1] for r in owners} == {newest}


def test_previous_inspection_on_the_scale(tmp_path):
    sheet = tmp_path / "inspections-2023-24.csv"
    sheet.write_text(
        HEADER
        # Good, a monitoring visit, then requires improvement: one step down
        + _row("SC300001", "01/06/2021", "Full inspection", "Good", 1)
        + _row("SC300001", "01/09/2021", "Monitoring inspection", "", 2)
        + _row(
            "SC300001",
            "01/03/2022",
            "Full inspection",
            "Requires improvement to be good",
            3,
        )
        # then outstanding: two steps up, from the requires improvement
        + _row("SC300001", "01/03/2023", "Full inspection", "Outstanding", 4)
        # a judgement off the scale is passed over as a previous one
        + _row("SC300002", "01/06/2021", "Full inspection", "Inadequate", 5)
        + _row("SC300002", "01/09/2021", "Full inspection", "Not judged", 6)
        + _row("SC300002", "01/03/2022", "Full inspection", "Good", 7)
    )
    result = run_load(tmp_path / "registry.db", sheet)
    assert result.exit_code == 0, result.output
    db = open_registry(tmp_path / "registry.db")
    got = {
        (r[0], r[1]): r[2:]
        for r in db.execute(
            "select urn, inspection_date, previous_full_inspection_date, "
            "previous_judgement, judgement_change from inspections"
        )
    }
    assert got[("SC300001", "2021-06-01")] == (None, None, None)
    assert got[("SC300001", "2021-09-01")] == (None, None, None)
    assert got[("SC300001", "2022-03-01")] == ("2021-06-01", "Good", -1)
    assert got[("SC300001", "2023-03-01")] == (
        "2022-03-01",
        "Requires improvement to be good",
        2,
    )
    off_scale = got[("SC300002", "2021-09-01")]
    assert off_scale[:2] == ("2021-06-01", "Inadequate") and off_scale[2] is None
    assert got[("SC300002", "2022-03-01")] == ("2021-06-01", "Inadequate", 2)
    assert db.execute(DOWNGRADES_BEFORE, {"from_date": "", "to_date": ""}).fetchall()


def test_a_later_file_changes_the_previous_inspection(tmp_path):
    """A newer file that adds an earlier inspection: the homes it touches are
    derived again, so the later inspection's previous one moves."""
    first, second = (
        tmp_path / "inspections-2022-23.csv",
        tmp_path / "inspections-2023-24.csv",
    )
    first.write_text(
        HEADER + _row("SC300003", "01/03/2023", "Full inspection", "Inadequate", 1)
    )
    second.write_text(
        HEADER
        + _row("SC300003", "01/03/2023", "Full inspection", "Inadequate", 1)
        + _row("SC300003", "01/01/2020", "Full inspection", "Outstanding", 2)
    )
    path = tmp_path / "registry.db"
    assert run_load(path, first).exit_code == 0
    db = open_registry(path)
    change = (
        "select judgement_change from inspections where inspection_date = '2023-03-01'"
    )
    assert db.execute(change).fetchone()[0] is None
    assert run_load(path, second).exit_code == 0
    db = open_registry(path)  # a load publishes a new file in its place
    assert db.execute(change).fetchone()[0] == -3


def test_owner_snapshots_follow_the_list_rows(tmp_path):
    """Re-published rows that move a home to another owner: the counts follow,
    and an owner the list no longer names at that date has no row for it."""
    providers = FIXTURES / "spreadsheets" / "providers-at-2025-03-31-layout.csv"
    path = tmp_path / "registry.db"
    assert run_load(path, providers).exit_code == 0
    db = open_registry(path)
    assert (
        db.execute(OWNER_SNAPSHOTS).fetchall() == db.execute(OWNERS_BEFORE).fetchall()
    )
    owner, urn = db.execute(
        "select owner, min(urn) from home_snapshots group by owner "
        "having count(*) = 1 limit 1"
    ).fetchone()
    other = db.execute(
        "select owner from home_snapshots where owner != ? limit 1", [owner]
    ).fetchone()[0]
    with db.conn:
        db.execute("update home_snapshots set owner = ? where urn = ?", [other, urn])
        derive_owner_snapshots(db)
    assert (
        db.execute(OWNER_SNAPSHOTS).fetchall() == db.execute(OWNERS_BEFORE).fetchall()
    )
    assert not db.execute(
        "select count(*) from owner_snapshots where owner = ?", [owner]
    ).fetchone()[0]


def test_an_older_registry_is_given_the_summaries(tmp_path):
    """A registry from before the summaries: migrating fills them exactly as a
    derivation from scratch does."""
    path = tmp_path / "registry.db"
    shutil.copy(FIXTURES / "registries" / "before-one-set.db", path)
    db = open_registry(path, migrate=False)
    apply_migrations(db)
    migrated = (
        db.execute(OWNER_SNAPSHOTS).fetchall(),
        db.execute("select * from inspections order by id").fetchall(),
    )
    assert migrated[0], "the fixture registry has a providers list"
    with db.conn:
        db.execute("delete from owner_snapshots")
        db.execute(
            "update inspections set previous_full_inspection_date = null, "
            "previous_judgement = null, judgement_change = null"
        )
        derive_summaries(db)
    assert (
        db.execute(OWNER_SNAPSHOTS).fetchall(),
        db.execute("select * from inspections order by id").fetchall(),
    ) == migrated
    assert (
        db.execute(OWNER_SNAPSHOTS).fetchall() == db.execute(OWNERS_BEFORE).fetchall()
    )


def test_a_load_recounts_only_the_lists_it_wrote(tmp_path, monkeypatch):
    """Owners are recounted for the lists a load wrote rows of: a providers
    list recounts its own date, an inspections table or a reload recounts
    none, and the counts stay those of the list rows."""
    counted = []
    recount = summaries.derive_owner_snapshots

    def recording(db, lists=None):
        counted.append(None if lists is None else sorted(lists))
        return recount(db, lists)

    monkeypatch.setattr(summaries, "derive_owner_snapshots", recording)
    providers = FIXTURES / "spreadsheets" / "providers-at-2025-03-31-layout.csv"
    sheet = tmp_path / "inspections-2023-24.csv"
    sheet.write_text(
        HEADER + _row("SC300004", "01/03/2023", "Full inspection", "Good", 1)
    )
    path = tmp_path / "registry.db"
    open_registry(path).close()  # the schema's own first count (of no list)
    counted.clear()
    assert run_load(path, providers).exit_code == 0
    assert counted == [["2025-03-31"]]
    assert run_load(path, sheet).exit_code == 0
    assert run_load(path, providers).exit_code == 0  # already loaded
    assert counted == [["2025-03-31"]]
    db = open_registry(path)
    assert db["owner_snapshots_pending"].count == 0
    assert (
        db.execute(OWNER_SNAPSHOTS).fetchall() == db.execute(OWNERS_BEFORE).fetchall()
    )
