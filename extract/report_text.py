"""The text of an inspection report's pages: tidied, without running
headers and footers, and the layout its title shows."""

from __future__ import annotations

import re

from extract.normalise import find_urn, fold, normalise_pdf_text
from extract.report_judgements import JUDGEMENT_WORD


def clean_page(text: str) -> str:
    """pdfium's text of one page as every field reader sees it (see
    :func:`extract.normalise.normalise_pdf_text`: line-end hyphens kept,
    bullets unified, ligatures unfolded, quotes straightened)."""
    return normalise_pdf_text(text)


# ---------------------------------------------------------------- page lines

_FURNITURE = re.compile(
    r"^(?:\d{1,3}|page \d+(?: of \d+)?|\d+ of \d+|"
    r"inspection report (?:for )?children's home:? ?(?:sc\d{6}|\d{7})(?: \d{1,3})?)$",
    re.IGNORECASE,
)


def strip_furniture(pages: list[list[str]]) -> list[list[str]]:
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
    text = re.sub(r"\s+", " ", re.sub(JUDGEMENT_WORD, " ", text))
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
