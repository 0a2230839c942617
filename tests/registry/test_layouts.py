"""Every era's Ofsted and DfE layout, from small files written in that layout."""

import datetime as dt

import pytest
from registry_support import fixture, run_load

from extract import dfe, ofsted
from extract.tables import read_sheets
from registry.schema.db import open_registry


@pytest.mark.parametrize(
    ("name", "kind", "as_at", "year", "homes", "events", "other"),
    [
        (
            "providers-at-2025-03-31-layout.csv",
            "providers",
            "2025-03-31",
            None,
            6,
            5,
            1,
        ),
        (
            "providers_at_31_march_2021-layout.csv",
            "providers",
            "2021-03-31",
            None,
            3,
            2,
            1,
        ),
        (
            "providers_at_30_september_2014-layout.csv",
            "providers",
            "2014-09-30",
            None,
            2,
            2,
            0,
        ),
        (
            "inspections-in-year-2023-24-layout.csv",
            "inspections",
            "2024-03-31",
            "2023-24",
            5,
            5,
            0,
        ),
        (
            "inspections-2019-20-layout.csv",
            "inspections",
            "2020-03-31",
            "2019-20",
            3,
            3,
            0,
        ),
        (
            "inspections-2017-18-layout.csv",
            "inspections",
            "2018-03-31",
            "2017-18",
            4,
            4,
            0,
        ),
        (
            "inspections-2015-16-layout.csv",
            "inspections",
            "2016-03-31",
            "2015-16",
            3,
            3,
            0,
        ),
        (
            "inspections-2014-15-layout.csv",
            "inspections",
            "2015-03-31",
            "2014-15",
            4,
            4,
            1,
        ),
        (
            "childrens-homes-inspections-2013-14-numeric-codes.csv",
            "inspections",
            "2014-03-31",
            "2013-14",
            4,
            4,
            0,
        ),
    ],
)
def test_each_ofsted_layout_is_recognised(
    name, kind, as_at, year, homes, events, other
):
    path = fixture(name)
    parsed = ofsted.read_ofsted(read_sheets(path), file_name=path.name)
    (table,) = parsed.tables
    assert table.kind == kind
    assert table.as_at.isoformat() == as_at
    assert table.year == year
    assert len(table.rows) == homes
    assert table.inspections_count == events
    assert table.other_providers == other
    assert table.problems == []


def test_2025_layout_details():
    path = fixture("providers-at-2025-03-31-layout.csv")
    (table,) = ofsted.read_ofsted(read_sheets(path), file_name=path.name).tables
    rows = {r.home.urn: r for r in table.rows}
    # header cells with embedded newlines are read; RI spelling variant normalised
    assert rows["1234567"].inspections[0].judgement == "Requires improvement to be good"
    assert rows["1234567"].inspections[0].judgement_as_published == (
        "Requires Improvement to be good"
    )
    assert (
        rows["SC064050"].home.provision_type == "Children's home"
    )  # from "Children's Home"
    assert rows["SC064050"].home.is_short_break_only == 1
    assert rows["2775403"].inspections == []  # not yet inspected
    suspended = rows["SC999001"]
    assert suspended.home.places is None  # NULL
    assert suspended.inspections[0].publication_date is None
    assert suspended.home.registration_status == "Suspended"
    assert "SC123456" not in rows  # a fostering agency is not a children's home


def test_previous_columns_become_earlier_events():
    path = fixture("inspections-in-year-2023-24-layout.csv")
    (table,) = ofsted.read_ofsted(read_sheets(path), file_name=path.name).tables
    earlier = [e for r in table.rows for e in r.earlier]
    assert {(e.urn, e.inspection_date, e.event_type) for e in earlier} == {
        ("SC064050", "2019-10-21", "Full inspection"),
        ("2590934", "2023-04-04", "Monitoring inspection"),
    }
    types = {e.event_type for r in table.rows for e in r.inspections}
    assert types == {
        "Full inspection",
        "Monitoring inspection",
        "Emergency inspection",
        "Assurance visit",
    }


def test_numeric_codes_map_by_era():
    path = fixture("childrens-homes-inspections-2013-14-numeric-codes.csv")
    (table,) = ofsted.read_ofsted(read_sheets(path), file_name=path.name).tables
    got = {r.home.urn: r.inspections[0] for r in table.rows}
    assert got["SC000678"].judgement == "Adequate"
    assert got["SC000678"].helped_and_protected == "Adequate"
    assert got["SC000678"].outcomes_in_education is None  # 0 = not applicable
    assert got["SC000802"].judgement == "Outstanding"
    assert got["SC000802"].leaders_and_managers == "Good"
    assert got["SC005567"].judgement == "Not judged"


