"""Small, pure normalisers shared by every reader: URNs, dates, judgements,
event types, numbers and blank cells.

Each returns the normalised value or ``None``; none of them guesses. Readers
turn a ``None`` from a non-blank cell into a problem row.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache

# ---------------------------------------------------------------- blank cells

BLANKS = {"", "null", "none", "n/a", "na", "-", "redacted", "#n/a"}


def clean_text(value: object) -> str | None:
    """A cell as tidy text, or None for the blanks Ofsted writes
    (empty, a single space, ``NULL``, ``REDACTED``)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _clean_str(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _clean_str(str(value))


@lru_cache(maxsize=1 << 16)
def _clean_str(text: str) -> str | None:
    text = text.replace("\u00a0", " ").replace("\ufffd", "–")
    text = _SPACES.sub(" ", text).strip()
    if text.casefold() in BLANKS:
        return None
    return text


_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Case-, accent-, quote- and space-insensitive key for comparing labels."""
    if text.isascii():
        # the common case (labels, and report text once tidied): no accents,
        # curly quotes or dashes to undo, so skip the Unicode work
        return " ".join(text.replace("`", "'").split()).lower()
    text = unicodedata.normalize("NFKD", text)
    # accents: drop the combining marks among the (few) distinct characters
    # (str.translate is slow on non-ASCII text: only when there are marks)
    marks = {ord(c): None for c in set(text) if unicodedata.combining(c)}
    if marks:
        text = text.translate(marks)
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    text = text.replace("–", "-").replace("—", "-")
    return " ".join(text.split()).casefold()


# ------------------------------------------------------------ PDF page text

#: The bullet every reader sees: :func:`normalise_pdf_text` turns each glyph a
#: real Ofsted PDF uses for a bullet into this one.
BULLET = "•"
#: Glyphs that start a bulleted line in real Ofsted PDFs and in generated
#: ones. Private-use code points (U+E000-U+F8FF) are symbol-font glyphs
#: (Wingdings U+F06E square, U+F0A7 small square, U+F0D8 arrow, Symbol U+F0B7
#: dot, U+F02D dash, U+F03C ...) and always count as bullets.
BULLET_GLYPHS = "•●▪■◼◾◽◻□◦○►▸‣⁃➢➤✓✔❖◆∙"
_PRIVATE_USE = "\ue000-\uf8ff"
_BULLET_AT_LINE_START = re.compile(
    rf"^[ \t]*(?:[{BULLET_GLYPHS}{_PRIVATE_USE}][ \t]*)+", re.MULTILINE
)
_BULLET_ALONE = re.compile(rf"^{BULLET}[ \t]*\n(?=[ \t]*[^\s{BULLET}])", re.MULTILINE)
_PRIVATE_USE_CHAR = re.compile(rf"[ \t]*[{_PRIVATE_USE}]+[ \t]*")
# A hyphen the PDF library marked as hyphenating (U+FFFE) or a soft hyphen,
# at the end of a line: the word goes on on the next line, with its hyphen.
_LINE_END_HYPHEN = re.compile(r"[\ufffe\u00ad][ \t]*\n[ \t]*(?=\S)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\uffff]")
_PDF_PUNCTUATION = (
    ("\u2018", "'"),  # ‘
    ("\u2019", "'"),  # ’
    ("\u201b", "'"),  # ‛
    ("\u201c", '"'),  # “
    ("\u201d", '"'),  # ”
    ("\u201e", '"'),  # „
    ("\u201f", '"'),  # ‟
    ("\u2010", "-"),  # hyphen
    ("\u2011", "-"),  # non-breaking hyphen
    ("\ufffe", "-"),  # pdfium's mark for a hyphen that ended a line
)
#: Every dash a date range is printed with ("9–10 November 2016").
DASHES = "-‐‑‒–—―−"


def normalise_pdf_text(text: str) -> str:
    """A PDF page's text as its reader meant it: the one place every report
    field reader's text goes through.

    * a hyphen that ended a line (pdfium hands it back as U+FFFE, a PDF may
      carry a soft hyphen) is a real hyphen, and the word is joined: "well\ufffe
      being" and "well\ufffe\nbeing" read "well-being", a name wrapped in a
      table cell ("Stephens\ufffe" / "Hart") reads "Stephens-Hart"; a soft
      hyphen inside a line is invisible and goes;
    * every bullet glyph at the start of a line (symbol-font private-use
      glyphs such as U+F06E and U+F03C, ◼, ▪, ● ...) becomes "• ", a bullet
      alone on its line joins the text after it, and a private-use glyph
      elsewhere becomes a bullet too (it is never a letter);
    * ligatures (ﬁ ﬂ ﬀ ﬃ ﬄ), non-breaking, thin and other spaces are
      unfolded (NFKC), curly quotes and apostrophes straightened;
    * line breaks are ``\n``, runs of spaces one space, lines stripped, and
      control characters dropped.

    En and em dashes are kept (they are meaningful in text); the date readers
    accept every dash in :data:`DASHES`.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\ufffe" in text or "\u00ad" in text:
        text = _LINE_END_HYPHEN.sub("-", text).replace("\u00ad", "")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        for glyph, plain in _PDF_PUNCTUATION:  # (str.translate is slow here)
            if glyph in text:
                text = text.replace(glyph, plain)
        text = _BULLET_AT_LINE_START.sub(BULLET + " ", text)
        text = _PRIVATE_USE_CHAR.sub(f" {BULLET} ", text)
        text = _BULLET_ALONE.sub(BULLET + " ", text)
    text = _CONTROL.sub("", text)
    return "\n".join(_SPACES_TABS.sub(" ", line).strip() for line in text.split("\n"))


_SPACES_TABS = re.compile(r"[ \t]+")


# ----------------------------------------------------------------------- URNs

URN_PATTERN = re.compile(r"^(SC\d{6}|\d{7})$")
_URN_IN_TEXT = re.compile(r"\b(SC\s?\d{6}|\d{7})\b", re.IGNORECASE)


def normalise_urn(value: object) -> str | None:
    """``'SC064050'``, ``2590934.0`` or ``' 2590934 '`` → a URN string, else None.

    A spreadsheet reader hands 7-digit URNs back as floats; they are always
    text in the registry.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = str(value).strip().upper().replace(" ", "")
    if text.endswith(".0") and text[:-2].isascii() and text[:-2].isdigit():
        text = text[:-2]
    return text if URN_PATTERN.match(text) else None


def find_urn(text: str) -> str | None:
    """The first URN-shaped token in free text (``SC123456`` or 7 digits)."""
    match = _URN_IN_TEXT.search(text or "")
    return match.group(1).upper().replace(" ", "") if match else None


def is_urn(value: str | None) -> bool:
    return bool(value) and bool(URN_PATTERN.match(value or ""))


# ---------------------------------------------------------------------- dates

_MONTHS = {
    m.casefold(): i
    for i, m in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+)?$")
_WORDY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
# Days since 1899-12-30: how spreadsheets store dates when a reader does not
# convert them.
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: object) -> dt.date | None:
    """Parse the date forms the sources use (``DD/MM/YYYY``, ISO, ``5 March
    2024``, spreadsheet datetimes and serial numbers). None if it is not a date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        return None
    text = clean_text(value)
    if not text:
        return None
    text = text.strip()
    try:
        if m := _ISO.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DMY.match(text):
            year = int(m[3])
            if year < 100:
                year += 2000 if year < 70 else 1900
            return dt.date(year, int(m[2]), int(m[1]))
        if m := _WORDY.match(text):
            month = _MONTHS.get(m[2].casefold())
            if month:
                return dt.date(int(m[3]), month, int(m[1]))
    except ValueError:
        return None
    return None


def iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def year_ending_31_march(day: dt.date) -> int:
    """The financial year (named by its end) a date falls in: 2024-05-01 → 2025."""
    return day.year + 1 if day.month >= 4 else day.year


# ---------------------------------------------------------------- judgements

OUTSTANDING = "Outstanding"
GOOD = "Good"
REQUIRES_IMPROVEMENT = "Requires improvement to be good"
ADEQUATE = "Adequate"
SATISFACTORY = "Satisfactory"
INADEQUATE = "Inadequate"
IMPROVED = "Improved effectiveness"
SUSTAINED = "Sustained effectiveness"
DECLINED = "Declined in effectiveness"
NOT_JUDGED = "Not judged"

JUDGEMENTS = (
    OUTSTANDING,
    GOOD,
    REQUIRES_IMPROVEMENT,
    ADEQUATE,
    SATISFACTORY,
    INADEQUATE,
    IMPROVED,
    SUSTAINED,
    DECLINED,
    NOT_JUDGED,
)

# The rating scale: every era's overall judgement on one four-step scale
# (4 best), so judgements of different frameworks compare. Adequate (2014),
# Satisfactory (before 2014), Requires improvement (2015) and Requires
# improvement to be good (SCCIF, 2017) are the same step. The one source of
# the scale: the registry's ``judgement_scale`` table is filled from it and
# the published pages read it; the stories' SQL joins that table.
# "Requires improvement" is never stored (it reads as the SCCIF wording) but
# a registry written by hand may hold it, so it keeps its place on the scale.
REQUIRES_IMPROVEMENT_2015 = "Requires improvement"
# step → (grade: the short name stories count it under, the SCCIF wording of
# that step, the step as a rating chart's axis names it)
SCALE_STEPS = {
    4: ("outstanding", OUTSTANDING, OUTSTANDING),
    3: ("good", GOOD, GOOD),
    2: (
        "requires_improvement",
        REQUIRES_IMPROVEMENT,
        "Requires improvement / Adequate",
    ),
    1: ("inadequate", INADEQUATE, INADEQUATE),
}
GOOD_OR_BETTER = 3
JUDGEMENT_SCALE = {
    OUTSTANDING: 4,
    GOOD: 3,
    REQUIRES_IMPROVEMENT: 2,
    REQUIRES_IMPROVEMENT_2015: 2,
    ADEQUATE: 2,
    SATISFACTORY: 2,
    INADEQUATE: 1,
}


def judgement_scale_rows() -> list[dict[str, object]]:
    """One row per judgement on the scale, as the ``judgement_scale`` table
    holds it."""
    return [
        {
            "judgement": judgement,
            "score": score,
            "grade": SCALE_STEPS[score][0],
            "grade_label": SCALE_STEPS[score][1],
            "score_label": SCALE_STEPS[score][2],
            "is_good_or_better": int(score >= GOOD_OR_BETTER),
        }
        for judgement, score in JUDGEMENT_SCALE.items()
    ]


_JUDGEMENT_SPELLINGS = {
    "outstanding": OUTSTANDING,
    "good": GOOD,
    "requires improvement to be good": REQUIRES_IMPROVEMENT,
    "requires improvement": REQUIRES_IMPROVEMENT,
    "requires improvement to be good.": REQUIRES_IMPROVEMENT,
    "adequate": ADEQUATE,
    "satisfactory": SATISFACTORY,
    "inadequate": INADEQUATE,
    "improved effectiveness": IMPROVED,
    "improved in effectiveness": IMPROVED,
    "sustained effectiveness": SUSTAINED,
    "declined in effectiveness": DECLINED,
    "declined effectiveness": DECLINED,
    "not judged": NOT_JUDGED,
}

# The framework (inspection era) a judgement belongs to, by inspection date.
FRAMEWORKS = (
    (dt.date(2017, 4, 1), "SCCIF"),
    (dt.date(2015, 4, 1), "2015 framework"),
    (dt.date(2014, 4, 1), "2014 framework"),
    (dt.date(1900, 1, 1), "National Minimum Standards"),
)


def framework_for(day: dt.date | None) -> str | None:
    if day is None:
        return None
    for start, name in FRAMEWORKS:
        if day >= start:
            return name
    return None


def normalise_judgement(value: object, *, on: dt.date | None = None) -> str | None:
    """Map a published judgement onto the registry's vocabulary.

    ``on`` is the inspection date, needed for Ofsted's numeric codes (3 meant
    *adequate* before April 2015 and *requires improvement* after). Returns
    None for blanks and for anything outside the vocabulary; the caller records
    a problem when the cell was not blank.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            _judgement_from_code(int(value), on) if float(value).is_integer() else None
        )
    text = clean_text(value)
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        return _judgement_from_code(int(text), on)
    key = fold(text).rstrip(".")
    key = re.sub(r"^(judgement|overall)\s*[:-]\s*", "", key)
    return _JUDGEMENT_SPELLINGS.get(key)


def _judgement_from_code(code: int, on: dt.date | None) -> str | None:
    if code == 3:
        if on is None:
            return None
        return ADEQUATE if on < dt.date(2015, 4, 1) else REQUIRES_IMPROVEMENT
    return {1: OUTSTANDING, 2: GOOD, 4: INADEQUATE, 5: NOT_JUDGED}.get(code)


# ---------------------------------------------------------------- event types

FULL = "Full inspection"
INTERIM = "Interim inspection"
MONITORING = "Monitoring inspection"
ASSURANCE = "Assurance visit"
EMERGENCY = "Emergency inspection"
EVENT_TYPES = (FULL, INTERIM, MONITORING, ASSURANCE, EMERGENCY)


def normalise_event_type(value: object) -> str | None:
    """``'SC Interim'``, ``'Full'``, ``'SC – Emergency inspection'`` … → one of
    :data:`EVENT_TYPES`, else None."""
    text = clean_text(value)
    if not text:
        return None
    key = fold(text)
    key = re.sub(r"^sc\s*[-:]?\s*", "", key)
    if "emergency" in key:
        return EMERGENCY
    if "assurance" in key:
        return ASSURANCE
    if "monitoring" in key:
        return MONITORING
    if "interim" in key:
        return INTERIM
    if key.startswith("full") or key in {
        "inspection",
        "main inspection",
        "key inspection",
    }:
        return FULL
    return None


def event_slug(event_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", event_type.casefold()).strip("-")


def inspection_id(urn: str, inspection_date: str, event_type: str) -> str:
    """The stable id of an inspection event: ``SC123456-2024-11-05-full-inspection``."""
    return f"{urn}-{inspection_date}-{event_slug(event_type)}"


# -------------------------------------------------------------------- numbers

_NUMBER_WORDS = {
    "no": 0,
    "none": 0,
    "zero": 0,
    "one": 1,
    "once": 1,
    "a single": 1,
    "two": 2,
    "twice": 2,
    "three": 3,
    "thrice": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


def parse_count(value: object) -> int | None:
    """A whole number from a cell or phrase: ``12``, ``'1,369'``, ``4.0``,
    ``'twelve'``, ``'twenty-three'``, ``'one hundred and five'``. None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = clean_text(value)
    if text is None:
        return None
    digits = text.replace(",", "").strip()
    if re.fullmatch(r"\d+(\.0+)?", digits):
        return int(float(digits))
    return number_from_words(text)


def number_from_words(text: str) -> int | None:
    words = re.sub(r"[\s-]+", " ", text.casefold().replace(" and ", " ")).strip()
    if words in _NUMBER_WORDS:
        return _NUMBER_WORDS[words]
    total, current, seen = 0, 0, False
    for word in words.split():
        if word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
            seen = True
        elif word == "hundred" and seen:
            current = max(current, 1) * 100
        elif word == "thousand" and seen:
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
    return total + current if seen else None


def parse_places(value: object) -> int | None:
    count = parse_count(value)
    return count if count is not None and 0 <= count < 10000 else None


# ------------------------------------------------------------- homes & sectors

SECTORS = {
    "private": "Private",
    "local authority": "Local Authority",
    "voluntary": "Voluntary",
    "health authority": "Health Authority",
    "academy": "Academy",
    "public sector": "Public sector",
}


def normalise_sector(value: object) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    return SECTORS.get(fold(text), text)


def is_independent(sector: str | None) -> int | None:
    if sector is None:
        return None
    return 1 if sector in ("Private", "Voluntary") else 0


def is_childrens_home(provision_type: str | None) -> bool:
    """Children's homes are every provision type that contains "children's home"
    (so secure children's homes and residential special schools registered as
    children's homes count)."""
    if not isinstance(provision_type, str) or not provision_type:
        return False
    return "children's home" in fold(provision_type)


def normalise_provision_type(value: object) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    if fold(text) == "children's home":
        return "Children's home"
    if fold(text) == "residential special school (>295 days/year)":
        return "Residential special school (registered as a children's home)"
    return text.replace("’", "'")


def normalise_flag(value: object) -> int | None:
    """``Y``, ``Yes``, or the column's own label → 1; blank → None."""
    text = clean_text(value)
    if text is None:
        return None
    if fold(text) in {"n", "no", "0", "false"}:
        return 0
    return 1


@lru_cache(maxsize=1 << 14)
def owner_id(name: str) -> str:
    """A stable, URL-friendly key for an owner name (case and punctuation
    insensitive; ``Ltd`` and ``Limited`` are the same company)."""
    key = fold(name).replace("&", " and ")
    key = re.sub(r"\b(ltd|limited|plc|llp|l\.l\.p)\b\.?", lambda m: _SUFFIX[m[1]], key)
    key = re.sub(r"[^a-z0-9]+", "-", key).strip("-")
    return key or "unknown"


_SUFFIX = {"ltd": "ltd", "limited": "ltd", "plc": "plc", "llp": "llp", "l.l.p": "llp"}
