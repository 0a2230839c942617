"""Sentences of a report about children going missing or away, about
exploitation or the police, with the number of episodes they state."""

from __future__ import annotations

import re

from extract.normalise import BULLET, number_from_words
from extract.report_records import Mention

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
#: Any of the above: most sentences mention none, and one search says so.
_ANY_MENTION = re.compile(
    "|".join(f"(?:{p.pattern})" for p in _MENTION_PATTERNS.values()), re.IGNORECASE
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
        if line.startswith(BULLET) and current:
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
            sentence = sentence.strip().lstrip(BULLET).strip()
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
            if not _ANY_MENTION.search(sentence):
                continue
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
