"""Labelled fields of an inspection report (``Label: value``, wrapped
labels, the 2010 layout's block of labels) and the values built from them:
URN, dates, inspection type, inspectors and places."""

from __future__ import annotations

import datetime as dt
import re

from extract.normalise import (
    FULL,
    INTERIM,
    clean_text,
    find_urn,
    fold,
    normalise_event_type,
    normalise_urn,
    number_from_words,
)
from extract.report_dates import ANY_DATE, parse_date_range
from extract.report_judgements import JUDGEMENT_LABELS

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
    for h in (*_HEADINGS, *(lb for lbs in JUDGEMENT_LABELS.values() for lb in lbs))
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


def labelled_values(pages: list[list[str]]) -> dict[str, list[tuple[int, str]]]:
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


def first_value(values: dict[str, list[tuple[int, str]]], key: str) -> str | None:
    for _page, value in values.get(key, []):
        if clean_text(value):
            return clean_text(value)
    return None


def last_value(values: dict[str, list[tuple[int, str]]], key: str) -> str | None:
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


def labels_first_block(pages: list[list[str]]) -> dict[str, list[tuple[int, str]]]:
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


def find_inspection_type(
    layout: str, title: str | None, values: dict, problems: list[str]
) -> tuple[str | None, str | None]:
    printed = first_value(values, "type")
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


def find_report_urn(values: dict, text_pages: list[str]) -> str | None:
    """The labelled URN, else the first URN-shaped token on pages 1-2."""
    urn = None
    for _page, value in values.get("urn", []):
        urn = normalise_urn(value) or find_urn(value)
        if urn:
            break
    if urn is None:
        urn = find_urn("\n".join(text_pages[:2]))
    return urn


def inspection_dates(
    values: dict, problems: list[str]
) -> tuple[dt.date | None, dt.date | None]:
    """(first day, last day) of the inspection; why they are empty goes to
    ``problems``."""
    start = end = None
    printed_dates = first_value(values, "dates")
    parsed = parse_date_range(printed_dates)
    if parsed is None and printed_dates:
        match = ANY_DATE.search(printed_dates)
        parsed = parse_date_range(match.group(1)) if match else None
    if parsed:
        start, end = parsed
    else:
        problems.append(
            f"inspection date: {printed_dates!r} is not a date or range; left empty"
            if printed_dates
            else "inspection date: label not found; left empty"
        )
    return start, end


def find_inspectors(values: dict) -> tuple[str, ...]:
    """The inspectors' names, from the last labelled list of them."""
    inspectors = []
    named = [v for v in values.get("inspectors", []) if v[1].strip()]
    for _page, value in named[-1:]:
        for line in value.split("\n"):
            for name_part in re.split(r"\s*;\s*", line):
                person = _INSPECTOR_SUFFIX.sub("", name_part).strip(" ,")
                if person and person not in inspectors:
                    inspectors.append(person)
    return tuple(inspectors)


def find_places(pages: list[list[str]]) -> int | None:
    """The number of children the home is registered for."""
    places = None
    full_text = "\n".join(" ".join(p) for p in pages)
    for pattern in _PLACES:
        if match := pattern.search(full_text):
            word = match.group(1)
            places = int(word) if word.isdigit() else number_from_words(word)
            if places is not None:
                break
    return places
