"""What kind of file is this? Recognised by content, never by file name.

* :func:`is_pdf` / :func:`looks_like_pdf`: the one PDF sniffer (``%PDF-``
  after an optional byte-order mark or blank bytes), used by the loaders, the
  report reader and the incident reader alike;
* :func:`parse_tabular`: a CSV or workbook read into what it holds (an Ofsted
  providers/inspections file, a DfE missing-from-care table or a police force
  table), with the pure readers of this package. No database.

Example::

    parsed = parse_tabular(Path("providers_at_31_march_2025.ods"))
    parsed.kind  # "ofsted"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from extract import dfe, ofsted
from extract.errors import UnrecognisedFile
from extract.normalise import clean_text, fold
from extract.tables import read_sheets

PDF_MAGIC = b"%PDF-"
# Bytes a PDF writer may put before the magic number.
_PDF_LEADING = b"\xef\xbb\xbf \t\r\n\x00"
_SNIFF_BYTES = 1024

# Tables recognised by a header cell: the kind they are loaded as.
_OTHER_TABLES = {"police_force": "police"}


def looks_like_pdf(head: bytes) -> bool:
    """True if ``head`` (the first bytes of a file) starts a PDF."""
    return head.lstrip(_PDF_LEADING).startswith(PDF_MAGIC)


def is_pdf(path: Path) -> bool:
    """True if the file at ``path`` is a PDF by its content (False if unreadable)."""
    try:
        with open(path, "rb") as fh:
            return looks_like_pdf(fh.read(_SNIFF_BYTES))
    except OSError:
        return False


@dataclass
class Parsed:
    """What a tabular file holds, read by the pure readers (picklable, so a
    worker process can read the next file while this one is written)."""

    kind: str  # "ofsted", "dfe" or "police"
    ofsted: ofsted.OfstedFile | None = None
    dfe: dfe.DfeTable | None = None
    rows: list[list[object]] | None = None


def parse_tabular(path: Path, *, as_at: dt.date | None = None) -> Parsed:
    """Recognise a CSV or workbook by its content and read it (no database)."""
    sheets = read_sheets(path)
    if any(ofsted.is_ofsted_table(s) for s in sheets):
        return Parsed(
            "ofsted",
            ofsted=ofsted.read_ofsted(sheets, file_name=path.name, as_at=as_at),
        )
    for sheet in sheets:
        if dfe.recognise(sheet):
            return Parsed(
                "dfe", dfe=dfe.read_dfe(sheet, file_name=path.name, as_at=as_at)
            )
    for sheet in sheets:
        header = {
            fold(clean_text(c) or "") for c in (sheet.rows[0] if sheet.rows else [])
        }
        for marker, kind in _OTHER_TABLES.items():
            if marker in header:
                return Parsed(kind, rows=sheet.rows)
    names = [s.name for s in sheets if s.name]
    if names:
        raise UnrecognisedFile(
            f"{path.name}: none of this workbook's sheets ({', '.join(names)}) is "
            "an Ofsted providers or inspections table (a header row with 'URN' and "
            "'Provision type') or a DfE missing-from-care table. Check that this is the "
            "right download."
        )
    raise UnrecognisedFile(
        f"{path.name}: not a file we recognise. Expected an Ofsted children's "
        "social care workbook or CSV (a header row with 'URN' and 'Provision type'), "
        "or a DfE children-looked-after missing file (columns time_period, "
        "geographic_level, CLA_group/missing_status, number). Check that this is the "
        "right download."
    )
