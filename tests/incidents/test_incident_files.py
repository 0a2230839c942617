"""FOI-style files in several shapes: every row lands matched, queued or
unmatched; addresses, home names and child references are never stored."""

from __future__ import annotations

import datetime as dt

import pytest

from extract.errors import ExtractError, StrictModeError
from extract.incidents import parse_period, read_incidents
from registry.incidents.incidents import ROWS_NOT_SHOWN, load_incidents, open_private
from registry.incidents.reviews import decide, open_reviews

SECRET_WORDS = [
    "Rose Cottage",
    "12 Acacia Avenue",
    "PR1 2AB",
    "Willow Lodge",
    "CHILD-0042",
    "CHILD-0043",
]


def statuses(db, source_name=None):
    sql = "select file_rows, urn, match_status, match_method from incident_counts"
    return {r["file_rows"]: (r["urn"], r["match_status"]) for r in db.query(sql)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021", ("year", "2021-01-01", "2021-12-31")),
        (2021, ("year", "2021-01-01", "2021-12-31")),
        ("2021/22", ("financial year", "2021-04-01", "2022-03-31")),
        ("FY 2021-22", ("financial year", "2021-04-01", "2022-03-31")),
        ("2021/2022", ("financial year", "2021-04-01", "2022-03-31")),
        ("April 2022", ("month", "2022-04-01", "2022-04-30")),
        ("Feb-24", ("month", "2024-02-01", "2024-02-29")),
        ("2022-09", ("month", "2022-09-01", "2022-09-30")),
        ("01/04/2021 - 31/03/2022", ("date range", "2021-04-01", "2022-03-31")),
        (
            "1 April 2021 to 30 September 2021",
            ("date range", "2021-04-01", "2021-09-30"),
        ),
        ("15/03/2022", ("day", "2022-03-15", "2022-03-15")),
        (dt.date(2022, 3, 15), ("day", "2022-03-15", "2022-03-15")),
    ],
)
def test_periods(text, expected):
    period = parse_period(text)
    assert (period.kind, period.start.isoformat(), period.end.isoformat()) == expected


@pytest.mark.parametrize("text", ["2021/23", "soon", "", "13/2022", "Q5 2021"])
def test_not_periods(text):
    assert parse_period(text) is None


def test_by_urn(registry, tmp_path, kit):
    path = kit.write_csv(
        tmp_path / "by-urn.csv",
        [
            ["URN", "Year", "Missing incidents", "Children"],
            ["SC100001", "2022", "14", "6"],
            ["SC 100002", "2022", "3", "2"],
            ["1000003.0", "2022", "9", "1"],
            ["SC999999", "2022", "7", "3"],  # not in the registry
            ["ABC", "2022", "5", "2"],  # not a URN
        ],
    )
    load = load_incidents(
        registry, path, source_name="Test FOI by URN", licence="OGL v3.0"
    )
    got = statuses(registry)
    assert got["2"] == ("SC100001", "matched")
    assert got["3"] == ("SC100002", "matched")
    assert got["4"] == ("1000003", "matched")
    assert got["5"][1] in ("queued", "unmatched") and got["5"][0] is None
    assert got["6"] == (None, "unmatched")
    assert (load.matched, load.queued + load.unmatched) == (3, 2)
    row = next(registry.query("select * from incident_counts where urn = 'SC100001'"))
    assert (row["incidents_count"], row["children_count"], row["period_label"]) == (
        14,
        6,
        "2022",
    )
    assert (row["source_name"], row["licence"], row["kind"]) == (
        "Test FOI by URN",
        "OGL v3.0",
        "missing",
    )
    # 3 incidents at a 3-place home and 1 or 2 children: shown as <5, not kept
    small = next(registry.query("select * from incident_counts where urn = 'SC100002'"))
    assert (small["incidents_count"], small["incidents_shown"]) == (None, "<5")
    assert (small["children_count"], small["children_shown"]) == (None, "<5")
    assert small["is_suppressed"] == 1
    # 9 incidents at a 2-place home are shown; 1 child is not
    tiny = next(registry.query("select * from incident_counts where urn = '1000003'"))
    assert (
        tiny["incidents_count"],
        tiny["children_shown"],
        tiny["children_count"],
    ) == (9, "<5", None)
    problems = [r["message"] for r in registry.query("select message from problems")]
    assert any("not a URN" in m for m in problems)


