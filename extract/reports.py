"""Read an Ofsted children's home inspection report PDF into a typed record.

``extract_report(path)`` is pure (a file in, an :class:`InspectionReport` out,
no network, no database) and raises one of the :class:`ReportError` classes
below for a file it cannot read, each with a ``kind`` from :data:`ERROR_KINDS`.
It trusts the PDF library with untrusted input, so batch callers run it in a
child process with limits: see ``extract.sandbox``.

Text comes from pdfium (``pypdfium2``, which pdfplumber already brings), the
fastest correct path. Fields are found by their labels, tolerating labels that
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
import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from extract.errors import ExtractError
from extract.normalise import (
    ADEQUATE,
    DECLINED,
    FULL,
    GOOD,
    IMPROVED,
    INADEQUATE,
    INTERIM,
    NOT_JUDGED,
    OUTSTANDING,
    REQUIRES_IMPROVEMENT,
    SATISFACTORY,
    SUSTAINED,
    clean_text,
    find_urn,
    fold,
    framework_for,
    normalise_event_type,
    normalise_judgement,
    normalise_urn,
    number_from_words,
    parse_date,
)

logger = logging.getLogger(__name__)

#: Bump when a change to this module changes what it extracts: the registry
#: re-extracts every report loaded by an older version.
EXTRACTOR_VERSION = "3"

MAX_BYTES = 50 * 1024 * 1024
MAX_PAGES = 200

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
class Judgements:
    overall: str | None = None
    helped_and_protected: str | None = None
    leaders_and_managers: str | None = None
    #: The words as printed, per judgement (``'requires improvement'``).
    as_published: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Requirement:
    """A statutory requirement or a recommendation."""

    kind: str  # "requirement" or "recommendation"
    text: str
    regulation: str | None
    due_date: str | None
    page: int


@dataclass(frozen=True, slots=True)
class PastInspection:
    """A row of the report's "Recent inspection history" table."""

    inspection_date: str
    inspection_type: str | None
    inspection_type_as_published: str
    judgement: str | None


@dataclass(frozen=True, slots=True)
class Mention:
    """A sentence about children going missing (``missing``/``away``) or about
    ``exploitation`` or the ``police``; ``count`` only when the sentence states
    one ("went missing 12 times", "three missing episodes")."""

    kind: str
    page: int
    quote: str
    count: int | None


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
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n\x00").startswith(b"%PDF-"):
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


def read_pages(path: Path, *, max_pages: int = MAX_PAGES) -> list[str]:
    """The text of every page (pdfium), or a :class:`ReportError`."""
    import pypdfium2 as pdfium

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
        for number in range(count):
            page = pdf[number]
            try:
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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean_page(text: str) -> str:
    """pdfium's text with tidy line breaks, ligatures unfolded, curly quotes
    straightened and no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u00a0", " ").replace("\u00ad", "")
    text = _CONTROL.sub("", text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(lines)


# ---------------------------------------------------------------- page lines

_FURNITURE = re.compile(
    r"^(?:\d{1,3}|page \d+(?: of \d+)?|\d+ of \d+|"
    r"inspection report (?:for )?children's home:? ?(?:sc\d{6}|\d{7})(?: \d{1,3})?)$",
    re.IGNORECASE,
)


def _strip_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Drop running headers, footers and page numbers (the first and last two
    lines of a page when they repeat across pages or look like furniture)."""
    edge_counts: dict[str, int] = {}
    for lines in pages:
        for line in {*lines[:2], *lines[-2:]}:
            key = re.sub(r"\s*\d{1,3}$", "", line)
            edge_counts[key] = edge_counts.get(key, 0) + 1
    repeated = {k for k, n in edge_counts.items() if n >= 2 and len(pages) >= 2 and k}
    out = []
    for lines in pages:
        kept = []
        for index, line in enumerate(lines):
            if not line:
                continue
            at_edge = index < 2 or index >= len(lines) - 2
            key = re.sub(r"\s*\d{1,3}$", "", line)
            if at_edge and (
                _FURNITURE.match(line) or (key in repeated and find_urn(key))
            ):
                continue
            kept.append(line)
        out.append(kept)
    return out


# ---------------------------------------------------------------- vocabulary

_JUDGEMENT_WORDS = (
    "requires improvement to be good",
    "requires improvement",
    "declined in effectiveness",
    "declined effectiveness",
    "improved effectiveness",
    "sustained effectiveness",
    "not judged",
    "outstanding",
    "inadequate",
    "satisfactory",
    "adequate",
    "good",
)
_JUDGEMENT = (
    r"(?<![a-z])(?:"
    + "|".join(w.replace(" ", r"\s+") for w in _JUDGEMENT_WORDS)
    + r")(?![a-z])"
)

