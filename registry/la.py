"""Local authorities: the shipped reference list (every English LA since 2014,
with those merged or split, and their dates) and matching the names the
sources use onto it."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from pathlib import Path

from sqlite_utils import Database

from extract.normalise import fold
from registry.upsert import upsert_rows

REFERENCE = Path(__file__).parent / "data" / "local_authorities.csv"

# Spellings in Ofsted's files that differ from DfE's names, after `la_key`.
_ALIASES = {
    "durham": "county durham",
    "bournemouth christchurch poole": "bournemouth christchurch and poole",
    "bcp": "bournemouth christchurch and poole",
    "hull": "kingston upon hull",
    "newcastle": "newcastle upon tyne",
}


@dataclass(frozen=True)
class LocalAuthority:
    la_code: str
    old_la_code: str
    name: str
    region: str
    region_code: str
    valid_from: str | None
    valid_to: str | None
    replaced_by: str | None

    def valid_on(self, day: dt.date | None) -> bool:
        if day is None:
            return not self.valid_to
        iso = day.isoformat()
        return (not self.valid_from or self.valid_from <= iso) and (
            not self.valid_to or iso <= self.valid_to
        )


def la_key(name: str) -> str:
    """``'Bristol, City of'``, ``'St. Helens'``, ``'Southend-on-Sea'`` → a
    comparable key (``'bristol'``, ``'st helens'``, ``'southend on sea'``)."""
    key = fold(name).replace("&", " and ")
    key = re.sub(r",?\s*(city|county) of\b", "", key)
    key = re.sub(r"[.,'()]", "", key).replace("-", " ")
    key = re.sub(r"\s+", " ", key).strip()
    return _ALIASES.get(key, key)


@cache
def reference() -> tuple[LocalAuthority, ...]:
    with open(REFERENCE, newline="", encoding="utf-8") as fh:
        return tuple(
            LocalAuthority(
                **{k: (v or None) if k != "name" else v for k, v in row.items()}
            )
            for row in csv.DictReader(fh)
        )


@cache
def _by_key() -> dict[str, list[LocalAuthority]]:
    index: dict[str, list[LocalAuthority]] = {}
    for la in reference():
        index.setdefault(la_key(la.name), []).append(la)
    return index


@lru_cache(maxsize=4096)
def match_la(name: str | None, on: dt.date | None = None) -> LocalAuthority | None:
    """The local authority a source's name means on a date (names such as
    Dorset or North Yorkshire belong to different authorities before and after
    a reorganisation). None when the name is unknown."""
    if not name:
        return None
    code = name.strip().upper()
    if re.fullmatch(r"E0[689]\d{6}|E10\d{6}|\d{3}", code):
        # a file that gives the authority's code (GSS, or DfE's 3-digit code)
        candidates = [la for la in reference() if code in (la.la_code, la.old_la_code)]
    else:
        candidates = _by_key().get(la_key(name))
    if not candidates:
        return None
    for la in candidates:
        if la.valid_on(on):
            return la
    # outside every validity window: the newest
    return max(candidates, key=lambda la: la.valid_from or "")


@cache
def _regions() -> dict[str, str]:
    return {la_key(la.region): la.region for la in reference() if la.region}


def canonical_region(name: str | None) -> str | None:
    """A region as the reference list spells it (``Yorkshire and the Humber``
    → ``Yorkshire and The Humber``), so one region is one group; other names
    unchanged."""
    if not name:
        return name
    return _regions().get(la_key(name), name)


def ensure_reference_data(db: Database) -> None:
    """Upsert the shipped reference list (cheap; safe to repeat)."""
    upsert_rows(
        db, "local_authorities", [asdict(la) for la in reference()], ("la_code",)
    )


# ------------------------------------------------------ who runs a home

OPERATORS = Path(__file__).parent / "data" / "council_operators.csv"

_COUNCIL_MARK = re.compile(
    r"\b(council|mbc|london borough|royal borough|borough of|city of|social care|la)\b"
)
_COUNCIL_WORDS = re.compile(
    r"\b(london borough of|royal borough of|metropolitan borough of|borough of|"
    r"city of|metropolitan district council|metropolitan borough council|"
    r"metropolitan borough|metropolitan|borough council|county council|"
    r"city council|district council|council|mbc|la|the|childrens services|"
    r"childrens social care|social care|children and families)\b"
)


def _owner_key(name: str) -> str:
    return re.sub(r"[’'`]", "", fold(name))


@cache
def council_operators() -> tuple[dict, ...]:
    """The shipped list of children's trusts and other companies a council
    owns, with the authorities that own them."""
    with open(OPERATORS, newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def councils_running(owner_name: str | None) -> tuple[tuple[str, str], ...]:
    """``(la_code, how)`` for each council that runs homes under this owner
    name: the council itself (``'Durham County Council'``) or its trust
    (``'Birmingham Children's Trust Community Interest Company'``)."""
    if not owner_name:
        return ()
    key = _owner_key(owner_name)
    for operator in council_operators():
        if re.search(rf"\b{operator['pattern']}\b", key):
            return tuple((code, "trust") for code in operator["la_codes"].split())
    if not _COUNCIL_MARK.search(key):
        return ()
    stripped = re.sub(r"\(.*?\)|\s-\s.*$", " ", key)
    stripped = re.sub(r"\s+", " ", _COUNCIL_WORDS.sub(" ", stripped)).strip()
    # every authority of that name over time (Somerset County Council ran
    # Somerset's homes before and after the 2023 reorganisation); a story
    # keeps those existing on its date
    found = _by_key().get(la_key(stripped), []) if stripped else []
    return tuple((la.la_code, "council") for la in found)


def derive_owner_councils(db: Database) -> None:
    """Fill `council_operators` (the shipped list, published) and
    `owner_councils` for every owner (upserts: nothing is removed)."""
    upsert_rows(
        db,
        "council_operators",
        [
            {
                "pattern": o["pattern"],
                "la_codes": o["la_codes"],
                "operator": o["operator"],
                "note": o["note"],
            }
            for o in council_operators()
        ],
        ("pattern",),
    )
    rows = [
        {"owner": owner_id, "la_code": code, "how": how}
        for owner_id, name in db.execute("select id, name from owners")
        for code, how in councils_running(name)
    ]
    upsert_rows(db, "owner_councils", rows, ("owner", "la_code"))
