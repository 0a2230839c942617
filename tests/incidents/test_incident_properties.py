"""Property tests of the incident readers' small parsers (Hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from extract.incidents import normalise_kind, parse_incident_count, parse_period
from extract.police import normalise_force, parse_figure, split_footnotes

text = st.text(max_size=40)


@settings(max_examples=500)
@given(st.one_of(text, st.integers(), st.floats(allow_nan=True), st.dates()))
def test_parse_period_never_raises_and_is_ordered(value):
    period = parse_period(value)
    if period is not None:
        assert period.start <= period.end
        assert period.kind in {"year", "financial year", "month", "date range", "day"}


@given(st.integers(min_value=2000, max_value=2098))
def test_financial_years_in_every_spelling(start):
    end = start + 1
    for spelling in (
        f"{start}/{end % 100:02d}",
        f"{start}-{end % 100:02d}",
        f"{start}/{end}",
        f"FY {start}-{end % 100:02d}",
    ):
        period = parse_period(spelling)
        assert (period.start, period.end) == (
            dt.date(start, 4, 1),
            dt.date(end, 3, 31),
        ), spelling


@given(st.integers(min_value=0, max_value=10**6))
def test_counts_with_thousands_separators(number):
    assert parse_incident_count(f"{number:,}")[:2] == (number, f"{number:,}")
    assert parse_figure(f"{number:,}") == (float(number), None)


@given(text)
def test_small_parsers_never_raise(value):
    parse_incident_count(value)
    normalise_kind(value)
    normalise_force(value)
    _, notes = split_footnotes(value or "x")
    assert notes is None or notes.replace(",", "").isdigit()


@given(
    st.sampled_from(["Kent", "West Midlands", "Avon and Somerset"]),
    st.lists(st.integers(1, 9), min_size=1, max_size=3),
)
def test_footnotes_come_off_force_names(force, notes):
    written = f"{force} {', '.join(map(str, notes))}"
    assert normalise_force(written) == force
    assert split_footnotes(written) == (force, ",".join(map(str, notes)))


def test_per_incident_workbook_with_real_dates(tmp_path, kit):
    from extract.incidents import read_incidents

    rows = [["Incident date", "URN", "Category"]]
    rows += [
        [dt.datetime(2023, 3, 30, 22, 15), "SC100001", "Missing"],
        [dt.date(2023, 4, 2), "SC100001", "Missing"],
        [dt.date(2023, 4, 9), "SC100001", "AWOL"],
    ]
    parsed = read_incidents(
        kit.write_xlsx(tmp_path / "incidents.xlsx", rows, title_rows=3)
    )
    assert parsed.shape == "per incident" and parsed.header_row == 4
    got = sorted((r.period.label, r.kind, r.incidents) for r in parsed.records)
    assert got == [
        ("2022-23", "missing", 1),
        ("2023-24", "away", 1),
        ("2023-24", "missing", 1),
    ]
