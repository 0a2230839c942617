"""The records a report reader returns, apart from the readers themselves.

A worker process sends these to its parent, which only needs to unpickle them:
keeping them here spares the parent (and the command line's start-up) the
readers' regular expressions.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Judgements:
    overall: str | None = None
    helped_and_protected: str | None = None
    leaders_and_managers: str | None = None
    #: The words as printed, per judgement (``'requires improvement'``).
    as_published: dict[str, str | None] = field(default_factory=dict)


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
