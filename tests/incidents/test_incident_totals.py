"""Total and subtotal rows in incident files are neither homes nor counts.

FOI replies group homes by provider or local authority and add a subtotal
line under each group and a grand total at the end. Read as a home, such a
line pollutes matching; published beside per-home counts shown as <5, it gives
them by subtraction. The reader skips it wherever its label is (URN, home,
provider, local authority, period, kind or an unnamed column) and says so in
one problem line with no row and no value; real homes and companies with
"total" in their names are still read."""

from __future__ import annotations

import pytest

from extract.incidents import (
    TOTALS_SKIPPED,
    is_total_label,
    is_total_row,
    read_incidents,
)
from registry.incidents.incidents import load_incidents, open_private

TOTAL_LABELS = [
    "Total",
    "TOTAL:",
    "Totals",
    "total.",
    "(Total)",
    "Sub-total",
    "Sub total",
    "Subtotal",
    "SUB-TOTALS",
    "Grand total",
    "Grand Total:",
    "Overall",
    "Overall total",
    "All",
    "All homes",
    "All local authorities",
    "Kingfisher Care Group Ltd total",
    "Kingfisher Care Group Ltd Total:",
    "Kingfisher Care Group Ltd - Sub-total",
    "KINGFISHER CARE GROUP LTD (SUBTOTAL)",
    "Birmingham total",
    "Birmingham – grand total",
    "Kent (overall)",
    "Total for Birmingham",
    "TOTAL FOR KINGFISHER CARE GROUP LTD",
    "Totals for 2022/23",
    "Total: Kingfisher",
    "Total - Kent",
    "Total (Birmingham)",
    "Subtotal Kingfisher",
    "Grand total all areas",
    "All homes in Birmingham",
    "Total of all homes",
]

NOT_TOTALS = [
    "Totally Caring Ltd",
    "Totalcare Homes",
    "Total-Care Ltd",
    "Total Care Ltd",
    "Overall Care Ltd",
    "The Total Approach House",
    "Sum Total House",
    "All Saints House",
    "All in One Care Ltd",
    "Home for All",
    "Oak House",
    "Kingfisher Care Group Ltd",
    "Birmingham",
    "2022/23",
    "Missing",
]


@pytest.mark.parametrize("label", TOTAL_LABELS)
def test_total_labels_are_recognised(label):
    assert is_total_label(label)


@pytest.mark.parametrize("name", NOT_TOTALS)
def test_names_with_total_inside_are_not_totals(name):
    assert not is_total_label(name)


COLUMNS = {0: "urn", 1: "home_name", 2: "provider", 3: "local_authority"}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        # "Total <words>" on a row without a URN: a total when nothing else
        # on the row says what it is, or when the words name another cell
        (["", "Total Birmingham", "", ""], True),
        (["", "Total Kingfisher", "Kingfisher Care Group Ltd", ""], True),
        (["", "", "Total Birmingham", "Birmingham"], True),
        (["", "", "", "England"], True),
        (["Total incidents: 157", "", "", ""], True),
        # ... and a home otherwise
        (["", "Total Care House", "Total Care Ltd", "Kent"], False),
        (["", "Total Care House", "", "Kent"], False),
        (["", "", "Total Care Ltd", "Kent"], False),
        (["", "Oak House", "Total Care Services", "Kent"], False),
        (["SC100001", "Total House", "", ""], False),
        (["", "Oak House", "Totally Caring Ltd", "Kent"], False),
    ],
)
def test_rows_beginning_total_need_more_than_the_word(row, expected):
    assert is_total_row(row, COLUMNS) is expected


def _home(*cells):
    """A home's row: no note, then URN, name, provider, LA, places, year,
    type and incidents."""
    return ["", *cells]


def _by_home(kit, path, *, xlsx=False):
    """Homes of the test registry, grouped, with subtotals labelled in every
    column a publisher might use. Counts of the small homes are 1 to 4."""
    header = [
        "Note",
        "URN",
        "Home name",
        "Provider",
        "Local authority",
        "Places",
        "Year",
        "Type",
        "Incidents",
    ]
    rows = [
        header,
        _home(
            "SC100001",
            "Rose Cottage",
            "Bright Futures Care Ltd",
            "Lancashire",
            4,
            "2022",
            "Missing",
            3,
        ),
        _home(
            "SC100002",
            "Ivy House",
            "Bright Futures Care Ltd",
            "Lancashire",
            3,
            "2022",
            "Missing",
            2,
        ),
        ["", "", "", "Bright Futures Care Ltd total", "", "", "2022", "", 5],
        _home(
            "1000003",
            "Beech House",
            "Oakleaf Homes Limited",
            "Lancashire",
            2,
            "2022",
            "Missing",
            4,
        ),
        ["", "", "", "", "Lancashire total", "", "2022", "", 9],
        # a real home, whose provider has "total" in its name
        _home(
            "SC100004",
            "Meadow View",
            "Totally Caring Ltd",
            "Kent",
            4,
            "2022",
            "Missing",
            1,
        ),
        # a real home with no URN, named after its provider "Total Care Ltd"
        _home(
            "", "Total Care House", "Total Care Ltd", "Kent", 6, "2022", "Missing", 23
        ),
        ["", "", "Sub-total", "", "Kent", "", "2022", "", 24],
        # the same home's total over the kinds, labelled in the kind column
        _home(
            "SC100001",
            "Rose Cottage",
            "Bright Futures Care Ltd",
            "Lancashire",
            4,
            "2022",
            "Away",
            2,
        ),
        _home(
            "SC100001",
            "Rose Cottage",
            "Bright Futures Care Ltd",
            "Lancashire",
            4,
            "2022",
            "Total",
            5,
        ),
        # a home's total over years, labelled in the period column
        _home(
            "SC100002",
            "Ivy House",
            "Bright Futures Care Ltd",
            "Lancashire",
            3,
            "Total",
            "Missing",
            2,
        ),
        # labelled only in a column the reader does not use
        ["Total", "", "", "", "", "", "2022", "", 35],
        ["", "", "", "", "England", "", "2022", "", 35],
        ["", "Grand total", "", "", "", "", "", "", 35],
    ]
    if xlsx:
        return kit.write_xlsx(path, rows, title_rows=2)
    return kit.write_csv(path, rows)