ERA_VOCABULARY = {
    "nms2010": {OUTSTANDING, GOOD, SATISFACTORY, ADEQUATE, INADEQUATE, NOT_JUDGED},
    "2014": {OUTSTANDING, GOOD, ADEQUATE, INADEQUATE, NOT_JUDGED},
    "2015": {OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT, INADEQUATE, NOT_JUDGED},
    "sccif": {OUTSTANDING, GOOD, REQUIRES_IMPROVEMENT, INADEQUATE, NOT_JUDGED},
    "interim": {IMPROVED, SUSTAINED, DECLINED, NOT_JUDGED},
    "monitoring": set(),
    "assurance": set(),
}

_JUDGEMENT_LABELS = {
    "overall": (
        "The overall experiences and progress of children and young people living "
        "in the home are",
        "Overall experiences and progress of children and young people, taking "
        "into account",
        "Overall experiences and progress of children and young people",
        "Overall effectiveness",
        "Judgement at this interim inspection",
    ),
    "helped_and_protected": (
        "How well children and young people are helped and protected",
        "The safety of children and young people",
    ),
    "leaders_and_managers": (
        "The impact and effectiveness of leaders and managers",
        "The effectiveness of leaders and managers",
        "Leadership and management",
    ),
}

#: Which judgements each layout gives.
_EXPECTED = {
    "nms2010": ("overall",),
    "2014": ("overall", "helped_and_protected", "leaders_and_managers"),
    "2015": ("overall", "helped_and_protected", "leaders_and_managers"),
    "sccif": ("overall", "helped_and_protected", "leaders_and_managers"),
    "interim": ("overall",),
    "monitoring": (),
    "assurance": (),
}

#: The standard sentence printed under each overall judgement.
_STANDARD_SENTENCES = (
    (re.compile(r"consistently\s+exceed\s+the\s+standards?\s+of\s+good"), OUTSTANDING),
    (re.compile(r"meets?\s+the\s+requirements\s+for\s+good"), GOOD),
    (
        re.compile(r"not\s+yet\s+delivering\s+good\s+help\s+and\s+care"),
        REQUIRES_IMPROVEMENT,
    ),
    (re.compile(r"serious\s+and(?:/or)?\s+widespread\s+failures"), INADEQUATE),
)


def _label_pattern(label: str, *, interleave: bool) -> str:
    words = re.findall(r"[\w']+", label.casefold())
    if not interleave:
        return r"[\s,]+".join(re.escape(w) for w in words)
    parts = [re.escape(words[0])]
    for number, word in enumerate(words[1:]):
        parts.append(rf"[\s,]+(?:(?P<g{number}>{_JUDGEMENT})[\s,]+)?{re.escape(word)}")
    return "".join(parts)


# After a judgement word: a line holding only another judgement word means a
# column of judgements (every label, then every judgement), where the word
# after the last label belongs to the first label. Refuse it there.
_COLUMN_NEXT = rf"[ \t]*\n[ \t]*{_JUDGEMENT}[ \t.]*(?:\n|$)"


def _compile_judgement_label(label: str) -> re.Pattern[str]:
    return re.compile(
        r"(?:^|\n)[ \t]*" + _label_pattern(label, interleave=True) + r"[ \t]*:?"
        r"(?:[ \t]*\n?[^\n]{0,60}?\bis\s+judged\s+to\s+be)?"
        rf"[\s:,-]*(?P<after>{_JUDGEMENT}(?!{_COLUMN_NEXT}))?",
        re.IGNORECASE,
    )


def _label_keyword(label: str) -> str:
    """The longest word of a label: present on any page that holds it."""
    return max(re.findall(r"[\w']+", label.casefold()), key=len)


_JUDGEMENT_PATTERNS = {
    key: [(label, _compile_judgement_label(label)) for label in labels]
    for key, labels in _JUDGEMENT_LABELS.items()
}

# ------------------------------------------------------------ labelled fields

_FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "urn": ("Unique reference number",),
    "dates": ("Inspection dates", "Inspection date", "Visit dates", "Visit date"),
    "type": ("Type of inspection",),
    "provision": ("Provision sub-type", "Provision subtype"),
    "provider_address": ("Registered provider address", "Registered person address"),
    "provider": ("Registered provider", "Registered person"),
    "responsible_individual": ("Responsible individual",),
    "manager": ("Registered manager",),
    "inspectors": ("Inspectors", "Inspector"),
    "previous_judgement": (
        "Previous inspection judgement",
        "Overall judgement at last inspection",
        "Judgement at last inspection",
    ),
    "previous_date": ("Date of last inspection", "Date of previous inspection"),
    "enforcement": (
        "Enforcement action since the last inspection",
        "Enforcement action since last inspection",
    ),
}
_MAX_VALUE_LINES = {"provider_address": 4, "inspectors": 6, "enforcement": 3}

