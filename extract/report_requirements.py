"""A report's tables: statutory requirements, recommendations and the
recent inspection history."""

from __future__ import annotations

import re

from extract.normalise import (
    BULLET,
    normalise_event_type,
    normalise_judgement,
    parse_date,
)
from extract.report_dates import MONTH
from extract.report_judgements import JUDGEMENT_WORD
from extract.report_records import PastInspection, Requirement

_REGULATION = re.compile(
    r"\(\s*(Regulations?\s+(?:[^()]|\([^()]*\))*)\)\s*\.?\s*$", re.IGNORECASE
)
_GUIDE = re.compile(
    r"\(\s*(['\"]?(?:Guide|NMS|National Minimum Standards?|Standard)\b(?:[^()]|\([^()]*\))*)\)\s*\.?\s*$",
    re.IGNORECASE,
)
_DUE_DATE = re.compile(
    rf"(?:^|\s)(\d{{1,2}}/\d{{1,2}}/\d{{4}}|\d{{1,2}}\s+{MONTH}\s+\d{{4}})$",
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
        if line.startswith((BULLET, "- ")):
            items.append((page_number, [line.lstrip(BULLET + "- ").strip()]))
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
    r"^(\d{1,2}/\d{1,2}/\d{4})\s+(.+?)(?:\s+(" + JUDGEMENT_WORD + r"))?\s*$",
    re.IGNORECASE,
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
