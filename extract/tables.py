"""Read any tabular file (CSV in any common encoding, XLSX, XLS, ODS) into
sheets of rows, recognising the format by content, not by file name."""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

from extract.errors import EmptyFile, UnrecognisedFile

logger = logging.getLogger(__name__)

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class Sheet:
    """One table-shaped sheet: its name (None for a CSV) and its rows as lists
    of Python values (str, float, int, datetime or "")."""

    name: str | None
    rows: list[list[object]]

    def label(self, file_name: str) -> str:
        return f"{file_name} sheet {self.name!r}" if self.name else file_name


def read_sheets(path: Path) -> list[Sheet]:
    """Every sheet of a workbook, or the single table of a CSV file."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not head:
        raise EmptyFile(f"{path.name}: the file is empty")
    if head.startswith(_ZIP) or head.startswith(_OLE2):
        return _read_workbook(path)
    return [Sheet(None, _read_csv(path))]


def _read_workbook(path: Path) -> list[Sheet]:
    from python_calamine import CalamineError, CalamineWorkbook

    if _looks_like_other_zip(path):
        raise UnrecognisedFile(
            f"{path.name}: this is a ZIP archive, not a spreadsheet. "
            "Unzip it and load the CSV or workbook files inside."
        )
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheets = []
        for name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets.append(Sheet(name, [list(r) for r in rows]))
        return sheets
    except (CalamineError, ValueError, OSError) as error:
        raise UnrecognisedFile(
            f"{path.name}: looks like a workbook but cannot be opened ({error}). "
            "Re-download it, or open and save it again as XLSX or ODS."
        ) from None
    except Exception as error:  # calamine raises its own exception types too
        if type(error).__module__.startswith("python_calamine"):
            raise UnrecognisedFile(
                f"{path.name}: looks like a workbook but cannot be opened ({error}). "
                "Re-download it, or open and save it again as XLSX or ODS."
            ) from None
        raise


def _looks_like_other_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        return False
    return not (
        "[Content_Types].xml" in names or "mimetype" in names or "content.xml" in names
    )


def _read_csv(path: Path) -> list[list[object]]:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise UnrecognisedFile(
            f"{path.name}: binary content, not a CSV file or a workbook we know "
            "(CSV, XLSX, XLS or ODS)."
        )
    text = _decode(raw, path)
    sample = text[:8192]
    if _printable_share(sample) < 0.95:
        raise UnrecognisedFile(
            f"{path.name}: this does not look like text or a spreadsheet. "
            "Load Ofsted's workbook (ODS/XLSX) or a sheet saved as CSV."
        )
    delimiter = _delimiter(sample)
    return [
        list(row)
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    ]


def _decode(raw: bytes, path: Path) -> str:
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-8-sig":
            logger.info("%s: read as %s", path.name, encoding)
        return text
    raise UnrecognisedFile(f"{path.name}: cannot decode the text")  # pragma: no cover


def _printable_share(text: str) -> float:
    if not text:
        return 1.0
    printable = sum(1 for c in text if c.isprintable() or c in "\r\n\t")
    return printable / len(text)


def _delimiter(sample: str) -> str:
    first_lines = "\n".join(sample.splitlines()[:10])
    counts = {d: first_lines.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