_HEADINGS = (
    "This inspection",
    "Summary of findings",
    "Information about this children's home",
    "Information about this inspection",
    "Inspection judgements",
    "Recent inspection history",
    "What does the children's home need to do to improve?",
    "What must the service do to improve?",
    "Statutory requirements",
    "Recommendations",
    "Children's home details",
    "Full report",
    "Service information",
    "Full inspection",
    "Interim inspection",
    "Monitoring visit",
    "Monitoring inspection",
    "Assurance visit",
    "Inspected under the social care common inspection framework",
    "The inspection judgements and what they mean",
    "Brief description of the service",
    "Overall effectiveness",
)


def _line_label_regex(label: str) -> str:
    return r"[\s,]*".join(
        re.escape(w) for w in re.findall(r"[\w'-]+", label.casefold())
    )


_FIELD_LINE_PATTERNS = [
    (key, label, re.compile(_line_label_regex(label) + r"(?![\w'])", re.IGNORECASE))
    for key, labels in _FIELD_LABELS.items()
    for label in labels
]
_FIELD_LINE_PATTERNS.sort(key=lambda item: -len(item[1]))
_FIELD_FIRST_WORDS = {
    label.split(" ", 1)[0].casefold()
    for labels in _FIELD_LABELS.values()
    for label in labels
}
_STOP_PATTERNS = [
    re.compile(_line_label_regex(h) + r"(?![\w'])", re.IGNORECASE)
    for h in (*_HEADINGS, *(lb for lbs in _JUDGEMENT_LABELS.values() for lb in lbs))
]


def _match_label_at(lines: list[str], index: int) -> tuple[str, int, str] | None:
    """A field label starting line ``index`` (possibly wrapped over up to three
    lines): (field key, lines used, the rest of the last line)."""
    first = lines[index]
    if not first or not first[0].isupper():
        return None
    if first.split(" ", 1)[0].rstrip(":,").casefold() not in _FIELD_FIRST_WORDS:
        return None
    for span in (1, 2, 3):
        if index + span > len(lines):
            break
        joined = " ".join(lines[index : index + span])
        for key, _label, pattern in _FIELD_LINE_PATTERNS:
            match = pattern.match(joined)
            if not match:
                continue
            if span > 1 and match.end() <= len(
                " ".join(lines[index : index + span - 1])
            ):
                continue  # matched with fewer lines: that span is tried first
            after = joined[match.end() :]
            rest = after.lstrip(" :").strip()
            # "Label value" without a colon: only a short value that starts
            # like one ("Inspectors have looked..." is a sentence)
            if (
                rest
                and ":" not in after[: len(after) - len(rest)]
                and (len(rest) > 80 or not (rest[0].isupper() or rest[0].isdigit()))
            ):
                continue
            return key, span, rest
    return None


def _is_stop(line: str) -> bool:
    if not line or not line[0].isupper():
        return False
    return any(p.match(line) for p in _STOP_PATTERNS)


def _labelled_values(pages: list[list[str]]) -> dict[str, list[tuple[int, str]]]:
    """Every labelled value: ``{field: [(page, value), ...]}`` in page order.

    Handles ``Label: value``, ``Label value`` and a label on its own (wrapped)
    line(s) with the value below it."""
    found: dict[str, list[tuple[int, str]]] = {}
    for page_number, lines in enumerate(pages, start=1):
        index = 0
        while index < len(lines):
            matched = _match_label_at(lines, index)
            if matched is None:
                index += 1
                continue
            key, span, rest = matched
            index += span
            values = [rest] if rest else []
            limit = _MAX_VALUE_LINES.get(key, 2)
            multi_line = key in _MAX_VALUE_LINES or key == "provider"
            while (
                index < len(lines)
                and len(values) < limit
                and (multi_line or not values)
                and _match_label_at(lines, index) is None
                and not _is_stop(lines[index])
            ):
                values.append(lines[index])
                index += 1
            value = "\n".join(values) if key == "inspectors" else " ".join(values)
            found.setdefault(key, []).append((page_number, value))
    return found