def test_workbook_with_several_sheets_and_float_urns(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book["Cover"].append(["Children's social care data in England 2024"])
    at = book.create_sheet("Provider_level_at_31_Mar_2024")
    in_year = book.create_sheet("Provider_level_in_year_2023-24")
    book.create_sheet("Notes").append(["Note Number", "Note Text"])
    header = [
        "Web link",
        "URN",
        "Provision type",
        "Local authority",
        "Sector",
        "Places",
    ]
    for sheet in (at, in_year):
        sheet.append(["Title"])
        sheet.append(["This worksheet contains one table"])
        sheet.append([""])
    at.append([*header, "Organisation which owns the provider"])
    at.append(["link", 2590934, "Children's home", "Lewisham", "Private", 2.0, "Zone"])
    at.append(
        ["link", 1027077, "Secure Training Centre", "Milton Keynes", "Private", 80]
    )
    in_year.append(
        [*header, "Inspection event type", "Inspection date", "Overall effectiveness"]
    )
    in_year.append(
        ["link", 2590934.0, "Children's home", "Lewisham", "Private", 2,
         "Full inspection", dt.datetime(2023, 9, 12), "Good"]
    )  # fmt: skip
    path = tmp_path / "workbook-saved-as.csv"  # wrong extension on purpose
    book.save(path)
    parsed = ofsted.read_ofsted(read_sheets(path), file_name=path.name)
    assert [t.kind for t in parsed.tables] == ["providers", "inspections"]
    assert parsed.tables[0].as_at == dt.date(2024, 3, 31)
    assert parsed.tables[0].rows[0].home.urn == "2590934"
    assert parsed.tables[0].rows[0].home.places == 2
    assert parsed.tables[1].rows[0].inspections[0].inspection_date == "2023-09-12"
    assert parsed.skipped_sheets == ["Cover", "Notes"]
    result = run_load(tmp_path / "r.db", path)
    assert result.exit_code == 0, result.output
    assert "providers at 2024-03-31, 1 homes with 2 places" in result.output


@pytest.mark.parametrize(
    ("name", "kind", "release", "figures", "suppressed"),
    [
        ("dfe-la-missing-release-2024.csv", dfe.LA_MISSING, "2024", 22, 8),
        ("dfe-la-missing-release-2023-lowercase.csv", dfe.LA_MISSING, "2023", 4, 0),
        ("dfe-national-missing-release-2024.csv", dfe.NATIONAL_MISSING, "2024", 5, 1),
        ("SFR34_Missing2015.csv", dfe.SFR_MISSING, "2015", 48, 3),
        ("SFR50_Missing_2017.csv", dfe.SFR_MISSING, "2017", 16, 1),
    ],
)
def test_each_dfe_layout(name, kind, release, figures, suppressed):
    path = fixture(name)
    (sheet,) = read_sheets(path)
    table = dfe.read_dfe(sheet, file_name=path.name)
    assert table.kind == kind
    assert table.release == release
    assert len(table.statistics) == figures
    assert sum(1 for s in table.statistics if s.symbol) == suppressed
    assert all(s.value is None for s in table.statistics if s.symbol)


def test_dfe_measures_levels_and_symbols(db_path):
    result = run_load(
        db_path,
        fixture("dfe-la-missing-release-2024.csv"),
        fixture("SFR34_Missing2015.csv"),
        fixture("SFR50_Missing_2017.csv"),
    )
    assert result.exit_code == 0, result.output
    db = open_registry(db_path)
    rows = {
        (r["year"], r["area_code"], r["measure"]): r
        for r in db.query("select * from la_missing_stats")
    }
    assert rows[(2024, "E92000001", "missing_incidents")]["value"] == 83920
    assert rows[(2015, "E92000001", "missing_incidents")]["value"] == 28570
    assert rows[(2017, "E92000001", "missing_incidents")]["value"] == 60720
    rutland = rows[(2024, "E06000017", "missing_incidents")]
    assert (rutland["value"], rutland["symbol"]) == (None, "c")
    assert rows[(2024, "E06000017", "children_missing_at_31_march")]["symbol"] == "k"
    assert rows[(2024, "E09000012", "missing_incidents")]["symbol"] == "x"
    assert rows[(2024, "E10000016", "pct_children_missing")]["value"] == 11.5
    # the SFR's London, Inner London and Outer London rows are kept apart
    assert rows[(2015, "E12000007", "missing_incidents")]["value"] == 4710
    assert rows[(2015, "E13000001", "missing_incidents")]["value"] == 1140
    assert rows[(2015, "E13000002", "missing_incidents")]["value"] == 3570
    levels = {
        r[0]
        for r in db.execute("select distinct geographic_level from la_missing_stats")
    }
    assert levels == {"National", "Regional", "Local authority"}
    kent_2015 = rows[(2015, "E10000016", "away_incidents")]
    assert (kent_2015["la_name"], kent_2015["value"]) == ("Kent", 282)
