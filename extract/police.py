"""Read the National Crime Agency's per-force missing-persons tables.

The NCA UK Missing Persons Unit bulletins give, per police force, incidents and
individuals for children in care and for other children (table F1). As
published and transcribed, the tables carry traps that this reader removes:

* footnote digits appended to force names (``"Wiltshire 2,3"``,
  ``"Lancashire 2, 3"``), kept apart in ``footnotes``;
* numbers with thousands separators (``"1,369"``);
* ``x`` for "not supplied" (kept as a symbol, the value is None).

Pure: rows in, :class:`PoliceFigure` records out; no network, no database.

Example::

    figures = read_police_file(Path("nca_..._2020-21_table_f1.csv"))
    [f for f in figures if f.force == "Cheshire" and f.measure == "care_incidents"]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from extract.errors import ExtractError, UnrecognisedFile
from extract.normalise import clean_text, fold
from extract.tables import read_sheets

# The 39 territorial police forces of England, as the NCA names them.
FORCES = (
    "Avon and Somerset",
    "Bedfordshire",
    "Cambridgeshire",
    "Cheshire",
    "City of London",
    "Cleveland",
    "Cumbria",
    "Derbyshire",
    "Devon and Cornwall",
    "Dorset",
    "Durham",
    "Essex",
    "Gloucestershire",
    "Greater Manchester",
    "Hampshire",
    "Hertfordshire",
    "Humberside",
    "Kent",
    "Lancashire",
    "Leicestershire",
    "Lincolnshire",
    "Merseyside",
    "Metropolitan",
    "Norfolk",
    "North Yorkshire",
    "Northamptonshire",
    "Northumbria",
    "Nottinghamshire",
    "South Yorkshire",
    "Staffordshire",
    "Suffolk",
    "Surrey",
    "Sussex",
    "Thames Valley",
    "Warwickshire",
    "West Mercia",
    "West Midlands",
    "West Yorkshire",
    "Wiltshire",
)
# Welsh forces appear in some tables; they have no English local authority.
WELSH_FORCES = ("Dyfed-Powys", "Gwent", "North Wales", "South Wales")

_ALIASES = {
    "metropolitan police": "Metropolitan",
    "metropolitan police service": "Metropolitan",
    "met": "Metropolitan",
    "london, city of": "City of London",
    "city of london police": "City of London",
    "county durham": "Durham",
    "dyfed powys": "Dyfed-Powys",
}
_BY_KEY = {fold(name): name for name in FORCES + WELSH_FORCES}
_FOOTNOTES = re.compile(r"^(?P<name>.*?[A-Za-z)])\s*(?P<notes>\d+(?:\s*,\s*\d+)*)$")
_SUFFIX = re.compile(r"\s+(police|constabulary|police service)$")
_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$|^-?\d+(\.\d+)?$")

# Measures of table F1, by the transcribed header.
MEASURES = {
    "care_incidents": "Missing incidents, children in care",
    "care_individuals": "Missing individuals, children in care",
    "care_ratio": "Incidents per individual, children in care",
    "not_care_incidents": "Missing incidents, children not in care",
    "not_care_individuals": "Missing individuals, children not in care",
    "not_care_ratio": "Incidents per individual, children not in care",
}


@dataclass(frozen=True, slots=True)
class PoliceFigure:
    """One cell of a per-force table."""

    row: int  # 1-based line number in the table, header = 1
    force: str  # canonical force name (see FORCES)
    force_as_published: str
    footnotes: str | None  # "2,3" for "Wiltshire 2,3"
    measure: str  # the column, e.g. "care_incidents"
    value: float | None
    symbol: str | None  # "x" (not supplied) or another published symbol


def split_footnotes(text: str) -> tuple[str, str | None]:
    """``"Lancashire 2, 3"`` → ``("Lancashire", "2,3")``; a name without
    footnotes comes back unchanged with None."""
    text = re.sub(r"\s+", " ", text).strip()
    match = _FOOTNOTES.match(text)
    if not match:
        return text, None
    return match["name"].strip(), re.sub(r"\s+", "", match["notes"])


def normalise_force(text: object) -> str | None:
    """A force name as any table writes it → the canonical name, else None."""
    cleaned = clean_text(text)
    if cleaned is None:
        return None
    name, _ = split_footnotes(cleaned)
    key = fold(name).replace("&", "and").replace(".", "")
    key = re.sub(r"\s+", " ", key).strip()
    if key in _ALIASES:
        return _ALIASES[key]
    if key in _BY_KEY:
        return _BY_KEY[key]
    key = _SUFFIX.sub("", key)
    return _ALIASES.get(key) or _BY_KEY.get(key)


def parse_figure(value: object) -> tuple[float | None, str | None]:
    """``"1,369"`` → ``(1369, None)``; ``"x"`` → ``(None, "x")``; blank →
    ``(None, None)``. Anything else raises ValueError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None
    text = clean_text(value)
    if text is None:
        return None, None
    if _NUMBER.match(text):
        return float(text.replace(",", "")), None
    if fold(text) in {"x", "..", ":", "*", "c", "z", "u", "-"}:
        return None, fold(text)
    raise ValueError(text)