# ---------------------------------------------------------------------- dates

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|"
    r"aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_SAME_MONTH = re.compile(
    rf"^{_DAY}\s*(?:-|–|to|and|&)\s*{_DAY}\s+({_MONTH})\.?,?\s+(\d{{4}})$",
    re.IGNORECASE,
)
_TWO_MONTHS = re.compile(
    rf"^{_DAY}\s+({_MONTH})\s*(?:-|–|to|and|&)\s*{_DAY}\s+({_MONTH})\.?,?\s+(\d{{4}})$",
    re.IGNORECASE,
)
_LIST_DAYS = re.compile(
    rf"^((?:\d{{1,2}}(?:st|nd|rd|th)?\s*,\s*)+\d{{1,2}}(?:st|nd|rd|th)?)\s*(?:and|&)\s*"
    rf"{_DAY}\s+({_MONTH})\.?,?\s+(\d{{4}})$",
    re.IGNORECASE,
)
_ANY_DATE = re.compile(
    rf"\b(\d{{1,2}}/\d{{1,2}}/\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+\d{{4}})\b",
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


# ---------------------------------------------------------------- mentions

_NUMBER_WORD = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    r"(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|"
    r"eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|"
    r"(?:a|one|two|three)\s+hundred(?:\s+and\s+\w+)?|no)"
)
_COUNT = re.compile(
    rf"(?<![\w/.])(?P<n>\d{{1,4}}|{_NUMBER_WORD})\s+"
    r"(?:(?:separate|further|more|missing|reported|recorded|unauthorised|different|"
    r"individual|such)\s+){0,2}"
    r"(?:times|occasions|episodes|incidents|instances|absences)\b",
    re.IGNORECASE,
)
_ONCE_TWICE = re.compile(
    r"\b(?:missing|away|absent)\b[^.]{0,40}?\b(?P<n>once|twice)\b", re.IGNORECASE
)

_MENTION_PATTERNS = {
    "missing": re.compile(
        r"\bmissing\s+from\b|\bwent\s+missing\b|\bgo(?:es|ing|ne)?\s+missing\b|"
        r"\b(?:been|was|were|is|are|reported)\s+missing\b|"
        r"\bmissing\s+(?:episodes?|incidents?|children|child|young\s+(?:person|people)|"
        r"protocols?|procedures?|persons?)\b|"
        r"\bepisodes?\s+of\s+(?:going\s+|being\s+)?missing\b|"
        r"\bincidents?\s+of\s+(?:children\s+|young\s+people\s+)?(?:going\s+)?missing\b|"
        r"\breturn(?:\s+home)?\s+interviews?\b",
        re.IGNORECASE,
    ),
    "away": re.compile(
        r"\baway\s+from\s+(?:the\s+|their\s+)?(?:home|placement)\b|"
        r"\babsent\s+without\s+(?:authorisation|permission)\b|"
        r"\bunauthorised\s+absences?\b",
        re.IGNORECASE,
    ),
    "exploitation": re.compile(
        r"\bexploit(?:ation|ed)\b|\bCSE\b|\bCCE\b|\bcounty\s+lines\b|"
        r"\bgroom(?:ing|ed)\b|\btrafficking\b",
    ),
    "police": re.compile(r"\bpolice\b", re.IGNORECASE),
}
_MENTION_PATTERNS["exploitation"] = re.compile(
    _MENTION_PATTERNS["exploitation"].pattern, re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(•])")


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs and headings: a line ends a block when it ends a sentence or
    is clearly shorter than the page's full lines."""
    if not lines:
        return []
    full = max(len(line) for line in lines)
    blocks, current = [], []
    for line in lines:
        if line.startswith(("•", "●", "▪")) and current:
            blocks.append(" ".join(current))
            current = []
        current.append(line)
        if line.endswith((".", "!", "?", ":")) or len(line) < 0.7 * full:
            blocks.append(" ".join(current))
            current = []
    if current:
        blocks.append(" ".join(current))
    return blocks


def sentences(lines: list[str]) -> list[str]:
    out = []
    for block in _blocks(lines):
        for sentence in _SENTENCE_END.split(block):
            sentence = sentence.strip().lstrip("•●▪").strip()
            if sentence:
                out.append(sentence)
    return out


def count_in(sentence: str) -> int | None:
    """The number of episodes a sentence states, or None (none, or several
    different ones)."""
    counts = set()
    for match in _COUNT.finditer(sentence):
        value = match["n"]
        number = int(value) if value.isdigit() else number_from_words(value)
        if number is not None:
            counts.add(number)
    for match in _ONCE_TWICE.finditer(sentence):
        counts.add(1 if match["n"].casefold() == "once" else 2)
    return counts.pop() if len(counts) == 1 else None


def find_mentions(pages: list[list[str]]) -> tuple[list[Mention], list[Mention]]:
    """(missing/away mentions, exploitation/police mentions)."""
    missing, other = [], []
    for page_number, lines in enumerate(pages, start=1):
        for sentence in sentences(lines):
            quote = sentence if len(sentence) <= 600 else sentence[:597] + "…"
            if _MENTION_PATTERNS["missing"].search(sentence):
                missing.append(
                    Mention("missing", page_number, quote, count_in(sentence))
                )
            elif _MENTION_PATTERNS["away"].search(sentence):
                missing.append(Mention("away", page_number, quote, count_in(sentence)))
            for kind in ("exploitation", "police"):
                if _MENTION_PATTERNS[kind].search(sentence):
                    other.append(Mention(kind, page_number, quote, None))
    return missing, other


