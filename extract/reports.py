"""Read an Ofsted children's home inspection report PDF into a typed record.

``extract_report(path)`` is pure (a file in, an :class:`InspectionReport` out,
no network, no database) and raises one of the :class:`ReportError` classes
below for a file it cannot read, each with a ``kind`` from :data:`ERROR_KINDS`.
It trusts the PDF library with untrusted input, so batch callers run it in a
child process with limits: see ``extract.sandbox``.

Text comes from pdfium (``pypdfium2``, which pdfplumber already brings), the
fastest correct path. The text is read by the ``extract.report_*`` modules:
``report_text`` (tidying, layout), ``report_fields`` (labelled values),
``report_dates``, ``report_judgements``, ``report_requirements`` (tables) and
``report_mentions`` (missing/away, exploitation, police). Fields are found by
their labels, tolerating labels that
wrap over lines with the judgement word between the wrapped lines (fragment A
in ``shared/docs/report-text-fragments.txt``). A judgement is only returned
when every place the report gives it agrees, it belongs to the vocabulary of
the report's era and it matches the standard sentence under it; otherwise it is
None and ``problems`` says why. A wrong rating is worse than a missing one.

Example::

    report = extract_report(Path("report.pdf"))
    report.judgements.overall  # 'Good'
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from extract.errors import ExtractError
from extract.kinds import looks_like_pdf
from extract.report_records import (
    Judgements,
    Mention,
    PastInspection,
    Requirement,
)

logger = logging.getLogger(__name__)

#: Bump when a change to this module or an ``extract.report_*`` module changes
#: what it extracts: the registry re-extracts every report loaded by an older
#: version.
EXTRACTOR_VERSION = "4"

#: The readers :func:`parse_report_text` imports when first called, so that a
#: process that only handles the records (the sandbox's parent, the command
#: line) never compiles their patterns; the sandbox's workers preload them.
READER_MODULES = (
    "extract.normalise",
    "extract.report_dates",
    "extract.report_fields",
    "extract.report_judgements",
    "extract.report_mentions",
    "extract.report_requirements",
    "extract.report_text",
)

MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 200
# Drawing objects (text runs, paths, images) in the whole PDF. Real reports
# have at most about 10,000; a file with far more is stopped after a counted
# amount of work, the same on every machine, before the CPU limit is needed.
MAX_OBJECTS = 200_000

# ------------------------------------------------------------------ errors


class ReportError(ExtractError):
    "A report PDF could not be read"

    kind = "parse_error"


class NotPdf(ReportError):
    "The file is not a PDF"

    kind = "not_pdf"


class TruncatedPdf(ReportError):
    "The PDF ends before its end-of-file marker: the download was cut short"

    kind = "truncated"


class EncryptedPdf(ReportError):
    "The PDF needs a password to open"

    kind = "encrypted"


class PdfTooLarge(ReportError):
    "The file is larger than any inspection report"

    kind = "too_large"


class TooManyPages(ReportError):
    "The PDF has more pages than any inspection report"

    kind = "too_many_pages"


class ParseTimeout(ReportError):
    "Reading the PDF took longer than its time limit"

    kind = "timeout"


class ParseMemory(ReportError):
    "Reading the PDF needed more memory than its limit"

    kind = "memory"


class PdfParseError(ReportError):
    "The PDF library could not parse the file"

    kind = "parse_error"


class EmptyText(ReportError):
    "The PDF has no text layer (a scan, or blank pages)"

    kind = "empty_text"


class UnrecognisedLayout(ReportError):
    "The PDF has text but is not an inspection report layout we know"

    kind = "unrecognised_layout"


ERROR_CLASSES: dict[str, type[ReportError]] = {
    cls.kind: cls
    for cls in (
        NotPdf,
        TruncatedPdf,
        EncryptedPdf,
        PdfTooLarge,
        TooManyPages,
        ParseTimeout,
        ParseMemory,
        PdfParseError,
        EmptyText,
        UnrecognisedLayout,
    )
}
ERROR_KINDS = tuple(ERROR_CLASSES)


def report_error(kind: str, message: str) -> ReportError:
    """The error of class ``kind`` (``not_pdf`` …) with ``message``."""
    return ERROR_CLASSES.get(kind, PdfParseError)(message)


# ----------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class InspectionReport:
    urn: str
    inspection_date: str | None
    inspection_end_date: str | None
    inspection_type: str | None
    inspection_type_as_published: str | None
    layout: str
    framework: str | None
    judgements: Judgements
    previous_judgement: str | None
    previous_inspection_date: str | None
    enforcement_action_since_last: str | None
    inspection_history: tuple[PastInspection, ...]
    registered_provider: str | None
    registered_provider_address: str | None
    responsible_individual: str | None
    registered_manager: str | None
    inspectors: tuple[str, ...]
    places: int | None
    requirements: tuple[Requirement, ...]
    recommendations: tuple[Requirement, ...]
    missing_mentions: tuple[Mention, ...]
    other_mentions: tuple[Mention, ...]
    pages: int
    #: Why a field is None or was refused (one line each).
    problems: tuple[str, ...]
    extractor_version: str
    page_texts: tuple[str, ...] = field(repr=False)

    @property
    def mentions(self) -> tuple[Mention, ...]:
        return self.missing_mentions + self.other_mentions

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# ------------------------------------------------------------ reading text


def check_file(path: Path, *, max_bytes: int = MAX_BYTES) -> None:
    """Cheap checks before a PDF library sees the file."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(1024)
            fh.seek(max(0, size - 2048))
            tail = fh.read()
    except OSError as error:
        raise PdfParseError(f"{path.name}: cannot read it ({error.strerror})") from None
    if size == 0:
        raise NotPdf(f"{path.name}: the file is empty; download it again")
    if size > max_bytes:
        raise PdfTooLarge(
            f"{path.name}: {size:,} bytes, more than the {max_bytes:,} a report can be; "
            "check it is an inspection report"
        )
    if not looks_like_pdf(head):
        found = head[:20].decode("latin-1").strip()
        raise NotPdf(
            f"{path.name} byte 0: expected '%PDF-', found {found!r}; this is not a "
            "PDF (an HTML error page saved as .pdf?)"
        )
    if b"%%EOF" not in tail:
        raise TruncatedPdf(
            f"{path.name}: no '%%EOF' marker in the last 2 KB of {size:,} bytes; the "
            "file was cut short, download it again"
        )


