"""Where each field of a report came from: the page and the text.

``explain(report)`` takes an :class:`extract.reports.InspectionReport` (its
``page_texts`` are the normalised text every field reader saw) and finds,
for each field, the page and the printed text it was read from, by running
the same label and judgement patterns the readers use. A field the reader
left empty says why (the report's ``problems``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extract.report_fields import _PLACES, labelled_values, labels_first_block
from extract.report_judgements import _JUDGEMENT_PATTERNS, column_judgements
from extract.report_text import strip_furniture

_LABELLED = {
    "urn": "urn",
    "inspection_date": "dates",
    "inspection_type_as_published": "type",
    "registered_provider": "provider",
    "registered_provider_address": "provider_address",
    "responsible_individual": "responsible_individual",
    "registered_manager": "manager",
    "inspectors": "inspectors",
    "previous_judgement": "previous_judgement",
    "previous_inspection_date": "previous_date",
    "enforcement_action_since_last": "enforcement",
}
_JUDGEMENTS = {
    "judgements.overall": "overall",
    "judgements.helped_and_protected": "helped_and_protected",
    "judgements.leaders_and_managers": "leaders_and_managers",
}
_MAX_QUOTE = 240


@dataclass(frozen=True, slots=True)
class Source:
    """One place a field's value was read from."""

    page: int
    text: str


def _quote(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


def _line_of(lines: list[str], needle: str, *, stacked: bool) -> str | None:
    """The line holding ``needle``: best after a label and a colon, then on
    its own under its label (shown with it), then anywhere."""
    needle = needle.strip()
    found = [i for i, line in enumerate(lines) if needle and needle in line]
    for index in found:
        head = lines[index][: lines[index].rfind(needle)]
        if head.rstrip().endswith(":"):
            return lines[index]
    for index in found:
        if lines[index].strip() == needle:
            if index and not stacked:
                return lines[index - 1] + " / " + lines[index]
            return lines[index]
    return lines[found[0]] if found else None


#: Which of several labelled values the reader keeps (``first_value`` or
#: ``last_value`` in ``extract.reports``).
_KEEPS_LAST = {
    "provider",
    "provider_address",
    "responsible_individual",
    "manager",
    "inspectors",
}


def explain(report) -> dict[str, dict]:
    """``{field: {"value": ..., "sources": [Source, ...], "why_empty": [...]}}``."""
    text_pages = list(report.page_texts)
    pages = strip_furniture([t.split("\n") for t in text_pages])
    values = labelled_values(pages)
    if report.layout == "nms2010":
        for key, found in labels_first_block(pages).items():
            values[key] = found + values.get(key, [])
    out: dict[str, dict] = {}
    stacked = report.layout == "nms2010"  # labels first, then their values

    def add(field: str, value: object, sources: list[Source]) -> None:
        name = field.split(".")[-1].replace("_", " ")
        why = [p for p in report.problems if p.startswith(name)]
        if "date" in field and not why:
            why = [p for p in report.problems if p.startswith("inspection date")]
        out[field] = {
            "value": value,
            "sources": sources,
            "why_empty": why if value in (None, (), []) else [],
        }

    title = next(
        (
            Source(1, line)
            for line in pages[0][:12]
            if report.inspection_type_as_published
            and report.inspection_type_as_published in line
        ),
        None,
    )
    add("layout", report.layout, [title] if title else [])
    for field, key in _LABELLED.items():
        value = getattr(report, field)
        sources = []
        given = [(page, v) for page, v in values.get(key, []) if v.strip()]
        for page, printed in given[-1:] if key in _KEEPS_LAST else given[:1]:
            line = _line_of(pages[page - 1], printed.split("\n")[0], stacked=stacked)
            sources.append(Source(page, _quote(line or printed)))
        if not sources and field == "urn" and value:
            sources = [
                Source(number, _quote(_line_of(lines, value, stacked=stacked) or ""))
                for number, lines in enumerate(pages[:2], start=1)
                if any(value in line for line in lines)
            ][:1]
        if not sources and field == "inspection_type_as_published" and title:
            sources = [title]
        add(field, value, sources)
    add(
        "inspection_type",
        report.inspection_type,
        [title] if title and report.inspection_type else [],
    )
    columns = column_judgements(pages)
    for field, key in _JUDGEMENTS.items():
        value = getattr(report.judgements, key)
        sources = [
            Source(page, _quote(printed)) for printed, page in columns.get(key, [])
        ]
        for number, text in enumerate(text_pages, start=1):
            for _label, pattern in _JUDGEMENT_PATTERNS[key]:
                for match in pattern.finditer(text):
                    if not any(v for v in match.groupdict().values()):
                        continue
                    quote = _quote(match.group(0))
                    if not any(
                        o.page == number
                        and (o.text.startswith(quote) or quote.startswith(o.text))
                        for o in sources
                    ):
                        sources.append(Source(number, quote))
        add(field, value, sources)
    places = []
    for number, lines in enumerate(pages, start=1):
        joined = " ".join(lines)
        for pattern in _PLACES:
            if match := pattern.search(joined):
                # the printed lines the phrase runs over
                offset, first, last = 0, None, None
                for index, line in enumerate(lines):
                    end_of_line = offset + len(line)
                    if first is None and match.start() < end_of_line + 1:
                        first = index
                    if match.end() <= end_of_line + 1:
                        last = index
                        break
                    offset = end_of_line + 1
                text = " ".join(lines[first : (last or first) + 1])
                places.append(Source(number, _quote(text)))
                break
        if places:
            break
    add("places", report.places, places)
    for field in ("requirements", "recommendations"):
        items = getattr(report, field)
        add(
            field,
            len(items),
            [Source(item.page, _quote(item.text)) for item in items],
        )
    for field in ("missing_mentions", "other_mentions"):
        mentions = getattr(report, field)
        add(
            field,
            len(mentions),
            [Source(m.page, _quote(f"[{m.kind}] {m.quote}")) for m in mentions],
        )
    return out


def explain_text(report, name: str) -> str:
    """``explain`` as lines a person reads."""
    lines = [f"{name}: {report.layout} report of {report.urn}"]
    for field, found in explain(report).items():
        value = found["value"]
        if isinstance(value, tuple | list):
            value = ", ".join(map(str, value)) or None
        lines.append(f"{field}: {value if value is not None else '(empty)'}")
        for source in found["sources"]:
            lines.append(f"    page {source.page}: {source.text}")
        if not found["sources"] and value not in (None, 0):
            lines.append("    (no printed source found)")
        for why in found["why_empty"]:
            lines.append(f"    why empty: {why}")
    return "\n".join(lines)