# ------------------------------------------------------------- requirements

_REGULATION = re.compile(
    r"\(\s*(Regulations?\s+(?:[^()]|\([^()]*\))*)\)\s*\.?\s*$", re.IGNORECASE
)
_GUIDE = re.compile(
    r"\(\s*(['\"]?(?:Guide|NMS|National Minimum Standards?|Standard)\b(?:[^()]|\([^()]*\))*)\)\s*\.?\s*$",
    re.IGNORECASE,
)
_DUE_DATE = re.compile(
    rf"(?:^|\s)(\d{{1,2}}/\d{{1,2}}/\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}})$",
    re.IGNORECASE,
)
_TABLE_HEADER = re.compile(
    r"^(?:requirement|standard|action|due date|\s)+$", re.IGNORECASE
)
_SECTION_END = re.compile(
    r"^(?:Recommendations|Information about this inspection|Children's home details|"
    r"Full report|Inspection judgements|Service information|Summary of findings)\b"
)


def _section(pages: list[list[str]], start: re.Pattern[str]) -> list[tuple[int, str]]:
    """Lines (with their page) after the first line matching ``start`` up to
    the next section heading."""
    out: list[tuple[int, str]] = []
    inside = False
    for page_number, lines in enumerate(pages, start=1):
        for line in lines:
            if not inside:
                if start.match(line):
                    inside = True
                continue
            if _SECTION_END.match(line) and not start.match(line):
                return out
            out.append((page_number, line))
    return out


def _split_reference(text: str, pattern: re.Pattern[str]) -> tuple[str, str | None]:
    match = pattern.search(text)
    if not match:
        return text.strip(), None
    return text[: match.start()].strip(), re.sub(r"\s+", " ", match.group(1)).strip()


def find_requirements(pages: list[list[str]]) -> list[Requirement]:
    lines = _section(pages, re.compile(r"^Statutory requirements\b"))
    # skip the standard introduction, up to the table header
    for index, (_page, line) in enumerate(lines):
        if _TABLE_HEADER.match(line) and "due date" in line.casefold():
            lines = lines[index + 1 :]
            break
    items: list[Requirement] = []
    current: list[str] = []
    page_of_item = None
    for page_number, line in lines:
        if _TABLE_HEADER.match(line):
            continue  # a header repeated after a page break
        match = _DUE_DATE.search(line)
        text_part = line[: match.start()].strip() if match else line
        if text_part:
            if page_of_item is None:
                page_of_item = page_number
            current.append(text_part)
        if match:
            due = parse_date(match.group(1))
            text, regulation = _split_reference(" ".join(current), _REGULATION)
            if text:
                items.append(
                    Requirement(
                        "requirement",
                        text,
                        regulation,
                        due.isoformat() if due else None,
                        page_of_item or page_number,
                    )
                )
            current, page_of_item = [], None
    if current:
        text, regulation = _split_reference(" ".join(current), _REGULATION)
        if text:
            items.append(
                Requirement("requirement", text, regulation, None, page_of_item or 1)
            )
    return items


def find_recommendations(pages: list[list[str]]) -> list[Requirement]:
    lines = _section(pages, re.compile(r"^Recommendations$"))
    items: list[tuple[int, list[str]]] = []
    for page_number, line in lines:
        if line.startswith(("•", "●", "▪", "- ")):
            items.append((page_number, [line.lstrip("•●▪- ").strip()]))
        elif items:
            items[-1][1].append(line)
    out = []
    for page_number, parts in items:
        text, reference = _split_reference(" ".join(parts), _GUIDE)
        if not reference:
            text, reference = _split_reference(text, _REGULATION)
        out.append(Requirement("recommendation", text, reference, None, page_number))
    return out


# -------------------------------------------------------- inspection history

_HISTORY_ROW = re.compile(
    r"^(\d{1,2}/\d{1,2}/\d{4})\s+(.+?)(?:\s+(" + _JUDGEMENT + r"))?\s*$", re.IGNORECASE
)


def find_inspection_history(pages: list[list[str]]) -> list[PastInspection]:
    """The rows of the "Recent inspection history" table (SCCIF reports)."""
    rows = []
    for _page, line in _section(pages, re.compile(r"^Recent inspection history\b")):
        match = _HISTORY_ROW.match(line)
        if not match:
            if rows and not line.casefold().startswith("inspection date"):
                break  # the table has ended
            continue
        day = parse_date(match.group(1))
        if day is None:
            continue
        printed = match.group(2).strip()
        judgement = match.group(3)
        rows.append(
            PastInspection(
                day.isoformat(),
                normalise_event_type(printed),
                printed,
                normalise_judgement(re.sub(r"\s+", " ", judgement))
                if judgement
                else None,
            )
        )
    return rows


