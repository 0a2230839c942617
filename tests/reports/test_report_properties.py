"""Property tests (Hypothesis) for the report reader's own functions: date
ranges, counts in words, judgement words and URNs."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract.normalise import JUDGEMENTS, find_urn, normalise_judgement, normalise_urn
from extract.report_dates import parse_date_range
from extract.report_mentions import count_in
from extract.reports import ReportError, parse_report_text

FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

dates = st.dates(min_value=dt.date(2005, 1, 1), max_value=dt.date(2035, 12, 31))


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


@FAST
@given(dates)
def test_single_dates_in_every_format(day: dt.date) -> None:
    for text in (
        long_date(day),
        f"{day:%d/%m/%Y}",
        day.isoformat(),
        f"{day.day} {day:%b %Y}",
        f" {long_date(day)}. ",
    ):
        assert parse_date_range(text) == (day, None), text


@FAST
@given(dates, st.integers(min_value=1, max_value=5))
def test_ranges_in_every_format(start: dt.date, days: int) -> None:
    end = start + dt.timedelta(days=days)
    forms = [
        f"{start:%d/%m/%Y} to {end:%d/%m/%Y}",
        f"{long_date(start)} to {long_date(end)}",
    ]
    if start.month == end.month:
        forms += [
            f"{start.day} and {long_date(end)}",
            f"{start.day} to {long_date(end)}",
            f"{start.day}-{long_date(end)}",
        ]
    elif start.year == end.year:
        forms.append(f"{start.day} {start:%B} to {long_date(end)}")
    else:
        forms.append(f"{start.day} {start:%B} to {long_date(end)}")  # year rolls over
    for text in forms:
        assert parse_date_range(text) == (start, end), text


@FAST
@given(st.text(max_size=60))
def test_date_ranges_never_raise_and_are_ordered(text: str) -> None:
    result = parse_date_range(text)
    if result is not None:
        start, end = result
        assert end is None or start < end <= start + dt.timedelta(days=31)


_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def in_words(n: int) -> str:
    if n < 10:
        return _UNITS[n - 1]
    if n < 20:
        return _TEENS[n - 10]
    tens, units = divmod(n, 10)
    return _TENS[tens - 2] + (f"-{_UNITS[units - 1]}" if units else "")


@FAST
@given(
    st.integers(min_value=1, max_value=99),
    st.booleans(),
    st.sampled_from(
        ["times", "occasions", "missing episodes", "incidents", "episodes"]
    ),
    st.sampled_from(["One child went missing", "Children were away from the home"]),
)
def test_counts_in_digits_and_words(n: int, words: bool, noun: str, start: str) -> None:
    number = in_words(n) if words else str(n)
    sentence = f"{start} {number} {noun} since the last inspection in 2023."
    assert count_in(sentence) == n


@FAST
@given(
    st.sampled_from(
        [
            "a significant reduction in missing episodes",
            "children went missing less often",
            "two children went missing",
            "a child aged 14 went missing in March 2023",
        ]
    )
)
def test_no_count_without_a_number_of_episodes(sentence: str) -> None:
    assert count_in(sentence) is None


def _respell(word: str, data: st.DataObject) -> str:
    chars = [c.upper() if data.draw(st.booleans()) else c.lower() for c in word]
    spaced = "".join(chars).replace(
        " ", data.draw(st.sampled_from([" ", "  ", "\n", "\t"]))
    )
    return (
        data.draw(st.sampled_from(["", " ", "\n"]))
        + spaced
        + data.draw(st.sampled_from(["", ".", " "]))
    )


@FAST
@given(st.sampled_from(JUDGEMENTS), st.data())
def test_judgement_spellings_normalise_to_the_vocabulary(
    word: str, data: st.DataObject
) -> None:
    assert normalise_judgement(_respell(word, data)) == word


@FAST
@given(st.text(max_size=40))
def test_judgements_are_in_the_vocabulary_or_none(text: str) -> None:
    value = normalise_judgement(text)
    assert value is None or value in JUDGEMENTS
    if value is not None:
        assert normalise_judgement(value) == value  # idempotent


def test_superscript_digit_is_not_a_judgement() -> None:
    assert normalise_judgement("²") is None


def test_reports_never_read_digits_as_a_judgement() -> None:
    text = (
        "Full inspection\nSC123456\nInspection date: 7 November 2023\n"
        "Overall judgement at last inspection: ²\n"
        "Date of last inspection: 3 August 2022\n"
    )
    assert parse_report_text([text]).previous_judgement is None
    assert parse_report_text([text.replace("²", "3")]).previous_judgement is None


urns = st.one_of(st.from_regex(r"\ASC[0-9]{6}\Z"), st.from_regex(r"\A[0-9]{7}\Z"))


@FAST
@given(
    urns,
    st.text(alphabet=" abcdefghij:,.\n", max_size=20),
    st.text(alphabet=" abcdefghij:,.\n", max_size=20),
)
def test_urns_found_in_text(urn: str, before: str, after: str) -> None:
    assert normalise_urn(urn) == urn
    assert find_urn(f"{before} {urn} {after}") == urn
    assert find_urn(f"Unique reference number: {urn.lower()}") == urn


@FAST
@given(st.lists(st.text(max_size=300), min_size=1, max_size=3))
def test_any_text_is_a_report_or_a_classified_error(pages: list[str]) -> None:
    try:
        report = parse_report_text(pages)
    except ReportError as error:
        assert error.kind
        return
    for value in (report.judgements.overall, report.judgements.helped_and_protected):
        assert value is None or value in JUDGEMENTS


@FAST
@given(urns, st.sampled_from(JUDGEMENTS[:6]), st.data())
def test_judgement_found_whatever_the_line_breaks(
    urn: str, word: str, data: st.DataObject
) -> None:
    """The 2015 label, broken into lines anywhere, the judgement word between
    any two of them: the judgement is found or refused, never another one."""
    label = [
        "The",
        "overall",
        "experiences",
        "and",
        "progress",
        "of",
        "children",
        "and",
        "young",
        "people",
        "living",
        "in",
        "the",
        "home",
        "are",
    ]
    cut = sorted(set(data.draw(st.lists(st.integers(1, len(label) - 1), max_size=4))))
    lines, last = [], 0
    for point in [*cut, len(label)]:
        lines.append(" ".join(label[last:point]))
        last = point
    where = data.draw(st.integers(1, len(lines)))
    lines.insert(where, word)
    text = (
        f"Children's homes inspection - Full\nInspection date\n01/03/2016\n"
        f"Unique reference number\n{urn}\nThis inspection\n" + "\n".join(lines) + "\n"
    )
    report = parse_report_text([text])
    # 'Adequate' and 'Satisfactory' are not judgements of the 2015 framework
    expected = None if word in ("Adequate", "Satisfactory") else word
    assert report.judgements.overall == expected


def test_title_run_into_its_neighbours() -> None:
    """Tagged-PDF text can flatten the title into one line (fragment B)."""
    text = (
        "SC123456 Registered provider: Rowden House School Limited Full inspection "
        "Inspected under the social care common inspection framework\n"
        "Inspection dates: 19 and 20 May 2019\n"
        "Overall experiences and progress of children and young people, taking "
        "into account good\n"
        "The children's home provides effective services that meet the "
        "requirements for good.\n"
    )
    report = parse_report_text([text])
    assert (report.layout, report.inspection_type) == ("sccif", "Full inspection")
    assert report.judgements.overall == "Good"
    assert report.inspection_date == "2019-05-19"


def test_judgement_table_read_column_by_column() -> None:
    """A tagged table can give every label first, then every judgement."""
    text = (
        "SC123456\nFull inspection\n"
        "Inspected under the social care common inspection framework\n"
        "Inspection date: 7 November 2023\n"
        "Overall experiences and progress of children and young people\n"
        "How well children and young people are helped and protected\n"
        "The effectiveness of leaders and managers\n"
        "good\noutstanding\nrequires improvement to be good\n"
    )
    judgements = parse_report_text([text]).judgements
    assert (
        judgements.overall,
        judgements.helped_and_protected,
        judgements.leaders_and_managers,
    ) == ("Good", "Outstanding", "Requires improvement to be good")
    # one judgement short: nothing is guessed
    short = text.replace("requires improvement to be good\n", "")
    judgements = parse_report_text([short]).judgements
    assert judgements.leaders_and_managers is None
    assert judgements.overall is None