def test_by_name_and_la_with_typos(registry, tmp_path, kit):
    path = kit.write_xlsx(
        tmp_path / "by-name.xlsx",
        [
            [
                "Home name",
                "Provider",
                "Local authority",
                "Address",
                "Postcode",
                "Beds",
                "Financial year",
                "No. of missing episodes",
            ],
            [
                "Rose Cottage",
                "Kingfisher Care Group Limited",
                "Birmingam",
                "12 Acacia Avenue",
                "PR1 2AB",
                8,
                "2022/23",
                22,
            ],
            [
                "Willow Lodge",
                "Oakleaf Homes Ltd",
                "Lancashire County Council",
                None,
                None,
                None,
                "2022/23",
                12,
            ],
            ["", "Safe Haven Residential", "Birmingham", None, None, 6, "2022/23", 30],
            ["", "Unknown Care Co", "Kent", None, None, 3, "2022/23", 8],
            ["", "Bright Futures Care Ltd", "Narnia", None, None, 4, "2022/23", 8],
            [
                "",
                "Northern Lights Childrens Services",
                "Hull",
                None,
                None,
                5,
                "2022/23",
                17,
            ],
            ["", "Bright Futures Care", "Lancashire", None, None, 6, "2022/23", 40],
            [
                "",
                "Bright Futures Care Limited",
                "Lancashre",
                None,
                None,
                4,
                "2022/23",
                40,
            ],
            ["Total", None, None, None, None, None, None, 157],
        ],
        title_rows=2,
    )
    load = load_incidents(
        registry, path, source_name="Lancs FOI", mapping={"Beds": "places"}
    )
    got = statuses(registry)
    assert got["4"] == ("SC100009", "matched")  # typos in provider and LA, places agree
    assert got["5"] == (None, "queued")  # the owner's only home there, but no places
    assert got["6"] == (None, "queued")  # two Safe Haven homes of 6 places
    assert got["7"] == (None, "unmatched")  # no such provider in Kent
    assert got["8"] == (None, "unmatched")  # no such LA
    assert got["9"] == ("1000005", "matched")  # "Hull", "Childrens", no "Ltd"
    assert got["10"] == (None, "queued")  # right owner, places disagree
    assert got["11"] == (
        None,
        "queued",
    )  # places agree, but the owner has 2 homes there
    assert (load.matched, load.queued, load.unmatched) == (2, 4, 2)
    queued = {
        r["row_key"]: {c["urn"] for c in r["candidates"]}
        for r in open_reviews(registry)
    }
    assert {"1000007", "1000008"} in queued.values()
    # the totals line is a problem, not a home
    assert registry["problems"].count_where("message like 'no home on this row%'") == 1
    text = kit.all_text(registry)
    for secret in SECRET_WORDS:
        assert secret not in text