# --------------------------------------------------------------- the report

_TITLES = (
    (re.compile(r"^Inspection report for children's home$", re.I), "nms2010"),
    (re.compile(r"^Children's homes inspection\s*\W*\s*(Full|Interim)\b", re.I), None),
    (re.compile(r"^Full inspection$", re.I), "sccif"),
    (re.compile(r"^Interim inspection$", re.I), "interim"),
    (re.compile(r"^Monitoring (?:visit|inspection)$", re.I), "monitoring"),
    (re.compile(r"^Assurance visit$", re.I), "assurance"),
)


def detect_layout(pages: list[list[str]]) -> tuple[str | None, str | None]:
    """(layout, the title line) from the first page."""
    first = pages[0][:12] if pages else []
    text = fold(" ".join(" ".join(p) for p in pages[:3]))
    # a judgement word can sit between the wrapped lines of a label
    text = re.sub(r"\s+", " ", re.sub(_JUDGEMENT, " ", text))
    for line in first:
        for pattern, layout in _TITLES:
            if pattern.match(line):
                if layout is None:
                    if "overall experiences and progress" in text:
                        return "2015", line
                    if "overall effectiveness" in text:
                        return "2014", line
                    return None, line
                return layout, line
    # Text extracted from tagged PDFs can run the title into its neighbours
    # ("Registered provider: X Full inspection Inspected under the social
    # care common inspection framework"): look for the phrase itself.
    page_one = fold(" ".join(pages[0])) if pages else ""
    if "social care common inspection framework" in page_one:
        for phrase, layout in _TITLE_PHRASES:
            if match := re.search(phrase, page_one):
                return layout, match.group(0).capitalize()
    return None, first[0] if first else None


_TITLE_PHRASES = (
    (r"\binterim inspection\b", "interim"),
    (r"\bmonitoring (?:visit|inspection)\b", "monitoring"),
    (r"\bassurance visit\b", "assurance"),
    (r"\bfull inspection\b", "sccif"),
)


@dataclass
class _Found:
    value: str | None
    as_published: str | None
    problem: str | None = None


_LABEL_KEYS = {
    fold(label).rstrip(":, "): key
    for key, labels in _JUDGEMENT_LABELS.items()
    for label in labels
}
_JUDGEMENT_LINE = re.compile(_JUDGEMENT, re.IGNORECASE)


def column_judgements(pages: list[list[str]]) -> dict[str, list[tuple[str, int]]]:
    """Judgement tables whose text comes out column by column (a tagged
    table: every label, then every judgement): a run of N label lines followed
    by exactly N lines that are each only a judgement word, zipped in order."""
    found: dict[str, list[tuple[str, int]]] = {}
    for page_number, lines in enumerate(pages, start=1):
        index = 0
        while index < len(lines):
            keys = []
            while index + len(keys) < len(lines):
                key = _LABEL_KEYS.get(fold(lines[index + len(keys)]).rstrip(":, "))
                if key is None:
                    break
                keys.append(key)
            if len(keys) < 2:
                index += max(1, len(keys))
                continue
            values = lines[index + len(keys) : index + 2 * len(keys)]
            if len(values) == len(keys) and all(
                _JUDGEMENT_LINE.fullmatch(fold(v)) for v in values
            ):
                for key, value in zip(keys, values, strict=True):
                    found.setdefault(key, []).append((value, page_number))
            index += len(keys)
    return found


def _find_judgement(
    key: str,
    text_pages: list[str],
    layout: str,
    columns: dict[str, list[tuple[str, int]]] | None = None,
) -> _Found:
    name = key.replace("_", " ")
    seen: list[tuple[str, str, int]] = []  # (normalised, as printed, page)
    labels_seen = 0
    for printed, page_number in (columns or {}).get(key, []):
        labels_seen += 1
        seen.append((normalise_judgement(printed) or "", printed, page_number))
    for page_number, text in enumerate(text_pages, start=1):
        lowered = text.casefold()
        for label, pattern in _JUDGEMENT_PATTERNS[key]:
            if _label_keyword(label) not in lowered:
                continue  # cheap test before the expensive pattern
            for match in pattern.finditer(text):
                labels_seen += 1
                words = [v for k, v in match.groupdict().items() if v]
                if len(words) > 1:
                    return _Found(
                        None,
                        None,
                        f"{name} judgement: page {page_number} has several judgement "
                        f"words in one label ({', '.join(words)}); left empty",
                    )
                if words:
                    printed = re.sub(r"\s+", " ", words[0])
                    seen.append(
                        (normalise_judgement(printed) or "", printed, page_number)
                    )
    if not seen:
        if labels_seen:
            return _Found(
                None,
                None,
                f"{name} judgement: the label is there but no judgement word next to "
                "it; left empty",
            )
        return _Found(None, None, f"{name} judgement: label not found; left empty")
    values = {v for v, _, _ in seen}
    if len(values) > 1:
        listing = ", ".join(f"{p!r} (page {n})" for _, p, n in seen)
        return _Found(
            None,
            None,
            f"{name} judgement: the report disagrees with itself ({listing}); left empty",
        )
    value, printed, page = seen[0]
    if value not in ERA_VOCABULARY[layout]:
        return _Found(
            None,
            printed,
            f"{name} judgement: {printed!r} (page {page}) is not a judgement of a "
            f"{layout} report; left empty",
        )
    return _Found(value, printed)


