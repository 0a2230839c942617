"""Read Ofsted's "Children's social care data in England" tables: providers at a
date (one row per active provider, with its latest full inspection) and
inspections in a year (one row per inspection event), in every layout from
2013-14 to 2025.

The header row is found by its ``URN`` cell; columns are matched by name,
whatever the year's wording; the date a table describes comes from its
content (title row, sheet name, inspection dates), then the file name, then
the caller's ``as_at``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from extract.errors import MissingDate, UnrecognisedFile
from extract.normalise import (
    clean_text,
    fold,
    is_childrens_home,
    iso,
    normalise_event_type,
    normalise_flag,
    normalise_judgement,
    normalise_provision_type,
    normalise_sector,
    normalise_urn,
    parse_date,
    parse_places,
    year_ending_31_march,
)
from extract.tables import Sheet

PROVIDERS = "providers"
INSPECTIONS = "inspections"

# canonical field -> folded header spellings, every year's wording
_COLUMNS: dict[str, tuple[str, ...]] = {
    "urn": ("urn", "provider urn"),
    "provision_type": ("provision type", "provider type"),
    "registration_date": ("registration date",),
    "registration_status": ("registration status", "reg status", "provider status"),
    "ofsted_region": ("ofsted region", "region"),
    "region": ("government office region", "government_office_region_name", "gor"),
    "local_authority": ("local authority", "la", "local authority name", "la name"),
    "sector": ("sector",),
    "places": (
        "places",
        "number of places",
        "registered places",
        "max/estimated places",
        "maximum places",
        "max places",
    ),
    "short_break": (
        "short-break-only children's home",
        "short breaks only",
        "short break only",
    ),
    "owner": (
        "organisation which owns the provider",
        "organisation",
        "organisation name",
    ),
    "event_type": ("event type", "type", "event type group"),
    "inspection_date": ("date", "event date"),
    "publication_date": ("publication date",),
    "event_number": ("event number", "id"),
    "overall": (
        "overall experiences and progress of children and young people",
        "overall effectiveness",
        "the overall experiences and progress of children and young people",
    ),
    "helped_and_protected": (
        "how well children and young people are helped and protected",
        "safeguarding children and young people",
        "the safety of children and young people",
    ),
    "leaders_and_managers": (
        "the effectiveness of leaders and managers",
        "effectiveness of leaders and managers",
        "leadership and management",
        "the impact and effectiveness of leaders and managers",
    ),
    "outcomes_in_education": ("outcomes in education and related learning activities",),
    "health_services": ("health services",),
}
# home fields whose absence from a layout a load summary states
REPORTED_FIELDS = ("local_authority", "region", "places", "sector", "owner")
_LOOKUP = {
    spelling: name for name, spellings in _COLUMNS.items() for spelling in spellings
}
_PREFIXES = (
    "latest full inspection ",
    "latest full inspectio ",
    "inspection ",
    "latest ",
)
_JUDGEMENT_FIELDS = (
    "overall",
    "helped_and_protected",
    "leaders_and_managers",
    "outcomes_in_education",
    "health_services",
)
# sheets that have a URN column but are not tables we load
_SKIP_MARKERS = ("joiner status", "leaver status", "premises local authority")

_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


def as_row(record: object) -> dict:
    """A slotted record as a dict (faster than ``dataclasses.asdict``)."""
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class HomeRecord:
    """A home's attributes as one table publishes them."""

    urn: str
    provision_type: str | None
    sector: str | None
    local_authority: str | None
    ofsted_region: str | None
    region: str | None
    places: int | None
    registration_date: str | None
    registration_status: str | None
    is_short_break_only: int | None
    owner: str | None


@dataclass(frozen=True, slots=True)
class InspectionRecord:
    """One inspection event as a table publishes it (judgements normalised, the
    published wording kept beside them)."""

    urn: str
    event_number: str | None
    inspection_date: str
    publication_date: str | None
    event_type: str
    event_type_as_published: str | None
    judgement: str | None
    judgement_as_published: str | None
    helped_and_protected: str | None
    leaders_and_managers: str | None
    outcomes_in_education: str | None
    health_services: str | None


@dataclass(frozen=True, slots=True)
class Problem:
    sheet: str | None
    row: int | None
    column: str | None
    value: object
    message: str


@dataclass(slots=True)
class OfstedRow:
    row_number: int
    home: HomeRecord
    inspections: list[InspectionRecord] = field(default_factory=list)
    # events from the table's "Previous …" columns (2023-24 layout)
    earlier: list[InspectionRecord] = field(default_factory=list)


