"""Read DfE's "Children looked after in England" missing-from-care files: the
explore-education-statistics (EES) layouts (LA file with `CLA_group`, national
files by `missing_status`/`characteristic`, LA-of-placement net gain) and the
2015-2017 SFR underlying files (`CLA_MissIncs`, `Miss_Miss_Incs`, ...).

Suppression symbols (`c`, `z`, `x`, `k`, ...) are kept as symbols with a NULL
value: a suppressed cell is never a zero.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from extract.errors import MissingDate, UnrecognisedFile
from extract.normalise import clean_text, fold
from extract.tables import Sheet

LA_MISSING = "dfe-la-missing"
NATIONAL_MISSING = "dfe-national-missing"
LA_PLACEMENT = "dfe-la-placement"
SFR_MISSING = "dfe-sfr-missing"

SYMBOLS = {"c", "z", "x", "k", "u", "low"}
# The SFR files of 2015-2017 write "not available" as `..`: today's `x`.
OLD_SYMBOLS = {"..": "x"}

MEASURES = {
    "children looked after during the year": "children_looked_after",
    "children who had a missing incident during the year": "children_missing",
    "percentage of children who had a missing incident during the year": "pct_children_missing",
    "number of missing incidents during the year": "missing_incidents",
    "average number of missing incidents per looked after child who went missing": "avg_missing_incidents_per_child",
    "children who went missing more than once during the year": "children_missing_more_than_once",
    "children missing at 31 march": "children_missing_at_31_march",
    "children who were away from placement without authorisation during the year": "children_away",
    "percentage of children who were away from placement without authorisation during the year": "pct_children_away",
    "number of away from placement without authorisation incidents during the year": "away_incidents",
    "average number of away from placement without authorisation incidents per looked after child": "avg_away_incidents_per_child",
    "children who were away from placement without authorisation more than once during the year": "children_away_more_than_once",
    "children away from placement without authorisation at 31 march": "children_away_at_31_march",
}

# SFR column suffixes (2015-16: CLA_Miss*, 2017: Miss_Miss* / Miss_Away*)
_SFR_MEASURES = {
    "missduringyear": "children_missing",
    "missincs": "missing_incidents",
    "missmoreonce": "children_missing_more_than_once",
    "miss31mar": "children_missing_at_31_march",
    "awayduringyear": "children_away",
    "awayincs": "away_incidents",
    "awaymoreonce": "children_away_more_than_once",
    "away31mar": "children_away_at_31_march",
}

_SUB_REGIONS = {"inner london": "E13000001", "outer london": "E13000002"}

_LEVELS = {
    "national": "National",
    "regional": "Regional",
    "region": "Regional",
    "local authority": "Local authority",
    "la": "Local authority",
}


@dataclass(frozen=True, slots=True)
class Statistic:
    """One published number (or its suppression symbol)."""

    year: int
    geographic_level: str
    area_code: str
    la_code: str | None
    old_la_code: str | None
    la_name: str | None
    region_name: str | None
    measure: str
    value: float | None
    symbol: str | None


@dataclass(frozen=True, slots=True)
class NationalStatistic:
    year: int
    kind: str
    breakdown: str
    characteristic: str
    value: float | None
    symbol: str | None


@dataclass(frozen=True, slots=True)
class BadCell:
    row: int
    column: str
    value: object
    message: str


@dataclass
class DfeTable:
    kind: str
    release: str
    years: list[int]
    statistics: list[Statistic | NationalStatistic]
    bad_cells: list[BadCell]
    rows_read: int


def recognise(sheet: Sheet) -> str | None:
    """Which DfE layout a sheet is in, from its header row, or None."""
    if not sheet.rows:
        return None
    header = [fold(clean_text(c) or "") for c in sheet.rows[0]]
    names = set(header)
    if {"time_period", "geographic_level", "number"} <= names:
        if "cla_group" in names:
            return LA_MISSING
        if {"missing_status", "characteristic"} <= names:
            return NATIONAL_MISSING
        if "characteristic" in names and "new_la_code" in names:
            return LA_PLACEMENT
    if "geog_l" in names and any(_sfr_measure(h) for h in header):
        return SFR_MISSING
    return None


def read_dfe(sheet: Sheet, *, file_name: str, as_at: dt.date | None = None) -> DfeTable:
    kind = recognise(sheet)
    if kind is None:
        raise UnrecognisedFile(f"{file_name}: not a DfE missing-from-care file we know")
    header = [fold(clean_text(c) or "") for c in sheet.rows[0]]
    body = sheet.rows[1:]
    if kind == SFR_MISSING:
        return _read_sfr(header, body, file_name, as_at)
    return _read_ees(kind, header, body, file_name)


def _value(
    raw: object, row: int, column: str, bad: list[BadCell]
) -> tuple[float | None, str | None]:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw), None
    text = clean_text(raw)
    if text is None:
        return None, None
    if text.casefold() in SYMBOLS:
        return None, text.casefold()
    if text in OLD_SYMBOLS:
        return None, OLD_SYMBOLS[text]
    number = text.replace(",", "")
    try:
        return float(number), None
    except ValueError:
        bad.append(
            BadCell(
                row,
                column,
                raw,
                f"{text!r} is neither a number nor a suppression symbol",
            )
        )
        return None, None


def _year(raw: object) -> int | None:
    text = clean_text(raw) or ""
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    if re.fullmatch(r"\d{6}", text):  # 202324: the year ending in 2024
        return int(text[:2] + text[4:])
    return None


def _read_ees(
    kind: str, header: list[str], body: list[list[object]], file_name: str
) -> DfeTable:
    col = {name: i for i, name in reversed(list(enumerate(header)))}
    measure_column = "cla_group" if kind == LA_MISSING else "characteristic"
    statistics: list = []
    bad: list[BadCell] = []
    years: set[int] = set()
    read = 0

    def cell(row: list[object], name: str) -> str | None:
        i = col.get(name)
        return clean_text(row[i]) if i is not None and i < len(row) else None

    for number, row in enumerate(body, start=2):
        if not any(clean_text(c) for c in row):
            continue
        read += 1
        year = _year(row[col["time_period"]])
        if year is None:
            bad.append(
                BadCell(
                    number,
                    "time_period",
                    row[col["time_period"]],
                    "time_period is not a year",
                )
            )
            continue
        years.add(year)
        value, symbol = _value(
            row[col["number"]] if col["number"] < len(row) else None,
            number,
            "number",
            bad,
        )
        if kind == NATIONAL_MISSING:
            breakdown = cell(row, "missing_status") or ""
            characteristic = cell(row, "characteristic") or ""
            statistics.append(
                NationalStatistic(
                    year,
                    "away" if "away" in breakdown.casefold() else "missing",
                    breakdown,
                    characteristic,
                    value,
                    symbol,
                )
            )
            continue
        level = _LEVELS.get(fold(cell(row, "geographic_level") or ""))
        if level is None:
            bad.append(
                BadCell(
                    number,
                    "geographic_level",
                    cell(row, "geographic_level"),
                    "unknown geographic level",
                )
            )
            continue
        label = cell(row, measure_column) or ""
        measure = MEASURES.get(fold(label)) if kind == LA_MISSING else _slug(label)
        if measure is None:
            bad.append(BadCell(number, measure_column, label, "unknown measure"))
            continue
        la_code = cell(row, "new_la_code")
        area = {
            "National": cell(row, "country_code"),
            "Regional": cell(row, "region_code"),
            "Local authority": la_code or cell(row, "old_la_code"),
        }[level]
        statistics.append(
            Statistic(
                year=year,
                geographic_level=level,
                area_code=area or "",
                la_code=la_code if level == "Local authority" else None,
                old_la_code=cell(row, "old_la_code"),
                la_name=cell(row, "la_name") if level == "Local authority" else None,
                region_name=cell(row, "region_name"),
                measure=measure,
                value=value,
                symbol=symbol,
            )
        )
    if not years:
        raise UnrecognisedFile(
            f"{file_name}: the DfE file has a header but no data rows"
        )
    return DfeTable(kind, str(max(years)), sorted(years), statistics, bad, read)


def _slug(text: str) -> str:
    text = re.sub(r"^\d+\.\s*", "", text)
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_")


def _sfr_measure(header: str) -> str | None:
    """`CLA_MissIncs` / `Miss_Miss_Incs` / `Miss_Away_Incs` → a measure key."""
    key = header.replace("_", "").casefold()
    for prefix in ("cla", "miss"):
        if key.startswith(prefix) and key[len(prefix) :] in _SFR_MEASURES:
            return _SFR_MEASURES[key[len(prefix) :]]
    return None


def _read_sfr(
    header: list[str], body: list[list[object]], file_name: str, as_at: dt.date | None
) -> DfeTable:
    year = _sfr_year(file_name, as_at)
    col = {name: i for i, name in enumerate(header)}
    measures = [(i, m) for i, h in enumerate(header) if (m := _sfr_measure(h))]
    statistics: list = []
    bad: list[BadCell] = []
    read = 0
    for number, row in enumerate(body, start=2):
        if not any(clean_text(c) for c in row):
            continue
        read += 1

        def cell(name: str, row: list[object] = row) -> str | None:
            i = col.get(name)
            return clean_text(row[i]) if i is not None and i < len(row) else None

        level = {
            "national": "National",
            "region": "Regional",
            "la": "Local authority",
        }.get((cell("geog_l") or "").casefold())
        if level is None:
            bad.append(
                BadCell(number, "geog_l", cell("geog_l"), "unknown geographic level")
            )
            continue
        gss = cell("new_geog_code")
        old = cell("geog_c")
        name = fold(cell("geog_n") or "")
        if level == "Regional" and name in _SUB_REGIONS:
            gss = _SUB_REGIONS[name]  # the SFRs give Inner/Outer London London's code
        for i, measure in measures:
            value, symbol = _value(
                row[i] if i < len(row) else None, number, header[i], bad
            )
            statistics.append(
                Statistic(
                    year=year,
                    geographic_level=level,
                    area_code=gss or old or cell("geog_n") or "",
                    la_code=gss if level == "Local authority" else None,
                    old_la_code=old if level == "Local authority" else None,
                    la_name=cell("geog_n") if level == "Local authority" else None,
                    region_name=cell("geog_n") if level == "Regional" else None,
                    measure=measure,
                    value=value,
                    symbol=symbol,
                )
            )
    return DfeTable(SFR_MISSING, str(year), [year], statistics, bad, read)


def _sfr_year(file_name: str, as_at: dt.date | None) -> int:
    match = re.search(r"(?<!\d)(20\d\d)(?!\d)", file_name)
    if match:
        return int(match[1])
    if as_at:
        return as_at.year if as_at.month <= 3 else as_at.year + 1
    raise MissingDate(
        f"{file_name}: a DfE SFR missing-from-care table does not say its year in its "
        "content, and the file name has no year like 'Missing2015'. Pass --as-at with "
        "the year-end date, e.g. --as-at 2015-03-31."
    )


def iter_statistics(table: DfeTable) -> Iterator[Statistic | NationalStatistic]:
    yield from table.statistics