def read_pages(
    path: Path, *, max_pages: int = MAX_PAGES, max_objects: int = MAX_OBJECTS
) -> list[str]:
    """The text of every page (pdfium), or a :class:`ReportError`."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        message = str(error)
        if "password" in message.casefold():
            raise EncryptedPdf(
                f"{path.name}: the PDF is encrypted with a password; it cannot be "
                "read without one"
            ) from None
        raise PdfParseError(
            f"{path.name}: the PDF library could not open it ({message}); the file "
            "is damaged"
        ) from None
    try:
        count = len(pdf)
        if count == 0:
            raise EmptyText(f"{path.name}: the PDF has no pages")
        if count > max_pages:
            raise TooManyPages(
                f"{path.name}: {count:,} pages, more than the {max_pages} a report "
                "can have; check it is an inspection report"
            )
        texts = []
        objects = 0
        for number in range(count):
            page = pdf[number]
            try:
                objects += pdfium_raw.FPDFPage_CountObjects(page.raw)
                if objects > max_objects:
                    raise ParseTimeout(
                        f"{path.name} page {number + 1}: more than {max_objects:,} "
                        "drawing objects so far, far more than any report has; "
                        "reading it would take too long"
                    )
                textpage = page.get_textpage()
                try:
                    texts.append(textpage.get_text_range())
                finally:
                    textpage.close()
            finally:
                page.close()
        return texts
    except pdfium.PdfiumError as error:
        raise PdfParseError(
            f"{path.name}: the PDF library failed reading the pages ({error})"
        ) from None
    finally:
        pdf.close()


def extract_report(
    path: Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_pages: int = MAX_PAGES,
    max_objects: int = MAX_OBJECTS,
) -> InspectionReport:
    """Read one inspection report PDF. Raises a :class:`ReportError`."""
    path = Path(path)
    check_file(path, max_bytes=max_bytes)
    raw_pages = read_pages(path, max_pages=max_pages, max_objects=max_objects)
    return parse_report_text(raw_pages, name=path.name)


def parse_report_text(
    raw_pages: list[str], *, name: str = "report"
) -> InspectionReport:
    """The structured report from the text of its pages (what
    :func:`extract_report` does after reading the PDF)."""
    from extract.normalise import framework_for
    from extract.report_dates import parse_date_range
    from extract.report_fields import (
        find_inspection_type,
        find_inspectors,
        find_places,
        find_report_urn,
        first_value,
        inspection_dates,
        labelled_values,
        labels_first_block,
        last_value,
    )
    from extract.report_judgements import find_judgements, previous_judgement
    from extract.report_mentions import find_mentions
    from extract.report_requirements import (
        find_inspection_history,
        find_recommendations,
        find_requirements,
    )
    from extract.report_text import clean_page, detect_layout, strip_furniture

    text_pages = [clean_page(t) for t in raw_pages]
    if sum(len(re.sub(r"\s", "", t)) for t in text_pages) < 20:
        raise EmptyText(
            f"{name}: {len(text_pages)} page(s) but no text layer (a scan or blank "
            "pages); it needs OCR"
        )
    pages = strip_furniture([t.split("\n") for t in text_pages])
    layout, title = detect_layout(pages)
    if layout is None:
        raise UnrecognisedLayout(
            f"{name} page 1: expected an Ofsted children's home report title such "
            f"as 'Full inspection' or \"Children's homes inspection - Full\", found "
            f"{(title or '')[:80]!r}; is this an inspection report?"
        )
    problems: list[str] = []
    values = labelled_values(pages)
    if layout == "nms2010":
        for key, found in labels_first_block(pages).items():
            values[key] = found + values.get(key, [])

    urn = find_report_urn(values, text_pages)
    if urn is None:
        raise UnrecognisedLayout(
            f"{name}: no unique reference number (SC123456 or 7 digits) anywhere "
            "on pages 1-2; is this a children's home report?"
        )

    start, end = inspection_dates(values, problems)
    previous_date = parse_date_range(first_value(values, "previous_date"))

    inspection_type, type_printed = find_inspection_type(
        layout, title, values, problems
    )

    judgements = find_judgements(layout, pages, text_pages, problems)
    previous = previous_judgement(first_value(values, "previous_judgement"), problems)
    missing, other = find_mentions(pages)
    provider = last_value(values, "provider")
    return InspectionReport(
        urn=urn,
        inspection_date=start.isoformat() if start else None,
        inspection_end_date=end.isoformat() if end else None,
        inspection_type=inspection_type,
        inspection_type_as_published=type_printed,
        layout=layout,
        framework=framework_for(start),
        judgements=judgements,
        previous_judgement=previous,
        previous_inspection_date=previous_date[0].isoformat()
        if previous_date
        else None,
        enforcement_action_since_last=next(
            (v.strip() for _, v in values.get("enforcement", []) if v.strip()), None
        ),
        inspection_history=tuple(find_inspection_history(pages)),
        registered_provider=provider,
        registered_provider_address=last_value(values, "provider_address"),
        responsible_individual=last_value(values, "responsible_individual"),
        registered_manager=last_value(values, "manager"),
        inspectors=find_inspectors(values),
        places=find_places(pages),
        requirements=tuple(find_requirements(pages)),
        recommendations=tuple(find_recommendations(pages)),
        missing_mentions=tuple(missing),
        other_mentions=tuple(other),
        pages=len(text_pages),
        problems=tuple(problems),
        extractor_version=EXTRACTOR_VERSION,
        page_texts=tuple(text_pages),
    )