@dataclass(slots=True)
class OfstedTable:
    """A providers-at-date or inspections-in-year table: the children's homes in
    it, what was skipped, and what was wrong."""

    kind: str
    sheet: str | None
    as_at: dt.date
    year: str | None
    title: str | None
    rows: list[OfstedRow]
    problems: list[Problem]
    rows_read: int
    other_providers: int
    # home fields this table's layout has no column for (said, never zero)
    columns_not_given: tuple[str, ...] = ()

    @property
    def inspections_count(self) -> int:
        return sum(len(r.inspections) for r in self.rows)


@dataclass(slots=True)
class OfstedFile:
    tables: list[OfstedTable]
    skipped_sheets: list[str]


def header_index(rows: list[list[object]], *, within: int = 15) -> int | None:
    """The index of the header row: the first with a cell that reads ``URN``."""
    for index, row in enumerate(rows[:within]):
        for cell in row:
            text = clean_text(cell)
            if text and fold(text) in ("urn", "provider urn"):
                return index
    return None


def is_ofsted_table(sheet: Sheet) -> bool:
    index = header_index(sheet.rows)
    if index is None:
        return False
    header = {fold(clean_text(c) or "") for c in sheet.rows[index]}
    return bool({"provision type", "provider type"} & header)


def read_ofsted(
    sheets: Iterable[Sheet],
    *,
    file_name: str,
    as_at: dt.date | None = None,
) -> OfstedFile:
    """Read every providers or inspections table in a file's sheets.

    Raises :class:`UnrecognisedFile` when no sheet is such a table and
    :class:`MissingDate` when a table's date cannot be found.
    """
    sheets = list(sheets)
    tables, skipped = [], []
    names = {s.name for s in sheets}
    for sheet in sheets:
        if not is_ofsted_table(sheet) or _is_skipped_table(sheet):
            if sheet.name:
                skipped.append(sheet.name)
            continue
        if sheet.name and _is_places_duplicate(sheet.name, names):
            skipped.append(sheet.name)
            continue
        tables.append(_read_table(sheet, file_name=file_name, as_at=as_at))
    if not tables:
        where = (
            f" (sheets: {', '.join(s.name or '' for s in sheets)})" if skipped else ""
        )
        raise UnrecognisedFile(
            f"{file_name}: no Ofsted providers or inspections table found{where}. "
            "Expected a header row with 'URN' and 'Provision type' columns."
        )
    return OfstedFile(tables, skipped)


def _is_skipped_table(sheet: Sheet) -> bool:
    index = header_index(sheet.rows)
    assert index is not None
    header = {fold(clean_text(c) or "") for c in sheet.rows[index]}
    return any(marker in header for marker in _SKIP_MARKERS)


def _is_places_duplicate(name: str, names: set[str | None]) -> bool:
    """`Providers+places_at_…` repeats `Provider_level_at_…` without inspections."""
    if not fold(name).startswith("providers+places"):
        return False
    return any(n and fold(n).startswith("provider_level_at") for n in names)


def _read_table(sheet: Sheet, *, file_name: str, as_at: dt.date | None) -> OfstedTable:
    rows = sheet.rows
    index = header_index(rows)
    assert index is not None
    preamble = [clean_text(c) for r in rows[:index] for c in r]
    preamble_text = " ".join(t for t in preamble if t)
    columns, previous = _map_columns(rows[index])
    where = sheet.label(file_name)
    if "urn" not in columns:
        raise UnrecognisedFile(f"{where}: header row {index + 1} has no URN column")
    kind = _table_kind(sheet, preamble_text, columns, file_name, rows[index + 1 :])
    table_as_at, year = _table_date(
        kind, sheet, preamble_text, file_name, as_at, columns, rows[index + 1 :]
    )
    problems: list[Problem] = []
    homes: list[OfstedRow] = []
    other = read = 0
    for offset, row in enumerate(rows[index + 1 :], start=index + 2):
        if not any(clean_text(c) for c in row):
            continue
        read += 1
        if not is_childrens_home(
            normalise_provision_type(_cell(row, columns, "provision_type"))
        ):
            other += 1
            continue
        record = _read_row(row, offset, columns, previous, sheet.name, problems)
        if record is not None:
            homes.append(record)
    return OfstedTable(
        kind=kind,
        sheet=sheet.name,
        as_at=table_as_at,
        year=year,
        title=preamble[0] if preamble else None,
        rows=homes,
        problems=problems,
        rows_read=read,
        other_providers=other,
        columns_not_given=tuple(f for f in REPORTED_FIELDS if f not in columns),
    )


