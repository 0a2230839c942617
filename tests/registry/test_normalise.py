import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.normalise import (
    JUDGEMENTS,
    clean_text,
    framework_for,
    inspection_id,
    is_childrens_home,
    normalise_event_type,
    normalise_judgement,
    normalise_urn,
    owner_id,
    parse_count,
    parse_date,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SC064050", "SC064050"),
        (" sc064050 ", "SC064050"),
        (2590934.0, "2590934"),
        (2590934, "2590934"),
        ("2590934.0", "2590934"),
        ("259093", None),
        ("SC12345", None),
        (2590934.5, None),
        ("REDACTED", None),
        (None, None),
    ],
)
def test_normalise_urn(value, expected):
    assert normalise_urn(value) == expected


@given(st.integers(min_value=1_000_000, max_value=9_999_999))
def test_seven_digit_urns_survive_the_float_round_trip(number):
    assert normalise_urn(float(number)) == str(number)


@given(st.text())
def test_normalise_urn_never_raises_and_returns_the_pattern(text):
    result = normalise_urn(text)
    assert result is None or (
        (result.startswith("SC") and len(result) == 8) or len(result) == 7
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("05/11/2024", dt.date(2024, 11, 5)),
        ("2024-11-05", dt.date(2024, 11, 5)),
        ("5 November 2024", dt.date(2024, 11, 5)),
        ("5th Nov 2024", dt.date(2024, 11, 5)),
        (dt.datetime(2024, 11, 5, 0, 0), dt.date(2024, 11, 5)),
        (45601, dt.date(2024, 11, 5)),
        ("31/02/2024", None),
        ("NULL", None),
        ("soon", None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_dates_round_trip_in_every_form(day):
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%d %B %Y")) == day


@pytest.mark.parametrize(
    ("value", "on", "expected"),
    [
        ("Requires Improvement to be good", None, "Requires improvement to be good"),
        ("Requires improvement", None, "Requires improvement to be good"),
        ("Declined effectiveness", None, "Declined in effectiveness"),
        ("Improved Effectiveness", None, "Improved effectiveness"),
        ("Not Judged", None, "Not judged"),
        ("  good ", None, "Good"),
        (3, dt.date(2014, 5, 1), "Adequate"),
        ("3", dt.date(2016, 5, 1), "Requires improvement to be good"),
        (3, None, None),
        (1.0, None, "Outstanding"),
        (0, None, None),
        ("Good Progress", None, None),
        ("NMS Not Met", None, None),
        ("NULL", None, None),
    ],
)
def test_normalise_judgement(value, on, expected):
    assert normalise_judgement(value, on=on) == expected


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False)))
def test_judgements_are_always_in_the_vocabulary_or_none(value):
    assert normalise_judgement(value, on=dt.date(2020, 1, 1)) in (*JUDGEMENTS, None)


@given(st.sampled_from(JUDGEMENTS))
def test_judgement_normalisation_is_idempotent(judgement):
    assert normalise_judgement(judgement) == judgement
    assert normalise_judgement(judgement.upper()) == judgement


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SC Interim", "Interim inspection"),
        ("SC Monitoring Inspection", "Monitoring inspection"),
        ("SC – Emergency inspection", "Emergency inspection"),
        ("SC \ufffd Emergency inspection", "Emergency inspection"),
        ("Full", "Full inspection"),
        ("Assurance visit", "Assurance visit"),
        ("Registration visit", None),
    ],
)
def test_normalise_event_type(value, expected):
    assert normalise_event_type(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        ("1,369", 1369),
        (4.0, 4),
        ("twelve", 12),
        ("twenty-three", 23),
        ("one hundred and five", 105),
        ("a few", None),
    ],
)
def test_parse_count(value, expected):
    assert parse_count(value) == expected


def test_blanks_are_none():
    assert [clean_text(v) for v in ("", " ", "NULL", "REDACTED", "Redacted", None)] == [
        None
    ] * 6
    assert clean_text("  Keys\n PCE  Ltd ") == "Keys PCE Ltd"


def test_childrens_homes_are_recognised_case_insensitively():
    assert is_childrens_home("Children's Home")
    assert is_childrens_home("Secure children’s home")
    assert is_childrens_home(
        "Residential special school (registered as a children's home)"
    )
    assert not is_childrens_home("Independent Fostering Agency")


def test_frameworks_change_in_2014_2015_and_2017():
    assert framework_for(dt.date(2014, 3, 31)) == "National Minimum Standards"
    assert framework_for(dt.date(2014, 4, 1)) == "2014 framework"
    assert framework_for(dt.date(2016, 1, 1)) == "2015 framework"
    assert framework_for(dt.date(2017, 4, 1)) == "SCCIF"


def test_stable_ids():
    assert owner_id("Keys PCE Limited") == owner_id("KEYS PCE LTD") == "keys-pce-ltd"
    assert (
        inspection_id("SC064050", "2024-01-18", "Full inspection")
        == "SC064050-2024-01-18-full-inspection"
    )