HOME_COUNTS = {
    ("SC100001", "missing"): 3,
    ("SC100002", "missing"): 2,
    ("1000003", "missing"): 4,
    ("SC100004", "missing"): 1,
    (None, "missing"): 23,  # Total Care House
    ("SC100001", "away"): 2,
}
SUBTOTALS = {5, 9, 24, 35}


@pytest.mark.parametrize("xlsx", [False, True], ids=["csv", "xlsx"])
def test_subtotal_rows_are_not_read(tmp_path, kit, xlsx):
    path = _by_home(kit, tmp_path / ("foi.xlsx" if xlsx else "foi.csv"), xlsx=xlsx)
    parsed = read_incidents(path)
    got = {(r.urn, r.kind): r.incidents for r in parsed.records}
    assert got == HOME_COUNTS
    assert parsed.rows_read == len(HOME_COUNTS)
    providers = {r.provider for r in parsed.records}
    assert {"Totally Caring Ltd", "Total Care Ltd"} <= providers
    (home,) = [r for r in parsed.records if r.urn is None]
    assert home.home_name == "Total Care House"
    # one problem line for all the total rows: no row, no value, no number
    totals = [p for p in parsed.problems if p[2] == TOTALS_SKIPPED]
    assert totals == [(None, None, TOTALS_SKIPPED, None)]
    assert all(p[2] == TOTALS_SKIPPED for p in parsed.problems), parsed.problems


def test_subtotal_rows_of_a_per_incident_file_are_not_counted(tmp_path, kit):
    rows = [["URN", "Date reported", "Provider", "Child ID"]]
    for day in ("03/05/2022", "10/06/2022", "11/07/2022"):
        rows.append(["SC100001", day, "Bright Futures Care Ltd", "CHILD-1"])
    rows.append(["", "", "Bright Futures Care Ltd total", "3"])
    rows.append(["SC100002", "01/09/2022", "Bright Futures Care Ltd", "CHILD-2"])
    rows.append(["Grand total", "", "", "4"])
    parsed = read_incidents(kit.write_csv(tmp_path / "police.csv", rows))
    assert parsed.shape == "per incident"
    assert {(r.urn, r.incidents) for r in parsed.records} == {
        ("SC100001", 3),
        ("SC100002", 1),
    }
    assert parsed.problems == [(None, None, TOTALS_SKIPPED, None)]


def test_no_subtotal_figure_is_kept_public_or_private(registry, tmp_path, kit):
    """Loaded publicly and privately: neither database holds a subtotal's
    figure or a row for it, and the public problems table has one line."""
    path = _by_home(kit, tmp_path / "foi.csv")
    load = load_incidents(registry, path, source_name="Lancs and Kent FOI")
    assert load.matched + load.queued + load.unmatched == len(HOME_COUNTS)
    private = open_private(tmp_path / "registry.private.db")
    other = _by_home(kit, tmp_path / "annex-a.csv")
    other.write_text(other.read_text().replace("2022", "2023"))
    load_incidents(registry, other, source_name="Annex A", private_db=private)
    for db in (registry, private):
        counts = list(db.query("select * from incident_counts"))
        assert len(counts) == len(HOME_COUNTS)
        published = {c["incidents_shown"] for c in counts}
        assert not published & {str(n) for n in SUBTOTALS}, published
        assert not {c["incidents_count"] for c in counts} & SUBTOTALS
        problems = list(db.query("select * from problems"))
        assert [(p["row"], p["value"], p["message"]) for p in problems] == [
            (None, None, TOTALS_SKIPPED)
        ]
        text = kit.all_text(db)
        for label in ("Lancashire total", "Sub-total", "Grand total"):
            assert label not in text
    # the small homes' counts stay suppressed in public
    shown = {
        r["urn"]: r["incidents_shown"]
        for r in registry.query(
            "select urn, incidents_shown from incident_counts "
            "where kind = 'missing' and urn is not null"
        )
    }
    assert shown == {
        "SC100001": "<5",
        "SC100002": "<5",
        "1000003": "<5",
        "SC100004": "<5",
    }