def _map_columns(header: list[object]) -> tuple[dict[str, int], dict[str, int]]:
    columns: dict[str, int] = {}
    previous: dict[str, int] = {}
    for position, cell in enumerate(header):
        text = clean_text(cell)
        if not text:
            continue
        key = fold(text)
        target = columns
        if key.startswith("previous "):
            key = key[len("previous ") :]
            target = previous
        name = _column_name(key)
        if name and name not in target:
            target[name] = position
    return columns, previous


def _column_name(key: str) -> str | None:
    if key in _LOOKUP:
        return _LOOKUP[key]
    for prefix in _PREFIXES:
        if key.startswith(prefix) and key[len(prefix) :] in _LOOKUP:
            return _LOOKUP[key[len(prefix) :]]
    return None


def _table_kind(
    sheet: Sheet,
    preamble: str,
    columns: dict[str, int],
    file_name: str,
    body: list[list[object]],
) -> str:
    text = fold(preamble)
    if "in year" in text or ("inspections" in text and "as at" not in text):
        return INSPECTIONS
    if (
        "latest full inspection" in text
        or "as at" in text
        or "providers and places" in text
    ):
        return PROVIDERS
    name = fold(sheet.name or "")
    if "in_year" in name or "in year" in name:
        return INSPECTIONS
    if "_at_" in name or name.startswith("provider"):
        return PROVIDERS
    if "event_type" not in columns or "inspection_date" not in columns:
        return PROVIDERS
    stem = fold(file_name)
    if re.search(r"in[_ -]?year|inspec", stem):
        return INSPECTIONS
    if re.search(r"provider|_at_|as[_ -]at", stem):
        return PROVIDERS
    urns = Counter(
        normalise_urn(row[columns["urn"]]) for row in body if len(row) > columns["urn"]
    )
    urns.pop(None, None)
    if urns and urns.most_common(1)[0][1] > 1:
        return INSPECTIONS
    return PROVIDERS


def _date_in_text(text: str) -> dt.date | None:
    iso_date = re.search(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)", text)
    if iso_date:  # a file saved as providers_2018-03-31.csv
        try:
            return dt.date(*(int(g) for g in iso_date.groups()))
        except ValueError:
            pass
    text = fold(text).replace("_", " ")
    match = re.search(
        r"\b(\d{1,2})\s*(?:st|nd|rd|th)?\s+([a-z]{3,9})\.?\s+(\d{4})\b", text
    )
    if match:
        month = next(
            (i for i, m in enumerate(_MONTH_NAMES, 1) if m.startswith(match[2][:3])),
            None,
        )
        if month:
            try:
                return dt.date(int(match[3]), month, int(match[1]))
            except ValueError:
                return None
    return None


def _year_in_text(text: str) -> str | None:
    match = re.search(r"\b(20\d\d)\s*[-_–/]\s*(\d\d)(?:\d\d)?\b", fold(text))
    if match and int(match[2]) == (int(match[1]) + 1) % 100:
        return f"{match[1]}-{match[2]}"
    return None


def _fy_end(year: str) -> dt.date:
    return dt.date(int(year[:4]) + 1, 3, 31)


def _table_date(
    kind: str,
    sheet: Sheet,
    preamble: str,
    file_name: str,
    as_at: dt.date | None,
    columns: dict[str, int],
    body: list[list[object]],
) -> tuple[dt.date, str | None]:
    where = sheet.label(file_name)
    if kind == PROVIDERS:
        for text in (preamble, sheet.name or "", file_name):
            found = _date_in_text(text)
            if found:
                return found, None
        if as_at:
            return as_at, None
        raise MissingDate(
            f"{where}: cannot tell the date this providers table describes (no title "
            "row or sheet name with a date, nor a date like '31_march_2021' in the file "
            "name). Pass --as-at YYYY-MM-DD."
        )
    for text in (preamble, sheet.name or ""):
        year = _year_in_text(text)
        if year:
            return _fy_end(year), year
    year = _year_from_inspection_dates(columns, body)
    if year is None:
        year = _year_in_text(file_name)
    if year is None and as_at:
        year = (
            f"{year_ending_31_march(as_at) - 1}-{year_ending_31_march(as_at) % 100:02d}"
        )
    if year is None:
        raise MissingDate(
            f"{where}: cannot tell which year these inspections cover (no title row, "
            "sheet name or file name with a year like 2023-24, and the inspection dates "
            "span several years). Pass --as-at with a date in that year."
        )
    return _fy_end(year), year


