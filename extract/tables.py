"""Read any tabular file (CSV in any common encoding, XLSX, XLS, ODS) into
sheets of rows, recognising the format by content, not by file name.

A workbook is a ZIP of XML, and a few hundred bytes of it can declare a grid
of billions of cells: a value at ``XFD1048576``, or one cell repeated with
``table:number-rows-repeated``. The native reader (calamine) allocates the
whole grid, and on failing to allocate it aborts the process. So a workbook is
read in two steps:

1. ``check_workbook_size`` streams each sheet's XML (bounded bytes, constant
   memory) and adds up the grid its values imply; past ``MAX_SHEET_CELLS``
   cells, ``MAX_COLUMNS`` columns or ``MAX_WORKBOOK_CELLS`` in all, the file is
   refused with a one-line error before the reader sees it.
2. The reader then runs in a child process with an address-space limit
   (``READ_MEMORY_BYTES``), so anything the check cannot see (XLS, binary XLSB
   sheets, a reader bug) costs that one file, not the command.

The limits are generous: the largest official table (Ofsted's providers
workbook) implies about 180,000 cells in its largest sheet.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import multiprocessing
import re
import resource
import signal
import xml.parsers.expat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from extract.errors import EmptyFile, UnrecognisedFile

logger = logging.getLogger(__name__)

_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")

#: Most cells (rows x columns up to the last value) one sheet may imply.
MAX_SHEET_CELLS = 2_000_000
#: Most columns (up to the last value) one sheet may have.
MAX_COLUMNS = 2_000
#: Most cells all the sheets of one workbook may imply together.
MAX_WORKBOOK_CELLS = 5_000_000
#: Most uncompressed bytes of sheet XML read while checking one workbook.
MAX_XML_BYTES = 512 << 20
#: Address space of the child process that reads a workbook.
READ_MEMORY_BYTES = 1536 << 20
#: CPU seconds and wall-clock seconds the child may spend on one workbook.
READ_CPU_SECONDS = 300
READ_WALL_SECONDS = 600.0


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
    if _looks_like_other_zip(path):
        raise UnrecognisedFile(
            f"{path.name}: this is a ZIP archive, not a spreadsheet. "
            "Unzip it and load the CSV or workbook files inside."
        )
    check_workbook_size(path)
    return _read_in_child(path)


def _read_workbook_here(path: Path) -> list[Sheet]:
    """calamine in this process: only ever called in the limited child."""
    from python_calamine import CalamineError, CalamineWorkbook

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


# ------------------------------------------------------------ size check


class _TooBig(Exception):
    pass


def _too_big(path: Path, what: str) -> UnrecognisedFile:
    return UnrecognisedFile(
        f"{path.name}: refused, {what}, far more than a table of homes needs "
        f"(at most {MAX_SHEET_CELLS:,} cells and {MAX_COLUMNS:,} columns a sheet). "
        "If the file is genuine, open it, delete the stray cells far below or to "
        "the right of the table, and save it again."
    )


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ord(ch) - 64)
    return number


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,4})\$?([0-9]{1,8})$")


class _Grid:
    """The extent of one sheet's values, checked as it grows."""

    def __init__(self, path: Path, sheet: str, spent: int) -> None:
        self.path, self.sheet, self.spent = path, sheet, spent
        self.rows = 0
        self.columns = 0

    def value(self, last_row: int, last_column: int) -> None:
        """A value reaches row ``last_row`` and column ``last_column`` (1-based)."""
        if last_column > self.columns:
            self.columns = last_column
            if last_column > MAX_COLUMNS:
                raise _TooBig(
                    f"sheet {self.sheet!r} has a value in column {last_column:,}"
                )
        if last_row > self.rows:
            self.rows = last_row
        cells = self.rows * self.columns
        if cells > MAX_SHEET_CELLS:
            raise _TooBig(
                f"sheet {self.sheet!r} implies a grid of {self.rows:,} rows by "
                f"{self.columns:,} columns ({cells:,} cells)"
            )
        if self.spent + cells > MAX_WORKBOOK_CELLS:
            raise _TooBig(
                f"its sheets imply more than {MAX_WORKBOOK_CELLS:,} cells together"
            )

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def check_workbook_size(path: Path) -> None:
    """Refuse a workbook whose sheets imply too big a grid (see the module
    docstring), reading its XML as a stream. Other workbooks (XLS, XLSB) pass:
    the child process's memory limit covers them."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # XLS (OLE2), or a broken file for the reader to name
    with archive:
        names = archive.namelist()
        try:
            if "content.xml" in names:
                _scan(path, archive, ["content.xml"], _OdsScanner)
            else:
                sheets = sorted(
                    n
                    for n in names
                    if n.startswith("xl/worksheets/") and n.endswith(".xml")
                )
                _scan(path, archive, sheets, _XlsxScanner)
        except _TooBig as error:
            raise _too_big(path, str(error)) from None
        except (zipfile.BadZipFile, xml.parsers.expat.ExpatError, OSError) as error:
            raise UnrecognisedFile(
                f"{path.name}: looks like a workbook but cannot be opened ({error}). "
                "Re-download it, or open and save it again as XLSX or ODS."
            ) from None
        except (RuntimeError, ValueError, EOFError) as error:  # zlib, bad ZIP data
            raise UnrecognisedFile(
                f"{path.name}: looks like a workbook but cannot be opened ({error}). "
                "Re-download it, or open and save it again as XLSX or ODS."
            ) from None


def _scan(path: Path, archive: zipfile.ZipFile, members: list[str], scanner) -> None:
    budget = MAX_XML_BYTES
    spent = 0
    for member in members:
        handler = scanner(path, member, spent)
        parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = handler.start
        parser.EndElementHandler = handler.end
        with archive.open(member) as stream:
            while chunk := stream.read(1 << 20):
                budget -= len(chunk)
                if budget < 0:
                    raise _TooBig(
                        f"its sheets hold more than {MAX_XML_BYTES >> 20:,} MB of XML"
                    )
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        spent += handler.total()


_SSML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"


class _XlsxScanner:
    """One worksheet: ``<row r>`` and ``<c r>`` with a child element (a value,
    an inline string or a formula) extend the grid."""

    def __init__(self, path: Path, member: str, spent: int) -> None:
        self.grid = _Grid(path, member.rsplit("/", 1)[-1], spent)
        self.row = 0
        self.column = 0
        self.in_cell = False
        self.cell_has_value = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        if self.in_cell:
            self.cell_has_value = True
            return
        if local == "row":
            given = attrs.get("r")
            self.row = int(given) if given and given.isdigit() else self.row + 1
            self.column = 0
        elif local == "c":
            ref = _CELL_REF.match(attrs.get("r", ""))
            if ref:
                self.column = _column_number(ref.group(1).upper())
                self.row = max(self.row, int(ref.group(2)))
            else:
                self.column += 1
            self.in_cell = True
            self.cell_has_value = False

    def end(self, name: str) -> None:
        if name.rpartition(" ")[2] == "c" and self.in_cell:
            self.in_cell = False
            if self.cell_has_value:
                self.grid.value(max(self.row, 1), max(self.column, 1))

    def total(self) -> int:
        return self.grid.cells


def _repeat(attrs: dict[str, str], name: str) -> int:
    value = attrs.get(f"{_TABLE} {name}", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


class _OdsScanner:
    """content.xml: rows and cells count with their ``number-rows-repeated``
    and ``number-columns-repeated``; a cell with a value type or any content
    extends the grid as far as its repeats reach. Empty repeated cells (the
    formatting that fills a whole sheet in many real files) do not."""

    _CELLS = frozenset({"table-cell", "covered-table-cell"})

    def __init__(self, path: Path, member: str, spent: int) -> None:
        self.path, self.spent = path, spent
        self.grid: _Grid | None = None
        self.depth = 0  # inside a cell: depth of nested elements
        self.row = 0  # rows before the current one
        self.row_repeat = 1
        self.column = 0  # columns before the current cell
        self.cell_repeat = 1
        self.cell_has_value = False
        self.done = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        uri, _, local = name.rpartition(" ")
        if self.depth:
            self.depth += 1
            self.cell_has_value = True
            return
        if uri != _TABLE:
            return
        if local == "table":
            if self.grid is not None:
                self.done += self.grid.cells
            sheet = attrs.get(f"{_TABLE} name", "?")
            self.grid = _Grid(self.path, sheet, self.spent + self.done)
            self.row = 0
        elif local == "table-row":
            self.row_repeat = _repeat(attrs, "number-rows-repeated")
            self.column = 0
        elif local in self._CELLS:
            self.cell_repeat = _repeat(attrs, "number-columns-repeated")
            self.cell_has_value = f"{_OFFICE} value-type" in attrs
            self.depth = 1

    def end(self, name: str) -> None:
        uri, _, local = name.rpartition(" ")
        if self.depth:
            self.depth -= 1
            if self.depth:
                return
            if self.cell_has_value and self.grid is not None:
                self.grid.value(
                    self.row + self.row_repeat, self.column + self.cell_repeat
                )
            self.column += self.cell_repeat
            return
        if uri == _TABLE and local == "table-row":
            self.row += self.row_repeat

    def total(self) -> int:
        return self.done + (self.grid.cells if self.grid else 0)


# ------------------------------------------------------------ child process


def _limit_child() -> None:
    for limit, wanted in (
        (resource.RLIMIT_AS, READ_MEMORY_BYTES),
        (resource.RLIMIT_CPU, READ_CPU_SECONDS),
        (resource.RLIMIT_CORE, 0),
    ):
        _soft, hard = resource.getrlimit(limit)
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(limit, (value, hard))


def _child_main(conn, path: str) -> None:
    _limit_child()
    try:
        sheets = _read_workbook_here(Path(path))
        conn.send(("ok", sheets))
    except UnrecognisedFile as error:
        conn.send(("refused", str(error)))
    except MemoryError:
        conn.send(("memory", None))
    except Exception as error:  # an unexpected reader failure: one line, this file
        conn.send(("failed", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def _context() -> multiprocessing.context.BaseContext:
    # A process forked by multiprocessing (the loader's read-ahead worker)
    # inherits its parent's fork server but cannot wait on it: spawn there.
    methods = multiprocessing.get_all_start_methods()
    top_level = multiprocessing.parent_process() is None
    return multiprocessing.get_context(
        "forkserver" if "forkserver" in methods and top_level else "spawn"
    )


def _read_in_child(path: Path) -> list[Sheet]:
    """Read a workbook in a child process limited to ``READ_MEMORY_BYTES``: a
    reader that runs out of memory or aborts costs this file only."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(send, str(path)), daemon=True)
    child.start()
    send.close()
    message = None
    timed_out = False
    try:
        if receive.poll(READ_WALL_SECONDS):
            with contextlib.suppress(EOFError, OSError):
                message = receive.recv()
        else:
            timed_out = True
    finally:
        receive.close()
        if message is None and child.is_alive():
            child.kill()
        child.join(10)
    limit = f"{READ_MEMORY_BYTES >> 20:,} MB"
    if message is None:
        code = child.exitcode
        if timed_out:
            what = f"it took longer than {READ_WALL_SECONDS:.0f} s to read"
        elif code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            what = f"it took more than {READ_CPU_SECONDS} s of CPU to read"
        elif code in (
            -signal.SIGABRT,
            128 + signal.SIGABRT,
            -signal.SIGSEGV,
            -signal.SIGKILL,
        ):
            what = (
                "the spreadsheet reader gave up on it (reading it needs more than "
                f"the {limit} a workbook may use)"
            )
        else:
            what = f"the spreadsheet reader stopped on it (exit status {code})"
        raise UnrecognisedFile(
            f"{path.name}: refused, {what}. Open it and save it again as XLSX or "
            "ODS, or save the table as CSV."
        )
    status, payload = message
    if status == "ok":
        return payload
    if status == "memory":
        raise UnrecognisedFile(
            f"{path.name}: refused, reading it needs more than the {limit} a workbook "
            "may use. Save the table as CSV, or delete stray cells far from the table."
        )
    if status == "refused":
        raise UnrecognisedFile(payload)
    raise UnrecognisedFile(
        f"{path.name}: looks like a workbook but cannot be opened ({payload}). "
        "Re-download it, or open and save it again as XLSX or ODS."
    )


# ------------------------------------------------------------------ CSV


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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [list(row) for row in reader]
    except csv.Error as error:
        # e.g. a field over csv.field_size_limit() (128 KB): no table of homes
        # has one, and raising the limit would let one cell take any memory.
        what = str(error)
        if "field limit" in what:
            what = f"a field longer than {csv.field_size_limit():,} characters"
        raise UnrecognisedFile(
            f"{path.name} line {reader.line_num}: refused, not a CSV table we can "
            f"read ({what}). Check the quoting on that line, or load the workbook "
            "the figures came from."
        ) from None


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