def _judgement_word(text: str | None) -> str | None:
    """A judgement printed as words (a report never prints Ofsted's numeric
    codes, and ``normalise_judgement`` would read '3' as one)."""
    if not text or any(c.isdigit() for c in text):
        return None
    return normalise_judgement(text)


def _standard_sentence(text: str) -> set[str]:
    folded = fold(text)
    return {value for pattern, value in _STANDARD_SENTENCES if pattern.search(folded)}


def _first(values: dict[str, list[tuple[int, str]]], key: str) -> str | None:
    for _page, value in values.get(key, []):
        if clean_text(value):
            return clean_text(value)
    return None


def _last(values: dict[str, list[tuple[int, str]]], key: str) -> str | None:
    for _page, value in reversed(values.get(key, [])):
        if clean_text(value):
            return clean_text(value)
    return None


_NMS_LABELS = {
    "unique reference number": "urn",
    "inspection date": "dates",
    "inspector": "inspectors",
    "type of inspection": "type",
    "date of last inspection": "previous_date",
}


def _labels_first_block(pages: list[list[str]]) -> dict[str, list[tuple[int, str]]]:
    """The 2010 layout: a run of labels, then their values in the same order."""
    lines = pages[0] if pages else []
    found: dict[str, list[tuple[int, str]]] = {}
    for index, line in enumerate(lines):
        if fold(line) != "unique reference number":
            continue
        labels = []
        cursor = index
        while cursor < len(lines) and fold(lines[cursor]) in _NMS_LABELS:
            labels.append(_NMS_LABELS[fold(lines[cursor])])
            cursor += 1
        values = lines[cursor : cursor + len(labels)]
        if len(values) == len(labels):
            for key, value in zip(labels, values, strict=True):
                found.setdefault(key, []).append((1, value))
        break
    return found


_PLACES = (
    re.compile(
        r"(?:care|accommodation)\s+for\s+up\s+to\s+(\w+(?:-\w+)?)\s+(?:children|young)",
        re.I,
    ),
    re.compile(r"maximum\s+of\s+(\w+(?:-\w+)?)\s+(?:children|young)", re.I),
    re.compile(r"registered\s+for\s+(\w+(?:-\w+)?)\s+(?:children|places|young)", re.I),
)

_INSPECTOR_SUFFIX = re.compile(
    r",?\s*(?:social care (?:regulatory )?inspector|senior social care inspector|"
    r"her majesty's inspector|his majesty's inspector|hmi|lead inspector|inspector)$",
    re.IGNORECASE,
)

_NMS_TYPES = {"key": FULL, "full": FULL, "interim": INTERIM}


def _inspection_type(
    layout: str, title: str | None, values: dict, problems: list[str]
) -> tuple[str | None, str | None]:
    printed = _first(values, "type")
    if layout in ("sccif", "interim", "monitoring", "assurance"):
        printed = title
        return normalise_event_type(title), title
    if layout in ("2014", "2015"):
        if printed is None and title:
            printed = re.sub(r"^.*inspection\W*", "", title, flags=re.I)
        return normalise_event_type(printed), printed
    if printed is None:
        problems.append("inspection type: 'Type of Inspection' not found; left empty")
        return None, None
    kind = _NMS_TYPES.get(fold(printed)) or normalise_event_type(printed)
    if kind is None:
        problems.append(
            f"inspection type: {printed!r} has no equivalent among the registry's "
            "inspection types; left empty"
        )
    return kind, printed


def extract_report(
    path: Path, *, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES
) -> InspectionReport:
    """Read one inspection report PDF. Raises a :class:`ReportError`."""
    path = Path(path)
    check_file(path, max_bytes=max_bytes)
    raw_pages = read_pages(path, max_pages=max_pages)
    return parse_report_text(raw_pages, name=path.name)