def test_per_incident_rows_are_counted_per_financial_year(registry, tmp_path, kit):
    rows = [
        [
            "Date reported",
            "Provider",
            "Local authority",
            "Capacity",
            "Postcode",
            "Child ID",
            "Type",
        ]
    ]
    for day, child in [
        ("03/04/2022", "CHILD-0042"),
        ("10/05/2022", "CHILD-0042"),
        ("11/05/2022", "CHILD-0043"),
        ("20/02/2023", "CHILD-0042"),
        ("02/04/2023", "CHILD-0043"),
    ]:
        rows.append(
            [
                day,
                "Kingfisher Care Group Ltd",
                "Birmingham",
                8,
                "B1 1AA",
                child,
                "Missing",
            ]
        )
    rows.append(
        [
            "05/06/2022",
            "Kingfisher Care Group Ltd",
            "Birmingham",
            8,
            "B1 1AA",
            "CHILD-0043",
            "Absent",
        ]
    )
    path = kit.write_csv(tmp_path / "per-incident.csv", rows)
    load = load_incidents(registry, path, source_name="West Midlands Police FOI")
    counted = {
        (r["period_label"], r["kind"]): (
            r["urn"],
            r["incidents_count"],
            r["children_shown"],
            r["file_rows"],
        )
        for r in registry.query("select * from incident_counts")
    }
    # Row ranges of a per-incident file would give the counts: not kept in
    # the public registry (the private database keeps them, below).
    hidden = ROWS_NOT_SHOWN
    assert counted == {
        ("2022-23", "missing"): ("SC100009", 4, "<5", hidden),
        ("2023-24", "missing"): ("SC100009", 1, "<5", hidden),
        ("2022-23", "away"): ("SC100009", 1, "<5", hidden),
    }
    assert load.matched == 3
    private = open_private(tmp_path / "registry.private.db")
    load_incidents(registry, path, source_name="Annex A", private_db=private)
    assert {
        (r["period_label"], r["kind"]): r["file_rows"]
        for r in private.query("select * from incident_counts")
    } == {
        ("2022-23", "missing"): "2-5",
        ("2023-24", "missing"): "6",
        ("2022-23", "away"): "7",
    }
    assert "CHILD-00" not in kit.all_text(registry)
    assert "B1 1AA" not in kit.all_text(registry)


def test_by_financial_year_annex_a_wording(registry, tmp_path, kit):
    path = kit.write_csv(
        tmp_path / "annex-a.csv",
        [
            [
                "Ofsted URN",
                "Period",
                "Number of times children were away from placement without authorisation",
                "Number of children who were away from placement without authorisation",
            ],
            ["SC100001", "2021/22", "18", "3"],
            ["SC100001", "2022-23", "<5", "1"],
            ["1000007", "FY 2022/23", "x", "x"],
        ],
    )
    load_incidents(registry, path, source_name="Annex A")
    rows = list(registry.query("select * from incident_counts order by file_rows"))
    assert [
        (r["urn"], r["kind"], r["period_start"], r["period_end"]) for r in rows
    ] == [
        ("SC100001", "away", "2021-04-01", "2022-03-31"),
        ("SC100001", "away", "2022-04-01", "2023-03-31"),
        ("1000007", "away", "2022-04-01", "2023-03-31"),
    ]
    assert [(r["incidents_count"], r["incidents_shown"]) for r in rows] == [
        (18, "18"),
        (None, "<5"),
        (None, "x"),
    ]
    assert [r["children_shown"] for r in rows] == ["<5", "<5", "x"]


def test_header_map_and_unknown_file(registry, tmp_path, kit):
    path = kit.write_csv(
        tmp_path / "odd.csv",
        [
            ["Setting ref", "Operator", "Authority", "Qtr", "Absconded"],
            ["SC100004", "Bright Futures", "Kent", "2023", "7"],
        ],
    )
    with pytest.raises(ExtractError, match="--map"):
        read_incidents(path)
    parsed = read_incidents(
        path, mapping={"Setting ref": "urn", "Qtr": "period", "Absconded": "incidents"}
    )
    assert [(r.urn, r.incidents, r.period.label) for r in parsed.records] == [
        ("SC100004", 7, "2023")
    ]
    with pytest.raises(ExtractError, match="not a field"):
        read_incidents(path, mapping={"Absconded": "count_of_things"})


