"""Judgements in an inspection report's text: the vocabulary of each era,
the labels that carry them and the checks a judgement must pass.

A judgement is only returned when every place the report gives it agrees, it
belongs to the vocabulary of the report's era and (for 2015 and SCCIF reports)
it matches the standard sentence under it; otherwise it is None and the
report's ``problems`` say why. A wrong rating is worse than a missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from extract.normalise import (
    ADEQUATE,
    DECLINED,
    GOOD,
    IMPROVED,
    INADEQUATE,
    NOT_JUDGED,
    OUTSTANDING,
    REQUIRES_IMPROVEMENT,
    SATISFACTORY,
    SUSTAINED,
    fold,
    normalise_judgement,
)
from extract.report_records import Judgements

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
JUDGEMENT_WORD = (
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

JUDGEMENT_LABELS = {
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
        parts.append(
            rf"[\s,]+(?:(?P<g{number}>{JUDGEMENT_WORD})[\s,]+)?{re.escape(word)}"
        )
    return "".join(parts)


# After a judgement word: a line holding only another judgement word means a
# column of judgements (every label, then every judgement), where the word
# after the last label belongs to the first label. Refuse it there.
_COLUMN_NEXT = rf"[ \t]*\n[ \t]*{JUDGEMENT_WORD}[ \t.]*(?:\n|$)"


def _compile_judgement_label(label: str) -> re.Pattern[str]:
    return re.compile(
        r"(?:^|\n)[ \t]*" + _label_pattern(label, interleave=True) + r"[ \t]*:?"
        r"(?:[ \t]*\n?[^\n]{0,60}?\bis\s+judged\s+to\s+be)?"
        rf"[\s:,-]*(?P<after>{JUDGEMENT_WORD}(?!{_COLUMN_NEXT}))?",
        re.IGNORECASE,
    )


def _label_keyword(label: str) -> str:
    """The longest word of a label: present on any page that holds it."""
    return max(re.findall(r"[\w']+", label.casefold()), key=len)


_JUDGEMENT_PATTERNS = {
    key: [(label, _compile_judgement_label(label)) for label in labels]
    for key, labels in JUDGEMENT_LABELS.items()
}
_LABEL_KEYWORDS = {
    label: _label_keyword(label)
    for labels in JUDGEMENT_LABELS.values()
    for label in labels
}


@dataclass
class _Found:
    value: str | None
    as_published: str | None
    problem: str | None = None


_LABEL_KEYS = {
    fold(label).rstrip(":, "): key
    for key, labels in JUDGEMENT_LABELS.items()
    for label in labels
}
_JUDGEMENT_LINE = re.compile(JUDGEMENT_WORD, re.IGNORECASE)


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
    lowered_pages: list[str] | None = None,
) -> _Found:
    name = key.replace("_", " ")
    seen: list[tuple[str, str, int]] = []  # (normalised, as printed, page)
    labels_seen = 0
    for printed, page_number in (columns or {}).get(key, []):
        labels_seen += 1
        seen.append((normalise_judgement(printed) or "", printed, page_number))
    if lowered_pages is None:
        lowered_pages = [text.casefold() for text in text_pages]
    for page_number, (text, lowered) in enumerate(
        zip(text_pages, lowered_pages, strict=True), start=1
    ):
        for label, pattern in _JUDGEMENT_PATTERNS[key]:
            if _LABEL_KEYWORDS[label] not in lowered:
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


def find_judgements(
    layout: str, pages: list[list[str]], text_pages: list[str], problems: list[str]
) -> Judgements:
    """The judgements a ``layout`` gives, each checked; why one is left empty
    is appended to ``problems``."""
    columns = column_judgements(pages)
    lowered_pages = [text.casefold() for text in text_pages]
    found = {}
    for key in ("overall", "helped_and_protected", "leaders_and_managers"):
        if key not in _EXPECTED[layout]:
            found[key] = _Found(None, None)
            continue
        found[key] = _find_judgement(key, text_pages, layout, columns, lowered_pages)
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
    return Judgements(
        overall=found["overall"].value,
        helped_and_protected=found["helped_and_protected"].value,
        leaders_and_managers=found["leaders_and_managers"].value,
        as_published={k: f.as_published for k, f in found.items()},
    )


def previous_judgement(printed: str | None, problems: list[str]) -> str | None:
    """The judgement of the previous inspection, as the report prints it."""
    previous = _judgement_word(printed)
    if (
        printed
        and previous is None
        and fold(printed)
        not in (
            "none",
            "not applicable",
            "n/a",
            "first inspection",
        )
    ):
        problems.append(
            f"previous judgement: {printed!r} is not a judgement; left empty"
        )
    return previous