def is_police_header(row: Sequence[object]) -> bool:
    return any(fold(str(cell or "")) == "police_force" for cell in row)


def read_police_rows(
    rows: Sequence[Sequence[object]], *, file_name: str = "table"
) -> tuple[list[PoliceFigure], list[tuple[int, str, str, object]]]:
    """Read a per-force table given as rows (the header row included).

    Returns the figures and the problems found, each problem as
    ``(row, column, message, value)``. Raises :class:`UnrecognisedFile` when
    no header row has a ``police_force`` column.
    """
    header_index = next(
        (i for i, row in enumerate(rows[:20]) if is_police_header(row)), None
    )
    if header_index is None:
        raise UnrecognisedFile(
            f"{file_name}: expected a header row with a 'police_force' column in "
            "the first 20 rows, found none. Is this an NCA per-force table?"
        )
    header = [fold(str(cell or "")) for cell in rows[header_index]]
    force_column = header.index("police_force")
    figures: list[PoliceFigure] = []
    problems: list[tuple[int, str, str, object]] = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        cells = list(row) + [None] * (len(header) - len(row))
        published = clean_text(cells[force_column])
        if published is None:
            continue
        force = normalise_force(published)
        if force is None:
            problems.append(
                (
                    offset,
                    "police_force",
                    "not a police force of England or Wales; "
                    "add it to extract/police.py FORCES or fix the name",
                    published,
                )
            )
            continue
        _, footnotes = split_footnotes(published)
        for column, measure in enumerate(header):
            if column == force_column or not measure:
                continue
            try:
                value, symbol = parse_figure(cells[column])
            except ValueError:
                problems.append(
                    (offset, measure, "not a number or a known symbol", cells[column])
                )
                continue
            figures.append(
                PoliceFigure(
                    row=offset,
                    force=force,
                    force_as_published=published,
                    footnotes=footnotes,
                    measure=measure,
                    value=value,
                    symbol=symbol,
                )
            )
    return figures, problems


def read_police_file(path: Path) -> list[PoliceFigure]:
    """Read a per-force table (CSV or workbook); raise :class:`ExtractError`
    on any bad cell."""
    path = Path(path)
    (sheet, *_) = read_sheets(path)
    figures, problems = read_police_rows(sheet.rows, file_name=path.name)
    if problems:
        row, column, message, value = problems[0]
        raise ExtractError(f"{path.name} row {row}, {column}: {message} ({value!r})")
    return figures


def year_from_name(name: str) -> str | None:
    """The financial year a file name gives: ``..._2020-21_...`` → ``"2020-21"``."""
    match = re.search(r"(20\d\d)[-_/ ]?(?:to[-_ ])?(\d\d)(?!\d)", name)
    if not match:
        return None
    start, end = int(match[1]), int(match[2])
    if (start + 1) % 100 != end:
        return None
    return f"{start}-{end:02d}"