def _year_from_inspection_dates(
    columns: dict[str, int], body: list[list[object]]
) -> str | None:
    position = columns.get("inspection_date")
    if position is None:
        return None
    years = Counter()
    for row in body:
        if len(row) > position:
            day = parse_date(row[position])
            if day:
                years[year_ending_31_march(day)] += 1
    if not years:
        return None
    end, count = years.most_common(1)[0]
    if count / sum(years.values()) < 0.95:
        return None
    return f"{end - 1}-{end % 100:02d}"


def _cell(row: list[object], columns: dict[str, int], name: str) -> object:
    position = columns.get(name)
    if position is None or position >= len(row):
        return None
    return row[position]


def _read_row(
    row: list[object],
    number: int,
    columns: dict[str, int],
    previous: dict[str, int],
    sheet: str | None,
    problems: list[Problem],
) -> OfstedRow | None:
    raw_urn = _cell(row, columns, "urn")
    urn = normalise_urn(raw_urn)
    if urn is None:
        if clean_text(raw_urn):
            problems.append(
                Problem(
                    sheet, number, "URN", raw_urn, "URN is not SC+6 digits or 7 digits"
                )
            )
        return None

    def problem(column: str, value: object, message: str) -> None:
        problems.append(Problem(sheet, number, column, value, message))

    def date_field(name: str) -> str | None:
        value = _cell(row, columns, name)
        day = parse_date(value)
        if day is None and clean_text(value):
            problem(name, value, f"{name} is not a date (expected DD/MM/YYYY)")
        return iso(day)

    raw_places = _cell(row, columns, "places")
    places = parse_places(raw_places)
    if places is None and clean_text(raw_places):
        problem("places", raw_places, "places is not a whole number")
    home = HomeRecord(
        urn=urn,
        provision_type=normalise_provision_type(_cell(row, columns, "provision_type")),
        sector=normalise_sector(_cell(row, columns, "sector")),
        local_authority=clean_text(_cell(row, columns, "local_authority")),
        ofsted_region=clean_text(_cell(row, columns, "ofsted_region")),
        region=clean_text(_cell(row, columns, "region")),
        places=places,
        registration_date=date_field("registration_date"),
        registration_status=_title(
            clean_text(_cell(row, columns, "registration_status"))
        ),
        is_short_break_only=normalise_flag(_cell(row, columns, "short_break")),
        owner=clean_text(_cell(row, columns, "owner")),
    )
    record = OfstedRow(number, home)
    for mapping, label, target in (
        (columns, "", record.inspections),
        (previous, "previous ", record.earlier),
    ):
        inspection = _read_inspection(row, urn, mapping, label, problem)
        if inspection:
            target.append(inspection)
    return record


def _read_inspection(row, urn, columns, label, problem) -> InspectionRecord | None:
    if "inspection_date" not in columns:
        return None
    raw_date = _cell(row, columns, "inspection_date")
    day = parse_date(raw_date)
    if day is None:
        if clean_text(raw_date):
            problem(
                f"{label}inspection_date", raw_date, "inspection date is not a date"
            )
        return None
    raw_type = clean_text(_cell(row, columns, "event_type"))
    event_type = normalise_event_type(raw_type)
    if event_type is None:
        if raw_type is None and not label:
            # a providers table gives the latest *full* inspection
            event_type = "Full inspection"
        else:
            problem(f"{label}event_type", raw_type, "unknown inspection event type")
            return None
    judgements: dict[str, str | None] = {}
    published: dict[str, str | None] = {}
    for name in _JUDGEMENT_FIELDS:
        value = _cell(row, columns, name)
        text = clean_text(value)
        published[name] = text
        judgement = normalise_judgement(value, on=day)
        if (
            judgement is None
            and text
            and not (text.isascii() and text.isdigit() and int(text) == 0)
        ):
            problem(
                f"{label}{name}", value, f"judgement {text!r} is not in the vocabulary"
            )
        judgements[name] = judgement
    publication = parse_date(_cell(row, columns, "publication_date"))
    number = clean_text(_cell(row, columns, "event_number"))
    return InspectionRecord(
        urn=urn,
        event_number=number,
        inspection_date=day.isoformat(),
        publication_date=iso(publication),
        event_type=event_type,
        event_type_as_published=raw_type,
        judgement=judgements["overall"],
        judgement_as_published=published["overall"],
        helped_and_protected=judgements["helped_and_protected"],
        leaders_and_managers=judgements["leaders_and_managers"],
        outcomes_in_education=judgements["outcomes_in_education"],
        health_services=judgements["health_services"],
    )


def _title(text: str | None) -> str | None:
    return text[:1].upper() + text[1:].lower() if text else None
