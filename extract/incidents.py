"""Read per-home missing-incident files: FOI replies from police forces and
councils, inspectors' Annex A counts, journalists' own tables.

Such files come in many shapes: one row per home and period (by URN, or by
home name, provider and local authority), or one row per incident to be
counted; as CSV or as a spreadsheet, with a title above the header. The reader
finds the header row and the columns it needs by their wording (override with
``mapping={"Beds": "places"}``, the CLI's ``--map Beds=places``), reads the
period (a year, a financial year ``2021/22``, a month, a date range or a
single date) and hands back :class:`IncidentRecord` records. Per-incident rows
are counted per home, kind and financial year.

Addresses, postcodes and child references are read so that rows can be matched
and children counted; they are never meant to be stored.

Total and subtotal rows (a provider's, an area's, the whole file's: "Kingfisher
Ltd total", "Sub-total", "Total for Kent", "Grand total", "All homes") are
skipped wherever their label is, and their figures dropped: beside per-home
counts shown as ``<5``, a subtotal gives them by subtraction. One problem
(``TOTALS_SKIPPED``, no row, no value) says the file had them.

Pure: a file in, records out; no network, no database.

Example::

    result = read_incidents(Path("foi-2023-missing-by-home.xlsx"))
    for record in result.records:
        print(record.urn, record.period.label, record.incidents)
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extract.errors import ExtractError, UnrecognisedFile
from extract.kinds import looks_like_pdf
from extract.normalise import (
    clean_text,
    fold,
    normalise_urn,
    parse_count,
    parse_date,
    year_ending_31_march,
)
from extract.tables import read_sheets

logger = logging.getLogger(__name__)

FIELDS = (
    "urn",
    "home_name",
    "provider",
    "local_authority",
    "address",
    "postcode",
    "places",
    "period",
    "date",
    "period_start",
    "period_end",
    "incidents",
    "children",
    "kind",
    "child_ref",
)
IDENTITY_FIELDS = (
    "urn",
    "home_name",
    "provider",
    "local_authority",
    "address",
    "postcode",
)
KINDS = ("missing", "away", "missing or away")

# Exact header wordings (folded, punctuation removed) → field.
_HEADERS = {
    "urn": "urn",
    "ofsted urn": "urn",
    "setting urn": "urn",
    "provider urn": "urn",
    "unique reference number": "urn",
    "ofsted reference": "urn",
    "ofsted reference number": "urn",
    "ofsted number": "urn",
    "home": "home_name",
    "home name": "home_name",
    "name of home": "home_name",
    "childrens home": "home_name",
    "children home": "home_name",
    "setting name": "home_name",
    "setting": "home_name",
    "establishment": "home_name",
    "establishment name": "home_name",
    "premises": "home_name",
    "premises name": "home_name",
    "location name": "home_name",
    "name": "home_name",
    "placement": "home_name",
    "provider": "provider",
    "provider name": "provider",
    "registered provider": "provider",
    "owner": "provider",
    "owner name": "provider",
    "organisation": "provider",
    "organisation name": "provider",
    "organisation which owns the provider": "provider",
    "company": "provider",
    "company name": "provider",
    "operator": "provider",
    "local authority": "local_authority",
    "local authority area": "local_authority",
    "la": "local_authority",
    "la name": "local_authority",
    "council": "local_authority",
    "borough": "local_authority",
    "area": "local_authority",
    "address": "address",
    "home address": "address",
    "premises address": "address",
    "address 1": "address",
    "address line 1": "address",
    "street": "address",
    "location": "address",
    "postcode": "postcode",
    "post code": "postcode",
    "places": "places",
    "number of places": "places",
    "registered places": "places",
    "beds": "places",
    "capacity": "places",
    "period": "period",
    "reporting period": "period",
    "year": "period",
    "financial year": "period",
    "fy": "period",
    "month": "period",
    "date": "date",
    "incident date": "date",
    "date of incident": "date",
    "date reported": "date",
    "reported date": "date",
    "date missing": "date",
    "occurrence date": "date",
    "from": "period_start",
    "start": "period_start",
    "start date": "period_start",
    "period start": "period_start",
    "date from": "period_start",
    "to": "period_end",
    "end": "period_end",
    "end date": "period_end",
    "period end": "period_end",
    "date to": "period_end",
    "incidents": "incidents",
    "count": "incidents",
    "total": "incidents",
    "episodes": "incidents",
    "calls": "incidents",
    "number": "incidents",
    "children": "children",
    "individuals": "children",
    "young people": "children",
    "number of children": "children",
    "number of individuals": "children",
    "kind": "kind",
    "type": "kind",
    "incident type": "kind",
    "category": "kind",
    "classification": "kind",
    "missing or absent": "kind",
    "child id": "child_ref",
    "person id": "child_ref",
    "young person id": "child_ref",
    "individual id": "child_ref",
    "person reference": "child_ref",
    "subject id": "child_ref",
}

_KIND_WORDS = {
    "missing": "missing",
    "missing from care": "missing",
    "missing from home": "missing",
    "missing person": "missing",
    "away": "away",
    "absent": "away",
    "absence": "away",
    "awol": "away",
    "unauthorised absence": "away",
    "away from placement without authorisation": "away",
    "absent without authorisation": "away",
    "missing or away": "missing or away",
    "missing and away": "missing or away",
    "missing or absent": "missing or away",
}


@dataclass(frozen=True, slots=True)
class Period:
    """The time a count covers, inclusive at both ends."""

    kind: str  # "year", "financial year", "month", "date range", "day"
    start: dt.date
    end: dt.date
    label: str

    @classmethod
    def financial_year(cls, ending: int) -> Period:
        return cls(
            "financial year",
            dt.date(ending - 1, 4, 1),
            dt.date(ending, 3, 31),
            f"{ending - 1}-{ending % 100:02d}",
        )


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One home's count for one period and kind, as the file gives it."""

    rows: tuple[int, ...]  # 1-based line numbers in the sheet
    urn: str | None
    urn_as_published: str | None
    home_name: str | None  # for matching only
    provider: str | None
    local_authority: str | None
    address: str | None  # for matching only: never store it
    postcode: str | None  # for matching only: never store it
    places: int | None
    kind: str
    period: Period | None
    incidents: int | None
    incidents_as_published: str | None
    children: int | None
    children_as_published: str | None
    is_per_incident: bool = False

    def identity_key(self) -> str:
        """A stable key for "the same home as written in a file". It is a plain
        hash of the address and postcode among others, so it must never be
        stored or published as it is: the registry keeps only an HMAC of it
        under a secret key (``registry.matching.row_key``)."""
        parts = [
            self.urn or "",
            _key(self.provider),
            _key(self.local_authority),
            _key(self.home_name),
            _key(self.address),
            _key(self.postcode).replace(" ", ""),
            "" if self.places is None else str(self.places),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@dataclass
class IncidentFile:
    records: list[IncidentRecord]
    columns: dict[str, str]  # field → header as published
    header_row: int
    sheet: str | None
    rows_read: int
    shape: str  # "per home and period" or "per incident"
    #: (row or None, column, message, value); total and subtotal rows give one
    #: problem with no row and no value (``TOTALS_SKIPPED``).
    problems: list[tuple[int | None, str | None, str, object]] = field(
        default_factory=list
    )


def _key(text: str | None) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", fold(text or "")).strip()


def header_field(header: object) -> str | None:
    """The field a column header stands for, or None."""
    text = clean_text(header)
    if text is None:
        return None
    key = re.sub(r"[^a-z0-9 ]+", " ", fold(text).replace("'", ""))
    key = re.sub(r"\s+", " ", key).strip()
    key = re.sub(r"^(no|number) of ", "number of ", key)
    if key in _HEADERS:
        return _HEADERS[key]
    words = set(key.split())
    if words & {"urn"}:
        return "urn"
    if words & {"postcode"}:
        return "postcode"
    if "address" in words:
        return "address"
    if words & {"incidents", "incident", "episodes", "episode", "times", "occasions"}:
        return "date" if "date" in words else "incidents"
    if words & {"children", "individuals", "persons", "people"}:
        return "children"
    if "places" in words or "beds" in words:
        return "places"
    if "provider" in words or "owner" in words or "organisation" in words:
        return "provider"
    if "authority" in words or "council" in words:
        return "local_authority"
    if "period" in words or "year" in words or "month" in words:
        return "period"
    if "date" in words:
        return "date"
    return None


def _kind_from_header(header: str) -> str | None:
    key = fold(header)
    if "away" in key or "absen" in key:
        return "missing or away" if "missing" in key else "away"
    if "missing" in key:
        return "missing"
    return None


def normalise_kind(value: object) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    key = re.sub(r"[^a-z ]+", " ", fold(text))
    key = re.sub(r"\s+", " ", key).strip()
    if key in _KIND_WORDS:
        return _KIND_WORDS[key]
    has_missing = "missing" in key
    has_away = "away" in key or "absen" in key or "awol" in key
    if has_missing and has_away:
        return "missing or away"
    if has_away:
        return "away"
    if has_missing:
        return "missing"
    return None


# ------------------------------------------------------------------- periods

_FY = re.compile(
    r"^(?:fy|financial year|year)?\s*(?P<a>(?:19|20)?\d\d)\s*[/-]\s*(?P<b>(?:19|20)?\d\d)$"
)
_YEAR = re.compile(r"^(?:year\s*)?(?P<y>(?:19|20)\d\d)$")
_MONTH_WORD = re.compile(r"^(?P<m>[a-z]+)\.?[\s-]+(?P<y>\d{2}|\d{4})$")
_MONTH_NUM = re.compile(
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})$|^(?P<m2>\d{1,2})/(?P<y2>\d{4})$"
)
_RANGE = re.compile(r"^(?P<a>.+?)\s*(?:\bto\b|\buntil\b|–|—|\s-\s)\s*(?P<b>.+)$")
_MONTHS = {
    name.casefold(): number for number, name in enumerate(calendar.month_name) if name
}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def _full_year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _month(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(
        "month",
        dt.date(year, month, 1),
        dt.date(year, month, last),
        f"{year}-{month:02d}",
    )


def parse_period(value: object, *, month_column: bool = False) -> Period | None:
    """``2021`` → calendar year; ``2021/22``, ``2021-22``, ``FY 2021/22`` →
    April 2021 to March 2022; ``April 2022``, ``Apr-22``, ``2022-04`` → that
    month; ``01/04/2021 - 31/03/2022``, ``1 April 2021 to 31 March 2022`` →
    that range; a single date → that day (or its month in a month column).
    None when the value is not a period."""
    if isinstance(value, dt.date | dt.datetime):
        day = parse_date(value)
        if day is None:
            return None
        return _month(day.year, day.month) if month_column else _day(day)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 1990 <= value <= 2100:
            return _calendar_year(int(value))
        day = parse_date(value)
        return _day(day) if day else None
    text = clean_text(value)
    if text is None:
        return None
    key = fold(text).replace("–", "-").strip()
    if m := _YEAR.match(key):
        return _calendar_year(int(m["y"]))
    if m := _FY.match(key):
        start, end = _full_year(m["a"]), _full_year(m["b"])
        if end == start + 1:
            return Period.financial_year(end)
    if m := _MONTH_WORD.match(key):
        month = _MONTHS.get(m["m"])
        if month:
            return _month(_full_year(m["y"]), month)
    if m := _MONTH_NUM.match(key):
        year = int(m["y"] or m["y2"])
        month = int(m["m"] or m["m2"])
        if 1 <= month <= 12:
            return _month(year, month)
    day = parse_date(text)
    if day:
        return _month(day.year, day.month) if month_column else _day(day)
    if m := _RANGE.match(key):
        start, end = _range_end(m["a"], start=True), _range_end(m["b"], start=False)
        if start and end and start <= end:
            return Period(
                "date range", start, end, f"{start.isoformat()} to {end.isoformat()}"
            )
    return None


def _range_end(text: str, *, start: bool) -> dt.date | None:
    day = parse_date(text.strip())
    if day:
        return day
    period = parse_period(text.strip())
    if period is None:
        return None
    return period.start if start else period.end


def _calendar_year(year: int) -> Period:
    return Period("year", dt.date(year, 1, 1), dt.date(year, 12, 31), str(year))


def _day(day: dt.date) -> Period:
    return Period("day", day, day, day.isoformat())


# ------------------------------------------------------------------ counting

_SUPPRESSED = re.compile(r"^(<\s*\d+|\d+\s*-\s*\d+|\*|c|x|\.\.|~)$")


def parse_incident_count(value: object) -> tuple[int | None, str | None, bool]:
    """A count cell → ``(count, as_published, ok)``. Publishers' suppression
    marks (``<5``, ``1-4``, ``*``, ``c``, ``x``) give no count but are ok."""
    text = clean_text(value)
    if text is None and not isinstance(value, int | float):
        return None, None, True
    count = parse_count(value)
    published = text if text is not None else str(value)
    if count is not None:
        return count, published, count >= 0
    if text is not None and _SUPPRESSED.match(fold(text)):
        return None, text, True
    return None, published, False


# --------------------------------------------------------------------- files


def read_rows(path: Path) -> list[tuple[str | None, list[list[object]]]]:
    """Every sheet of a CSV (one sheet, None) or spreadsheet, as lists of cells."""
    path = Path(path)
    if not path.exists():
        raise ExtractError(f"{path}: no such file")
    with open(path, "rb") as fh:
        if looks_like_pdf(fh.read(1024)):
            raise UnrecognisedFile(
                f"{path.name}: this is a PDF; incident files must be CSV or XLSX"
            )
    return [(sheet.name, sheet.rows) for sheet in read_sheets(path)]


def _find_header(
    rows: Sequence[Sequence[object]], mapping: Mapping[str, str]
) -> tuple[int, dict[int, str]] | None:
    best: tuple[int, dict[int, str]] | None = None
    for index, row in enumerate(rows[:30]):
        columns: dict[int, str] = {}
        for column, cell in enumerate(row):
            text = clean_text(cell)
            if text is None:
                continue
            wanted = mapping.get(fold(text))
            found = wanted or header_field(text)
            if found and found not in columns.values():
                columns[column] = found
        fields = set(columns.values())
        has_identity = bool(fields & set(IDENTITY_FIELDS))
        has_measure = bool(fields & {"incidents", "date", "children"})
        if (
            has_identity
            and has_measure
            and (best is None or len(columns) > len(best[1]))
        ):
            best = (index, columns)
            if len(columns) >= 3:
                break
    return best


def read_incidents(
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    default_kind: str | None = None,
) -> IncidentFile:
    """Read one incident file (CSV, XLSX, XLS or ODS).

    :param mapping: column header → field, for headers the reader does not
        recognise (fields: see :data:`FIELDS`).
    :param default_kind: the kind (``missing``, ``away``) when neither a
        column nor the count's header says.
    """
    path = Path(path)
    mapping = {fold(k): v for k, v in (mapping or {}).items()}
    for wanted in mapping.values():
        if wanted not in FIELDS:
            raise ExtractError(
                f"--map: {wanted!r} is not a field; use one of {', '.join(FIELDS)}"
            )
    sheets = read_rows(path)
    for sheet, rows in sheets:
        found = _find_header(rows, mapping)
        if found is None:
            continue
        header_index, columns = found
        return _read_table(path, sheet, rows, header_index, columns, default_kind)
    raise UnrecognisedFile(
        f"{path.name}: no header row found in the first 30 rows of any sheet with a "
        "home column (URN, home, provider, local authority, address or postcode) and "
        "a count or date column (incidents, children, date). Name the columns with "
        "--map, e.g. --map 'Beds=places' --map 'No. missing=incidents'"
    )


def _read_table(
    path: Path,
    sheet: str | None,
    rows: list[list[object]],
    header_index: int,
    columns: dict[int, str],
    default_kind: str | None,
) -> IncidentFile:
    headers = rows[header_index]
    by_field = {name: column for column, name in columns.items()}
    published = {
        name: str(headers[column]).strip() for name, column in by_field.items()
    }
    per_incident = "incidents" not in by_field and "children" not in by_field
    header_kind = _kind_from_header(published.get("incidents", "")) or default_kind
    month_column = "month" in fold(published.get("period", ""))
    problems: list[tuple[int | None, str | None, str, object]] = []
    singles: list[IncidentRecord] = []
    rows_read = 0

    def cell(row: Sequence[object], name: str) -> object:
        column = by_field.get(name)
        if column is None or column >= len(row):
            return None
        return row[column]

    has_totals = False
    for line, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        if all(clean_text(c) is None for c in row):
            continue
        identity = {name: clean_text(cell(row, name)) for name in IDENTITY_FIELDS}
        if is_total_row(row, columns, identity):
            # Never a count: beside suppressed per-home counts, a subtotal
            # gives them by subtraction. Its figure is not kept anywhere.
            has_totals = True
            continue
        if not any(identity.values()):
            # A note under the table (or an unlabelled sum line).
            problems.append(
                (line, None, "no home on this row; skipped", _row_text(row))
            )
            continue
        rows_read += 1
        record, problem = _read_row(
            line, row, cell, identity, per_incident, header_kind, month_column
        )
        if problem:
            problems.append(problem)
        if record:
            singles.append(record)
    if has_totals:
        # One line for all of them: no row numbers, no values, no number.
        problems.append((None, None, TOTALS_SKIPPED, None))
    records = _count_incidents(singles) if per_incident else singles
    logger.debug("%s: %d rows, %d records", path.name, rows_read, len(records))
    return IncidentFile(
        records=records,
        columns=published,
        header_row=header_index + 1,
        sheet=sheet,
        rows_read=rows_read,
        shape="per incident" if per_incident else "per home and period",
        problems=problems,
    )


# ------------------------------------------------------- totals and subtotals

#: The problem recorded (once per file) when total or subtotal rows are skipped.
TOTALS_SKIPPED = (
    "no home on this row: total and subtotal rows (of a provider, an area or "
    "the whole file) are skipped and their figures not kept; which rows is not shown"
)
# "total", "totals", "sub-total", "subtotal", "sub total", "grand total",
# "overall total"
_TOTAL = r"(?:(?:grand|overall|sub)\s*[-\u2013]?\s*)?totals?"
_ALL_OF = (
    r"all\s+(?:the\s+)?(?:children'?s\s+)?(?:homes|settings|providers|premises|"
    r"establishments|areas|local\s+authorities|las|councils|forces|years|periods|"
    r"months|kinds|types|incidents|episodes)"
)
_LABEL = rf"(?:{_TOTAL}|{_ALL_OF}|overall)"
# The whole cell is a total label: "Total", "Sub-total:", "ALL", "(Grand total)".
_IS_LABEL = re.compile(rf"^\W*(?:{_LABEL}|all)\W*$")
# Ends with one: "Kingfisher Ltd total", "Birmingham - Sub-total", "Kent (overall)".
_ENDS_LABEL = re.compile(rf"^.*\w[\s\W]+{_LABEL}\W*$")
# Starts with one and then punctuation or a preposition: "Total for Kent",
# "Total: Kingfisher", "Total - Kent", "All homes in Kent" (not "Total-Care
# Ltd", not "All in One Care Ltd"); or "Subtotal"/"Grand total" + anything.
_STARTS_LABEL = re.compile(
    rf"^\W*(?:{_LABEL}(?:\s*[:;,(/|=]|\s+[-\u2013\u2014]|\s*[\u2013\u2014]\s|"
    r"\s+(?:for|of|in|across|from|by|at|within|under)\b)"
    r"|(?:grand|sub)\s*[-\u2013]?\s*totals?\b)"
)
# A local authority column naming the whole country: a national total.
_COUNTRY = re.compile(
    r"^\W*(?:all\s+)?(?:england|england and wales|national|nationally|uk|"
    r"united kingdom|great britain)\W*$"
)
# "Total Kent", but also "Total Care Ltd": a total only when nothing else on
# the row says it is a home (see _weak_total).
_STARTS_WORD = re.compile(r"^\W*(?:totals?|overall)\s+(?P<rest>\w.*)$")
_BARE_TOTAL = re.compile(rf"^\W*{_TOTAL}\W*$")
_LEGAL_SUFFIX = re.compile(r"\b(?:ltd|limited|llp|plc|cic|cio|llc|inc|lp)\W*$")
# Columns that can hold a real home's or company's name beginning "Total ...".
_NAME_FIELDS = ("home_name", "provider", "address", "postcode")
_COUNT_FIELDS = ("incidents", "children")


def is_total_label(text: str) -> bool:
    """A cell that is, or starts or ends with, a total or subtotal label
    ("Kingfisher Ltd total", "Sub-total", "Total for Birmingham", "Grand
    total:", "All homes"), case- and punctuation-insensitive. A name with
    "total" inside a word ("Totally Caring Ltd") or in the middle is not."""
    key = fold(text).strip()
    if len(key) > 200:  # a label is short; and this bounds the matching
        return False
    return bool(
        _IS_LABEL.match(key) or _ENDS_LABEL.match(key) or _STARTS_LABEL.match(key)
    )


def is_total_row(
    row: Sequence[object],
    columns: Mapping[int, str],
    identity: Mapping[str, str | None] | None = None,
) -> bool:
    """Whether a row is a total or subtotal, not a home: any label cell (every
    column but the counts) is a total label (:func:`is_total_label`); a cell
    of a column the reader does not use is exactly "Total" ("Sub-total", ...);
    or, on a row with no URN, a name beginning "Total"/"Overall" and a word
    that is not a company's name (see :func:`_weak_total`).

    :param columns: column index → field, as found in the header row.
    """
    for index, value in enumerate(row):
        # Most cells name no total at all: a quick look rules them out.
        if not isinstance(value, str) or not _has_hint(value):
            continue
        text = clean_text(value)
        if text is None:
            continue
        name = columns.get(index)
        if name in _COUNT_FIELDS:
            continue
        if name is None:
            if _BARE_TOTAL.match(fold(text)):
                return True
            continue
        if is_total_label(text):
            return True
        if name == "local_authority" and _COUNTRY.match(fold(text)):
            return True
        weak = _STARTS_WORD.match(fold(text).strip())
        if weak and name not in _NAME_FIELDS:
            return True
        if weak:
            if identity is None:
                identity = {
                    field_name: clean_text(row[i]) if i < len(row) else None
                    for i, field_name in columns.items()
                    if field_name in IDENTITY_FIELDS
                }
            if _weak_total(name, weak["rest"], identity):
                return True
    return False


def _has_hint(value: str) -> bool:
    lower = value.lower()
    return (
        "total" in lower
        or "all" in lower
        or "england" in lower
        or "national" in lower
        or "uk" in lower
        or "united" in lower
        or "britain" in lower
    )


def _words(text: str | None) -> list[str]:
    return re.sub(r"[^a-z0-9 ]+", " ", fold(text or "")).split()


def _weak_total(name: str, rest: str, identity: Mapping[str, str | None]) -> bool:
    """A name column's "Total <words>" is a total when the row has no URN,
    the words are not a company's name (no Ltd, Limited, ...) and either the
    row gives nothing else, or the words are what another cell names
    ("Total Kingfisher" beside "Kingfisher Care Ltd"; "Total Birmingham"
    beside "Birmingham"). "Total Care House" run by "Total Care Ltd" in Kent
    is a home."""
    if normalise_urn(identity.get("urn")) is not None:
        return False
    if _LEGAL_SUFFIX.search(rest):
        return False
    own = _words(rest)
    others = [
        _words(value)
        for field_name, value in identity.items()
        if field_name not in (name, "urn") and value
    ]
    if not others:
        return True
    for other in others:
        shorter = min(len(own), len(other))
        if shorter and own[:shorter] == other[:shorter]:
            return True
    return False


def _row_text(row: Sequence[object]) -> str:
    return " | ".join(str(c) for c in row if clean_text(c) is not None)[:200]


def _read_row(line, row, cell, identity, per_incident, header_kind, month_column):
    problem = None
    urn_published = identity["urn"]
    urn = normalise_urn(cell(row, "urn"))
    if urn_published and urn is None:
        problem = (line, "urn", "not a URN (SC + 6 digits or 7 digits)", urn_published)
    places = parse_count(cell(row, "places"))
    kind = normalise_kind(cell(row, "kind"))
    if kind is None and clean_text(cell(row, "kind")) is not None:
        problem = (
            line,
            "kind",
            "not a kind of incident (missing, away)",
            cell(row, "kind"),
        )
    kind = kind or header_kind or "missing"
    period = _row_period(row, cell, month_column)
    if period is None:
        raw = cell(row, "period") or cell(row, "date") or cell(row, "period_start")
        problem = (line, "period", "no period or date this row covers", raw)
    if per_incident:
        incidents, incidents_published, children, children_published = (
            1,
            None,
            None,
            None,
        )
        child = clean_text(cell(row, "child_ref"))
        children_published = child  # transient: only counted, never kept
    else:
        incidents, incidents_published, ok = parse_incident_count(
            cell(row, "incidents")
        )
        if not ok:
            problem = (line, "incidents", "not a count", incidents_published)
        children, children_published, ok = parse_incident_count(cell(row, "children"))
        if not ok:
            problem = (line, "children", "not a count", children_published)
    record = IncidentRecord(
        rows=(line,),
        urn=urn,
        urn_as_published=urn_published,
        home_name=identity["home_name"],
        provider=identity["provider"],
        local_authority=identity["local_authority"],
        address=identity["address"],
        postcode=identity["postcode"],
        places=places,
        kind=kind,
        period=period,
        incidents=incidents,
        incidents_as_published=incidents_published,
        children=children,
        children_as_published=children_published,
        is_per_incident=per_incident,
    )
    return record, problem


def _row_period(row, cell, month_column) -> Period | None:
    start = parse_date(cell(row, "period_start"))
    end = parse_date(cell(row, "period_end"))
    if start and end and start <= end:
        return Period(
            "date range", start, end, f"{start.isoformat()} to {end.isoformat()}"
        )
    for name in ("period", "date"):
        period = parse_period(
            cell(row, name), month_column=month_column and name == "period"
        )
        if period:
            return period
    return None


def _count_incidents(singles: list[IncidentRecord]) -> list[IncidentRecord]:
    """Per-incident rows → one record per home, kind and financial year (April
    to March, the year DfE and the NCA use). Rows without a date are counted
    in a record with no period."""
    groups: dict[tuple, list[IncidentRecord]] = {}
    for record in singles:
        period = record.period
        fy = (
            Period.financial_year(year_ending_31_march(period.start))
            if period
            else None
        )
        groups.setdefault((record.identity_key(), record.kind, fy), []).append(record)
    counted = []
    for (_, kind, fy), members in groups.items():
        first = members[0]
        child_refs = {m.children_as_published for m in members}
        children = len(child_refs) if None not in child_refs else None
        counted.append(
            IncidentRecord(
                rows=tuple(line for m in members for line in m.rows),
                urn=first.urn,
                urn_as_published=first.urn_as_published,
                home_name=first.home_name,
                provider=first.provider,
                local_authority=first.local_authority,
                address=first.address,
                postcode=first.postcode,
                places=first.places,
                kind=kind,
                period=fy,
                incidents=len(members),
                incidents_as_published=None,
                children=children,
                children_as_published=None,
                is_per_incident=True,
            )
        )
    return counted
