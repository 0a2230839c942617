"""Inspection dates and date ranges as reports print them."""

from __future__ import annotations

import datetime as dt
import re

from extract.normalise import DASHES, parse_date

MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|"
    r"aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_SAME_MONTH = re.compile(
    rf"^{_DAY}\s*(?:-|–|to|and|&)\s*{_DAY}\s+({MONTH})\.?,?\s+(\d{{4}})$",
    re.IGNORECASE,
)
_TWO_MONTHS = re.compile(
    rf"^{_DAY}\s+({MONTH})\s*(?:-|–|to|and|&)\s*{_DAY}\s+({MONTH})\.?,?\s+(\d{{4}})$",
    re.IGNORECASE,
)
_LIST_DAYS = re.compile(
    rf"^((?:\d{{1,2}}(?:st|nd|rd|th)?\s*,\s*)+\d{{1,2}}(?:st|nd|rd|th)?)\s*(?:and|&)\s*"
    rf"{_DAY}\s+({MONTH})\.?,?\s+(\d{{4}})$",
    re.IGNORECASE,
)
_DASH = re.compile(f"\\s*[{DASHES}]\\s*")
_NUMERIC_DATE = re.compile(r"^\d{1,4}-\d{1,2}-\d{1,4}$")
ANY_DATE = re.compile(
    rf"\b(\d{{1,2}}/\d{{1,2}}/\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTH}\s+\d{{4}})\b",
    re.IGNORECASE,
)


def parse_date_range(text: str | None) -> tuple[dt.date, dt.date | None] | None:
    """``'7 and 8 November 2023'`` → (2023-11-07, 2023-11-08); ``'01/03/2016'``
    → (2016-03-01, None); ``'30 October to 1 November 2023'``; ``'19/05/2014 to
    20/05/2014'``. None when the text is not a date or a plausible range
    (an end before the start, or more than 31 days after it)."""
    if not text:
        return None
    text = re.sub(r"\s+", " ", text).strip().rstrip(".")
    if not _NUMERIC_DATE.match(text):  # "9–10 November", "2 July 2014–23 July 2014"
        text = _DASH.sub(" - ", text)
    start: dt.date | None = None
    end: dt.date | None = None
    try:
        if m := _SAME_MONTH.match(text):
            start = parse_date(f"{m[1]} {m[3]} {m[4]}")
            end = parse_date(f"{m[2]} {m[3]} {m[4]}")
        elif m := _TWO_MONTHS.match(text):
            end = parse_date(f"{m[3]} {m[4]} {m[5]}")
            start = parse_date(f"{m[1]} {m[2]} {m[5]}")
            if start and end and start > end:
                start = parse_date(f"{m[1]} {m[2]} {int(m[5]) - 1}")
        elif m := _LIST_DAYS.match(text):
            first = re.match(r"\d{1,2}", m[1])
            start = parse_date(f"{first[0] if first else ''} {m[3]} {m[4]}")
            end = parse_date(f"{m[2]} {m[3]} {m[4]}")
        else:
            parts = re.split(r"\s+(?:to|and|-|–)\s+", text)
            if len(parts) == 1:
                start = parse_date(_strip_ordinal(parts[0]))
            elif len(parts) == 2:
                start = parse_date(_strip_ordinal(parts[0]))
                end = parse_date(_strip_ordinal(parts[1]))
                if end is None:
                    return None
    except (ValueError, OverflowError):
        return None
    if start is None:
        return None
    if end is not None:
        if end < start or (end - start).days > 31:
            return None
        if end == start:
            end = None
    return start, end


def _strip_ordinal(text: str) -> str:
    return re.sub(r"^(\d{1,2})(?:st|nd|rd|th)\b", r"\1", text.strip())