def test_strict_refuses_bad_cell_and_leaves_nothing(registry, tmp_path, kit):
    path = kit.write_csv(
        tmp_path / "bad.csv",
        [["URN", "Year", "Incidents"], ["SC100001", "2022", "lots"]],
    )
    with pytest.raises(StrictModeError, match=r"bad\.csv row 2, incidents"):
        load_incidents(registry, path, source_name="x", strict=True)
    assert registry["incident_counts"].count == 0
    assert registry["incident_sources"].count == 0


def test_reload_is_skipped_and_decisions_are_remembered(registry, tmp_path, kit):
    first = kit.write_csv(
        tmp_path / "2022.csv",
        [
            ["Provider", "LA", "Places", "Year", "Incidents"],
            ["Safe Haven Residential Ltd", "Birmingham", "6", "2022", "30"],
        ],
    )
    load_incidents(registry, first, source_name="FOI 2022")
    again = load_incidents(registry, first, source_name="FOI 2022")
    assert again.result.skipped
    (review,) = open_reviews(registry)
    assert {c["urn"] for c in review["candidates"]} == {"1000007", "1000008"}
    assert decide(registry, review["row_key"], "1000008", "accept") == 1
    assert open_reviews(registry) == []
    second = kit.write_csv(
        tmp_path / "2023.csv",
        [
            ["Provider", "LA", "Places", "Year", "Incidents"],
            ["Safe Haven Residential Ltd", "Birmingham", "6", "2023", "41"],
        ],
    )
    load = load_incidents(registry, second, source_name="FOI 2023")
    assert (load.matched, load.queued) == (1, 0)
    rows = {
        r["period_label"]: (r["urn"], r["match_method"])
        for r in registry.query("select * from incident_counts")
    }
    assert rows == {"2022": ("1000008", "review"), "2023": ("1000008", "review")}


def test_rejecting_every_candidate_leaves_the_row_unmatched(registry, tmp_path, kit):
    path = kit.write_csv(
        tmp_path / "foi.csv",
        [
            ["Provider", "LA", "Places", "Year", "Incidents"],
            ["Safe Haven Residential Ltd", "Birmingham", "6", "2022", "30"],
        ],
    )
    load_incidents(registry, path, source_name="FOI")
    (review,) = open_reviews(registry)
    for candidate in review["candidates"]:
        decide(registry, review["row_key"], candidate["urn"], "reject")
    row = next(registry.query("select * from incident_counts"))
    assert (row["match_status"], row["urn"]) == ("unmatched", None)
    # and a new file with the same home does not propose them again
    again = kit.write_csv(
        tmp_path / "foi2.csv",
        [
            ["Provider", "LA", "Places", "Year", "Incidents"],
            ["Safe Haven Residential Ltd", "Birmingham", "6", "2023", "3"],
        ],
    )
    load = load_incidents(registry, again, source_name="FOI")
    assert load.unmatched == 1


def test_private_load_writes_nothing_into_the_registry(registry, tmp_path, kit):
    before = kit.all_text(registry)
    tables_before = {t: registry[t].count for t in registry.table_names()}
    private = open_private(tmp_path / "registry.private.db")
    path = kit.write_csv(
        tmp_path / "annex-a-secret.csv",
        [
            ["URN", "Period", "Incidents", "Children"],
            ["SC100001", "2022/23", "77", "3"],
            ["1000008", "2022/23", "2", "1"],
        ],
    )
    load = load_incidents(
        registry, path, source_name="Annex A (inspector)", private_db=private
    )
    assert load.matched == 2
    assert {t: registry[t].count for t in registry.table_names()} == tables_before
    assert kit.all_text(registry) == before
    rows = {r["urn"]: r for r in private.query("select * from incident_counts")}
    # the private database keeps the real numbers, flagged as suppressed for display
    assert (rows["1000008"]["incidents_count"], rows["1000008"]["incidents_shown"]) == (
        2,
        "2",
    )
    assert (rows["SC100001"]["children_count"], rows["SC100001"]["children_shown"]) == (
        3,
        "<5",
    )
    assert "homes" not in private.table_names()