def parse_report_text(
    raw_pages: list[str], *, name: str = "report"
) -> InspectionReport:
    """The structured report from the text of its pages (what
    :func:`extract_report` does after reading the PDF)."""
    text_pages = [clean_page(t) for t in raw_pages]
    if sum(len(re.sub(r"\s", "", t)) for t in text_pages) < 20:
        raise EmptyText(
            f"{name}: {len(text_pages)} page(s) but no text layer (a scan or blank "
            "pages); it needs OCR"
        )
    pages = _strip_furniture([t.split("\n") for t in text_pages])
    layout, title = detect_layout(pages)
    if layout is None:
        raise UnrecognisedLayout(
            f"{name} page 1: expected an Ofsted children's home report title such "
            f"as 'Full inspection' or \"Children's homes inspection - Full\", found "
            f"{(title or '')[:80]!r}; is this an inspection report?"
        )
    problems: list[str] = []
    values = _labelled_values(pages)
    if layout == "nms2010":
        for key, found in _labels_first_block(pages).items():
            values[key] = found + values.get(key, [])

    # URN: the labelled value, else the first URN-shaped token
    urn = None
    for _page, value in values.get("urn", []):
        urn = normalise_urn(value) or find_urn(value)
        if urn:
            break
    if urn is None:
        urn = find_urn("\n".join(text_pages[:2]))
    if urn is None:
        raise UnrecognisedLayout(
            f"{name}: no unique reference number (SC123456 or 7 digits) anywhere "
            "on pages 1-2; is this a children's home report?"
        )

    # dates
    start = end = None
    printed_dates = _first(values, "dates")
    parsed = parse_date_range(printed_dates)
    if parsed is None and printed_dates:
        match = _ANY_DATE.search(printed_dates)
        parsed = parse_date_range(match.group(1)) if match else None
    if parsed:
        start, end = parsed
    else:
        problems.append(
            f"inspection date: {printed_dates!r} is not a date or range; left empty"
            if printed_dates
            else "inspection date: label not found; left empty"
        )
    previous_date = parse_date_range(_first(values, "previous_date"))

    inspection_type, type_printed = _inspection_type(layout, title, values, problems)

    # judgements
    columns = column_judgements(pages)
    found = {}
    for key in ("overall", "helped_and_protected", "leaders_and_managers"):
        if key not in _EXPECTED[layout]:
            found[key] = _Found(None, None)
            continue
        found[key] = _find_judgement(key, text_pages, layout, columns)
        if found[key].problem:
            problems.append(found[key].problem)
    if layout in ("2015", "sccif") and found["overall"].value:
        stated = _standard_sentence("\n".join(text_pages[:3]))
        overall = found["overall"].value
        if stated and stated != {overall}:
            problems.append(
                f"overall judgement: {found['overall'].as_published!r} but the standard "
                f"sentence under it is the one for {', '.join(sorted(stated))}; left empty"
            )
            found["overall"] = _Found(None, found["overall"].as_published)
    judgements = Judgements(
        overall=found["overall"].value,
        helped_and_protected=found["helped_and_protected"].value,
        leaders_and_managers=found["leaders_and_managers"].value,
        as_published={k: f.as_published for k, f in found.items()},
    )

    previous_printed = _first(values, "previous_judgement")
    previous = _judgement_word(previous_printed)
    if (
        previous_printed
        and previous is None
        and fold(previous_printed)
        not in (
            "none",
            "not applicable",
            "n/a",
            "first inspection",
        )
    ):
        problems.append(
            f"previous judgement: {previous_printed!r} is not a judgement; left empty"
        )

    inspectors = []
    named = [v for v in values.get("inspectors", []) if v[1].strip()]
    for _page, value in named[-1:]:
        for line in value.split("\n"):
            for name_part in re.split(r"\s*;\s*", line):
                person = _INSPECTOR_SUFFIX.sub("", name_part).strip(" ,")
                if person and person not in inspectors:
                    inspectors.append(person)

    places = None
    full_text = "\n".join(" ".join(p) for p in pages)
    for pattern in _PLACES:
        if match := pattern.search(full_text):
            word = match.group(1)
            places = int(word) if word.isdigit() else number_from_words(word)
            if places is not None:
                break

    missing, other = find_mentions(pages)
    provider = _last(values, "provider")
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
        registered_provider_address=_last(values, "provider_address"),
        responsible_individual=_last(values, "responsible_individual"),
        registered_manager=_last(values, "manager"),
        inspectors=tuple(inspectors),
        places=places,
        requirements=tuple(find_requirements(pages)),
        recommendations=tuple(find_recommendations(pages)),
        missing_mentions=tuple(missing),
        other_mentions=tuple(other),
        pages=len(text_pages),
        problems=tuple(problems),
        extractor_version=EXTRACTOR_VERSION,
        page_texts=tuple(text_pages),
    )
