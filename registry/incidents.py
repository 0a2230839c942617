"""Per-home missing-incident evidence: load FOI, police and inspectors' counts,
match each row to a home, and remember people's decisions about matches.

Every row of a file lands in ``incident_counts`` as **matched** (to a URN),
**queued** (candidates in ``match_candidates`` await ``ofsted-homes review``)
or **unmatched** (kept, visible, never dropped). Matching takes the URN when a
row gives one; otherwise it compares the provider (owner) name, and Ofsted's
own name where the registry has one, with rapidfuzz against the homes of the
same local authority (blocking), and uses places to tell an owner's homes
apart. A match is taken automatically only when it is sure.

Addresses and postcodes in the input are used for matching only: they are
hashed into ``row_key`` and never stored. A ``--private`` load goes to a
separate database (only ``serve --inspector`` attaches it); nothing of it is
written to the registry.

Small numbers: a per-home count of children from 1 to 4 is shown as ``<5``;
so is an incident count when the home has fewer than 5 places (or an unknown
number). The public registry does not keep the suppressed number at all.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process
from sqlite_utils import Database, Migrations

from extract.errors import ExtractError, StrictModeError
from extract.incidents import IncidentFile, IncidentRecord, read_incidents
from extract.normalise import fold, normalise_urn
from registry.errors import RegistryError
from registry.load import (
    FileResult,
    Source,
    record_problem,
    record_source,
    sha256_of,
    utc_now,
)

logger = logging.getLogger(__name__)

SURE_SCORE = 90  # best candidate at least this …
RIVAL_SCORE = 80  # … and no other candidate at least this
QUEUE_SCORE = 60  # candidates kept for review
MAX_CANDIDATES = 5
SUPPRESS_BELOW = 5

_INCIDENT_TABLES = """
CREATE TABLE incident_sources (
    source_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    file_name TEXT NOT NULL,
    licence TEXT,
    url TEXT,
    is_private INTEGER NOT NULL DEFAULT 0,
    shape TEXT,
    sheet TEXT,
    header_row INTEGER,
    columns TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    records_count INTEGER NOT NULL DEFAULT 0,
    matched_count INTEGER NOT NULL DEFAULT 0,
    queued_count INTEGER NOT NULL DEFAULT 0,
    unmatched_count INTEGER NOT NULL DEFAULT 0,
    loaded_at TEXT NOT NULL
) STRICT;

CREATE TABLE incident_counts (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES incident_sources(source_id),
    source_name TEXT NOT NULL,
    licence TEXT,
    file_rows TEXT NOT NULL,
    row_key TEXT NOT NULL,
    urn TEXT,
    match_status TEXT NOT NULL CHECK (match_status IN ('matched', 'queued', 'unmatched')),
    match_method TEXT CHECK (match_method IS NULL OR match_method IN ('urn', 'fuzzy', 'review')),
    match_score REAL,
    match_note TEXT,
    urn_as_published TEXT,
    provider_as_published TEXT,
    local_authority_as_published TEXT,
    la_code TEXT,
    places_as_published INTEGER,
    kind TEXT NOT NULL CHECK (kind IN ('missing', 'away', 'missing or away')),
    period_kind TEXT,
    period_label TEXT,
    period_start TEXT,
    period_end TEXT,
    incidents_count INTEGER,
    incidents_shown TEXT,
    children_count INTEGER,
    children_shown TEXT,
    is_suppressed INTEGER NOT NULL DEFAULT 0,
    is_per_incident INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE match_candidates (
    row_key TEXT NOT NULL,
    urn TEXT NOT NULL,
    score REAL NOT NULL,
    reasons TEXT,
    row_summary TEXT,
    home_summary TEXT,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    PRIMARY KEY (row_key, urn)
) STRICT;

CREATE TABLE match_decisions (
    row_key TEXT NOT NULL,
    urn TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject')),
    decided_at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (row_key, urn)
) STRICT;

CREATE INDEX idx_incident_counts_urn ON incident_counts(urn);
CREATE INDEX idx_incident_counts_row_key ON incident_counts(row_key);
CREATE INDEX idx_incident_counts_source ON incident_counts(source_id);
"""

_POLICE_TABLES = """
CREATE TABLE police_force_areas (
    la_code TEXT PRIMARY KEY,
    la_name TEXT NOT NULL,
    police_force TEXT NOT NULL
) STRICT;

CREATE TABLE police_missing_stats (
    year TEXT NOT NULL,
    year_ending INTEGER NOT NULL,
    police_force TEXT NOT NULL,
    measure TEXT NOT NULL,
    value REAL,
    symbol TEXT,
    force_as_published TEXT NOT NULL,
    footnotes TEXT,
    source_id TEXT NOT NULL REFERENCES sources(sha256),
    PRIMARY KEY (year, police_force, measure, source_id)
) STRICT;

CREATE INDEX idx_police_force_areas_force ON police_force_areas(police_force);
"""

_PRIVATE_PROVENANCE = """
CREATE TABLE sources (
    sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL, kind TEXT NOT NULL,
    description TEXT, as_at TEXT, year TEXT, release TEXT, url TEXT, fetched_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0, rows_loaded INTEGER NOT NULL DEFAULT 0,
    rows_skipped INTEGER NOT NULL DEFAULT 0, problems_count INTEGER NOT NULL DEFAULT 0,
    is_sample INTEGER NOT NULL DEFAULT 0, loaded_at TEXT NOT NULL
) STRICT;
CREATE TABLE problems (
    id TEXT PRIMARY KEY, source_id TEXT REFERENCES sources(sha256), file_name TEXT,
    sheet TEXT, row INTEGER, "column" TEXT, value TEXT, message TEXT NOT NULL
) STRICT;
"""

migrations = Migrations("ofsted-homes-incidents")


@migrations()
def m001_incidents(db: Database) -> None:
    db.executescript(_INCIDENT_TABLES + _POLICE_TABLES)
    from registry.police import sync_police_force_areas

    sync_police_force_areas(db)


# The private database (inspectors' Annex A counts, unpublished FOI material)
# holds only these tables; it never holds the registry's.
private_migrations = Migrations("ofsted-homes-incidents-private")


@private_migrations()
def m001_private_incidents(db: Database) -> None:
    db.executescript(_PRIVATE_PROVENANCE + _INCIDENT_TABLES)


def open_private(path: str | Path) -> Database:
    """Open (creating if needed) the private incidents database."""
    db = Database(path)
    db.execute("PRAGMA foreign_keys = ON")
    private_migrations.apply(db)
    return db


def default_private_path(registry_path: str | Path) -> Path:
    path = Path(registry_path)
    return path.with_name(f"{path.stem}.private.db")


# ----------------------------------------------------------------- matching


def _clean_name(text: str | None) -> str:
    key = fold(text or "").replace("&", " and ")
    key = re.sub(r"[^a-z0-9 ]+", " ", key)
    key = re.sub(
        r"\b(ltd|limited|plc|llp|cic|inc|the|company|co|uk|t a|trading as)\b", " ", key
    )
    return re.sub(r"\s+", " ", key).strip()


_LA_NOISE = re.compile(
    r"\b(london borough of|royal borough of|city of|county of|council|county|city|"
    r"borough|metropolitan|district|of|the|mbc|cc|bc)\b"
)
_LA_ALIASES = {
    "hull": "kingston upon hull",
    "durham": "durham",
    "bcp": "bournemouth christchurch and poole",
}


_LA_ABBREVIATIONS = {
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "ne": "north east",
    "nw": "north west",
}
_LA_SHORT = {
    "lancs": "lancashire",
    "worcs": "worcestershire",
    "glos": "gloucestershire",
    "herts": "hertfordshire",
    "notts": "nottinghamshire",
    "leics": "leicestershire",
    "staffs": "staffordshire",
    "wilts": "wiltshire",
    "bucks": "buckinghamshire",
    "cambs": "cambridgeshire",
    "northants": "northamptonshire",
    "oxon": "oxfordshire",
    "derbys": "derbyshire",
    "lincs": "lincolnshire",
    "beds": "bedfordshire",
}


def _clean_la(text: str | None) -> str:
    key = fold(text or "").replace("&", " and ").replace("st.", "st")
    key = re.sub(r"[^a-z0-9 ]+", " ", key)
    words = key.split()
    if words and words[0] in _LA_ABBREVIATIONS:
        words[0] = _LA_ABBREVIATIONS[words[0]]
    key = " ".join(_LA_SHORT.get(w, w) for w in words)
    key = _LA_NOISE.sub(" ", key)
    key = re.sub(r"\s+", " ", key).strip()
    return _LA_ALIASES.get(key, key)


@dataclass
class Home:
    urn: str
    la_code: str | None
    local_authority: str | None
    places: int | None
    owner: str | None
    name: str | None
    owner_key: str = ""
    name_key: str = ""

    def summary(self) -> str:
        parts = [
            self.urn,
            self.owner or "owner unknown",
            self.local_authority or "LA unknown",
        ]
        parts.append(
            f"{self.places} places" if self.places is not None else "places unknown"
        )
        return ", ".join(parts)


@dataclass
class Candidate:
    urn: str
    score: float
    reasons: str
    home_summary: str
    identity: float = 0.0  # owner/name similarity alone, before places


@dataclass
class Match:
    status: str  # matched / queued / unmatched
    urn: str | None = None
    method: str | None = None
    score: float | None = None
    note: str | None = None
    la_code: str | None = None
    candidates: list[Candidate] = field(default_factory=list)


class Matcher:
    """Matches incident rows to the registry's homes (see the module docstring)."""

    def __init__(
        self,
        registry: Database,
        decisions: Database | None = None,
        *,
        auto_fuzzy: bool = True,
    ):
        self.auto_fuzzy = auto_fuzzy
        self.homes: dict[str, Home] = {}
        self.by_la: dict[str, list[Home]] = {}
        self.la_names: dict[str, str] = {}  # cleaned name → la_code
        self._la_words: list[str] | None = None
        self._load_las(registry)
        self._load_homes(registry)
        decisions = decisions if decisions is not None else registry
        self.accepted: dict[str, str] = {}
        self.rejected: dict[str, set[str]] = {}
        if "match_decisions" in decisions.table_names():
            for row in decisions.query(
                "select row_key, urn, decision from match_decisions order by decided_at"
            ):
                if row["decision"] == "accept":
                    self.accepted[row["row_key"]] = row["urn"]
                else:
                    self.rejected.setdefault(row["row_key"], set()).add(row["urn"])

    def _load_las(self, db: Database) -> None:
        tables = set(db.table_names())
        codes: set[str] = set()
        if "local_authorities" in tables:
            for row in db.query(
                "select la_code, old_la_code, name from local_authorities"
            ):
                self.la_names.setdefault(_clean_la(row["name"]), row["la_code"])
                if row["old_la_code"]:
                    self.la_names.setdefault(str(row["old_la_code"]), row["la_code"])
                codes.add(row["la_code"])
        if "police_force_areas" in tables:
            for row in db.query("select la_code, la_name from police_force_areas"):
                self.la_names.setdefault(_clean_la(row["la_name"]), row["la_code"])
                codes.add(row["la_code"])
        for code in codes:
            self.la_names.setdefault(code.casefold(), code)

    def _load_homes(self, db: Database) -> None:
        columns = (
            {c.name for c in db["homes"].columns}
            if "homes" in db.table_names()
            else set()
        )
        if not columns:
            return
        name_sql = "h.name" if "name" in columns else "null"
        sql = f"""select h.urn, h.la_code, h.local_authority, h.places,
                  coalesce(o.name, h.owner) as owner, {name_sql} as name
                  from homes h left join owners o on o.id = h.owner"""  # noqa: S608
        for row in db.query(sql):
            home = Home(**row)
            home.owner_key = _clean_name(home.owner)
            home.name_key = _clean_name(home.name)
            la = home.la_code or self.resolve_la(home.local_authority)[0]
            home.la_code = la
            self.homes[home.urn] = home
            if la:
                self.by_la.setdefault(la, []).append(home)

    def resolve_la(self, text: str | None) -> tuple[str | None, str | None]:
        """An LA as written → (la_code, how), with a typo tolerated when one
        LA is clearly closest."""
        if not text:
            return None, None
        key = _clean_la(text)
        if text.strip().upper() in self.la_names.values():
            return text.strip().upper(), "code"
        if key in self.la_names:
            return self.la_names[key], "exact"
        if self._la_words is None:
            self._la_words = [
                k for k in self.la_names if not k[:1].isdigit() and k[:2] != "e0"
            ]
        found = process.extract(key, self._la_words, scorer=fuzz.ratio, limit=2)
        if not found or found[0][1] < 85:
            return None, None
        if len(found) > 1 and found[1][1] > found[0][1] - 5:
            return None, None
        how = "fuzzy sure" if found[0][1] >= 90 else f"fuzzy {found[0][1]:.0f}"
        return self.la_names[found[0][0]], how

    def match(self, record: IncidentRecord) -> Match:
        key = record.identity_key()
        la_code, la_how = self.resolve_la(record.local_authority)
        if key in self.accepted and self.accepted[key] in self.homes:
            return Match(
                "matched",
                self.accepted[key],
                "review",
                100,
                "accepted in review",
                la_code,
            )
        note = None
        if record.urn:
            if record.urn in self.homes:
                home = self.homes[record.urn]
                return Match("matched", record.urn, "urn", 100, None, home.la_code)
            note = f"URN {record.urn} is not in the registry"
        elif record.urn_as_published:
            note = f"URN {record.urn_as_published!r} is not a URN"
        if la_code is None:
            why = (
                f"local authority {record.local_authority!r} not recognised"
                if record.local_authority
                else "no local authority to block on"
            )
            return Match("unmatched", note=_join(note, why))
        candidates = self._score(record, la_code, key)
        candidates.sort(key=lambda c: (-c.score, c.urn))
        kept = [c for c in candidates if c.score >= QUEUE_SCORE][:MAX_CANDIDATES]
        if not kept:
            return Match(
                "unmatched",
                note=_join(note, "no home of that LA scores high enough"),
                la_code=la_code,
            )
        best = kept[0]
        # Sure only when no other home of the LA looks like the same owner or
        # name, whatever its places (places in FOI replies are often wrong),
        # the places agree, and the LA was recognised without doubt.
        rivals = [
            c for c in candidates if c.urn != best.urn and c.identity >= RIVAL_SCORE
        ]
        sure = (
            self.auto_fuzzy
            and best.score >= SURE_SCORE
            and best.identity >= SURE_SCORE
            and not rivals
            and note is None
            and "places agree" in best.reasons
            and la_how in ("code", "exact", "fuzzy sure")
        )
        if sure:
            return Match(
                "matched",
                best.urn,
                "fuzzy",
                best.score,
                f"{best.reasons}; LA {la_how}",
                la_code,
                kept,
            )
        return Match("queued", None, None, best.score, note, la_code, kept)

    def _score(self, record: IncidentRecord, la_code: str, key: str) -> list[Candidate]:
        owner_key = _clean_name(record.provider)
        name_key = _clean_name(record.home_name)
        rejected = self.rejected.get(key, set())
        out = []
        homes = self.by_la.get(la_code, [])
        owner_scores: dict[str, float] = {}
        if owner_key:
            choices = sorted({h.owner_key for h in homes if h.owner_key})
            owner_scores = {
                choice: score
                for choice, score, _ in process.extract(
                    owner_key, choices, scorer=fuzz.token_sort_ratio, limit=None
                )
            }
        if owner_key and not name_key:
            # Only the homes of look-alike owners can be candidates or rivals.
            close = {k for k, v in owner_scores.items() if v >= QUEUE_SCORE}
            homes = [h for h in homes if h.owner_key in close]
        for home in homes:
            if home.urn in rejected:
                continue
            scores, reasons = [], []
            if owner_key and home.owner_key:
                s = owner_scores[home.owner_key]
                scores.append(s)
                reasons.append(f"owner {s:.0f}")
            if name_key and home.name_key:
                s = fuzz.token_sort_ratio(name_key, home.name_key)
                scores.append(s)
                reasons.append(f"name {s:.0f}")
            identity = sum(scores) / len(scores) if scores else 0.0
            score = identity if scores else 50.0
            if record.places is not None and home.places is not None:
                if record.places == home.places:
                    reasons.append("places agree")
                else:
                    score -= 30
                    reasons.append(f"places {record.places}≠{home.places}")
            elif not scores:
                continue
            if score < QUEUE_SCORE and identity < RIVAL_SCORE:
                continue  # neither a candidate nor a rival
            out.append(
                Candidate(
                    home.urn,
                    round(score, 1),
                    ", ".join(reasons),
                    home.summary(),
                    identity,
                )
            )
        return out


def _join(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None


# ------------------------------------------------------------------ loading


@dataclass
class IncidentLoad:
    """What one call of :func:`load_incidents` did."""

    result: FileResult
    matched: int = 0
    queued: int = 0
    unmatched: int = 0


def load_incidents(
    registry: Database,
    path: Path,
    *,
    source_name: str,
    licence: str | None = None,
    url: str | None = None,
    private_db: Database | None = None,
    mapping: Mapping[str, str] | None = None,
    default_kind: str | None = None,
    strict: bool = False,
    auto_fuzzy: bool = True,
) -> IncidentLoad:
    """Load one incident file, matching its rows against ``registry``'s homes.

    With ``auto_fuzzy=False`` only URNs and remembered decisions match
    automatically; every other likely home waits for review.
    With ``private_db``, everything (counts, candidates, decisions, the file's
    provenance) goes there and nothing into ``registry``. One transaction:
    a failure leaves nothing behind.

    Example::

        load = load_incidents(open_registry("registry.db"), Path("foi.csv"),
                              source_name="Kent Police FOI 2023/0412")
    """
    path = Path(path)
    target = private_db if private_db is not None else registry
    try:
        source = Source(path, sha256_of(path), url)
    except OSError as error:
        raise RegistryError(f"{path}: cannot read it ({error.strerror})") from None
    if target["incident_sources"].count_where("source_id = ?", [source.sha256]):
        return IncidentLoad(
            FileResult(
                path,
                True,
                f"{path.name}: already loaded (same SHA-256), skipped",
                skipped=True,
                kind="incidents",
            )
        )
    parsed = read_incidents(path, mapping=mapping, default_kind=default_kind)
    if strict and parsed.problems:
        row, column, message, value = parsed.problems[0]
        raise StrictModeError(
            f"{path.name} row {row}, {column}: {message} ({value!r}); fix the cell or load without --strict"
        )
    matcher = Matcher(registry, decisions=target, auto_fuzzy=auto_fuzzy)
    private = private_db is not None
    with target.conn:
        load = _write(target, matcher, source, parsed, source_name, licence, private)
    return load


def _write(
    db: Database,
    matcher: Matcher,
    source: Source,
    parsed: IncidentFile,
    source_name: str,
    licence: str | None,
    private: bool,
) -> IncidentLoad:
    counts = {"matched": 0, "queued": 0, "unmatched": 0}
    rows = []
    candidates = []
    for record in parsed.records:
        match = matcher.match(record)
        counts[match.status] += 1
        key = record.identity_key()
        home = matcher.homes.get(match.urn) if match.urn else None
        rows.append(
            _count_row(source, source_name, licence, record, match, home, key, private)
        )
        summary = _row_summary(record, source.file_name)
        candidates.extend(
            {
                "row_key": key,
                "urn": c.urn,
                "score": c.score,
                "reasons": c.reasons,
                "row_summary": summary,
                "home_summary": c.home_summary,
                "status": "open",
            }
            for c in match.candidates
            if match.status == "queued"
        )
    record_source(
        db,
        source,
        kind="incidents",
        description=source_name,
        rows_read=parsed.rows_read,
        rows_loaded=len(rows),
        problems_count=len(parsed.problems),
    )
    db["incident_sources"].insert(
        {
            "source_id": source.sha256,
            "name": source_name,
            "file_name": source.file_name,
            "licence": licence,
            "url": source.url,
            "is_private": int(private),
            "shape": parsed.shape,
            "sheet": parsed.sheet,
            "header_row": parsed.header_row,
            "columns": ", ".join(f"{k}={v}" for k, v in parsed.columns.items()),
            "rows_read": parsed.rows_read,
            "records_count": len(rows),
            "matched_count": counts["matched"],
            "queued_count": counts["queued"],
            "unmatched_count": counts["unmatched"],
            "loaded_at": utc_now(),
        }
    )
    db["incident_counts"].upsert_all(rows, pk="id")
    # INSERT OR IGNORE: a candidate already reviewed keeps its status.
    db["match_candidates"].insert_all(candidates, ignore=True)
    for row, column, message, value in parsed.problems:
        record_problem(
            db,
            source,
            message,
            sheet=parsed.sheet,
            row=row,
            column=column,
            value=None if column in ("address", "postcode") else value,
        )
    summary = (
        f"{source.file_name}: {len(rows)} counts from {parsed.rows_read} rows "
        f"({parsed.shape}) — {counts['matched']} matched, {counts['queued']} queued "
        f"for review, {counts['unmatched']} unmatched"
        + (f", {len(parsed.problems)} problems" if parsed.problems else "")
        + (" [private]" if private else "")
    )
    return IncidentLoad(
        FileResult(source.path, True, summary, kind="incidents", counts=counts),
        **counts,
    )


def _row_summary(record: IncidentRecord, file_name: str) -> str:
    """What a reviewer sees of a row: never the address or the home's name."""
    parts = [f"{file_name} row {record.rows[0]}"]
    if record.urn_as_published:
        parts.append(f"URN {record.urn_as_published}")
    if record.provider:
        parts.append(f"provider {record.provider!r}")
    if record.local_authority:
        parts.append(f"LA {record.local_authority!r}")
    if record.places is not None:
        parts.append(f"{record.places} places")
    if record.home_name or record.address or record.postcode:
        parts.append("name/address: see the file")
    return ", ".join(parts)


def _shown(
    count: int | None, published: str | None, suppress: bool
) -> tuple[str | None, bool]:
    if count is None:
        return published, False
    if suppress and 0 < count < SUPPRESS_BELOW:
        return f"<{SUPPRESS_BELOW}", True
    return str(count), False


def _count_row(source, source_name, licence, record, match, home, key, private) -> dict:
    places = home.places if home and home.places is not None else record.places
    small_home = places is None or places < SUPPRESS_BELOW
    incidents_shown, incidents_hidden = _shown(
        record.incidents, record.incidents_as_published, small_home
    )
    children_shown, children_hidden = _shown(
        record.children, record.children_as_published, True
    )
    period = record.period
    ident = hashlib.sha1(
        "|".join(
            [
                source.sha256,
                key,
                record.kind,
                period.label if period else "",
                str(record.rows[0]),
            ]
        ).encode()
    ).hexdigest()[:20]
    return {
        "id": ident,
        "source_id": source.sha256,
        "source_name": source_name,
        "licence": licence,
        "file_rows": _rows_text(record.rows),
        "row_key": key,
        "urn": match.urn,
        "match_status": match.status,
        "match_method": match.method,
        "match_score": match.score,
        "match_note": match.note,
        "urn_as_published": record.urn_as_published,
        "provider_as_published": record.provider,
        "local_authority_as_published": record.local_authority,
        "la_code": match.la_code,
        "places_as_published": record.places,
        "kind": record.kind,
        "period_kind": period.kind if period else None,
        "period_label": period.label if period else None,
        "period_start": period.start.isoformat() if period else None,
        "period_end": period.end.isoformat() if period else None,
        # The public registry never holds a suppressed number; the private one does.
        "incidents_count": record.incidents
        if (private or not incidents_hidden)
        else None,
        "incidents_shown": incidents_shown,
        "children_count": record.children if (private or not children_hidden) else None,
        "children_shown": children_shown,
        "is_suppressed": int(incidents_hidden or children_hidden),
        "is_per_incident": int(record.is_per_incident),
    }


def _rows_text(rows: tuple[int, ...]) -> str:
    """(5, 6, 7, 9) → "5-7, 9"."""
    spans: list[list[int]] = []
    for number in sorted(rows):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


# ------------------------------------------------------------------- review


def open_reviews(db: Database) -> list[dict]:
    """Queued rows (one per row_key) with their open candidates, best first."""
    reviews: dict[str, dict] = {}
    for row in db.query(
        """select c.row_key, c.urn, c.score, c.reasons, c.row_summary, c.home_summary
           from match_candidates c
           where c.status = 'open' and exists (
               select 1 from incident_counts i
               where i.row_key = c.row_key and i.match_status = 'queued')
           order by c.row_key, c.score desc, c.urn"""
    ):
        review = reviews.setdefault(
            row["row_key"],
            {"row_key": row["row_key"], "row": row["row_summary"], "candidates": []},
        )
        review["candidates"].append(
            {k: row[k] for k in ("urn", "score", "reasons", "home_summary")}
        )
    return list(reviews.values())


def decide(
    db: Database, row_key: str, urn: str, decision: str, *, note: str | None = None
) -> int:
    """Accept or reject ``urn`` for every row with ``row_key``; remembered in
    ``match_decisions`` so later loads of the same home decide the same way.
    Returns the number of incident rows changed."""
    if decision not in ("accept", "reject"):
        raise RegistryError(f"decision must be accept or reject, not {decision!r}")
    if normalise_urn(urn) != urn:
        raise RegistryError(f"{urn!r} is not a URN (SC and 6 digits, or 7 digits)")
    if "homes" in db.table_names() and not db["homes"].count_where("urn = ?", [urn]):
        raise RegistryError(f"{urn} is not a home in the registry")
    if not db["incident_counts"].count_where("row_key = ?", [row_key]):
        raise RegistryError(
            f"no incident rows with key {row_key!r}; list them with `ofsted-homes review DB`"
        )
    with db.conn:
        db["match_decisions"].upsert(
            {
                "row_key": row_key,
                "urn": urn,
                "decision": decision,
                "decided_at": utc_now(),
                "note": note,
            },
            pk=("row_key", "urn"),
        )
        db.execute(
            "update match_candidates set status = ? where row_key = ? and urn = ?",
            ["accepted" if decision == "accept" else "rejected", row_key, urn],
        )
        if decision == "accept":
            cursor = db.execute(
                """update incident_counts set urn = ?, match_status = 'matched',
                   match_method = 'review', match_score = 100, match_note = 'accepted in review'
                   where row_key = ?""",
                [urn, row_key],
            )
            db.execute(
                "update match_candidates set status = 'rejected' where row_key = ? and urn != ? and status = 'open'",
                [row_key, urn],
            )
            return cursor.rowcount
        left = db["match_candidates"].count_where(
            "row_key = ? and status = 'open'", [row_key]
        )
        if left == 0:
            cursor = db.execute(
                """update incident_counts set match_status = 'unmatched',
                   match_note = 'every candidate rejected in review'
                   where row_key = ? and match_status = 'queued'""",
                [row_key],
            )
            return cursor.rowcount
        return 0


# ---------------------------------------------------------------------- CLI

import click  # noqa: E402  (the commands below are registered in registry.cli)


def _mapping(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    mapping = {}
    for value in values:
        column, sep, name = value.rpartition("=")
        if not sep or not column.strip() or not name.strip():
            raise click.BadParameter(
                f"{value!r}: write it as COLUMN=FIELD, e.g. 'Beds=places'"
            )
        mapping[column.strip()] = name.strip()
    return mapping


@click.command("load-incidents")
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--source",
    "source_name",
    required=True,
    help='Who published the file, e.g. "Kent Police FOI 2023/0412"',
)
@click.option(
    "--licence", help='Licence of the figures, e.g. "Open Government Licence v3.0"'
)
@click.option("--url", help="Where the file was published")
@click.option(
    "--private",
    is_flag=True,
    help="Write into the private database (inspectors' Annex A counts, unpublished FOI material)",
)
@click.option(
    "--private-db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The private database [default: DB_PATH's name + .private.db]",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    callback=_mapping,
    help="COLUMN=FIELD for a header the reader does not know (fields: urn, home_name, provider, local_authority, address, postcode, places, period, date, period_start, period_end, incidents, children, kind)",
)
@click.option(
    "--kind",
    "default_kind",
    type=click.Choice(["missing", "away", "missing or away"]),
    help="The kind of incident when the file does not say",
)
@click.option(
    "--auto-match",
    is_flag=True,
    help=(
        "Also match automatically by owner, local authority and places when exactly "
        "one home fits. Off by default: on a labelled set it was right 96% of the "
        "time, and a wrong match is worse than a queued one (a row about a home the "
        "registry lacks can land on its only sibling)"
    ),
)
@click.option("--strict", is_flag=True, help="Refuse a file on its first bad cell")
@click.option("--silent", is_flag=True, help="No summary lines")
@click.option("-v", "--verbose", is_flag=True, help="Log every step")
def load_incidents_command(
    db_path,
    files,
    source_name,
    licence,
    url,
    private,
    private_db,
    mapping,
    default_kind,
    auto_match,
    strict,
    silent,
    verbose,
):
    """Load per-home missing-incident counts (FOI replies, police or council
    disclosures, inspectors' Annex A counts) and match them to homes.

    Each file is CSV or XLSX with one row per home and period, or one row per
    incident (counted per home and financial year). Rows with a URN (or an
    earlier review decision) match automatically; for the others the likely
    homes (by provider, local authority and places) wait for `ofsted-homes
    review`, unless --auto-match is given. Addresses are used for matching
    only, never stored.

    Example:

    \b
        ofsted-homes load-incidents registry.db foi-kent-2023.xlsx \\
            --source "Kent Police FOI 2023/0412" --map "Beds=places"
        ofsted-homes load-incidents registry.db annex-a.csv --source "Annex A" --private
    """
    from registry.cli import configure_logging
    from registry.db import open_registry

    configure_logging(verbose, silent)
    if not Path(db_path).exists():
        raise click.ClickException(
            f"{db_path}: no such registry; create it with `ofsted-homes load {db_path} FILES`"
        )
    registry = open_registry(db_path)
    target = None
    if private or private_db:
        target = open_private(private_db or default_private_path(db_path))
    failed = 0
    for path in files:
        try:
            load = load_incidents(
                registry,
                path,
                source_name=source_name,
                licence=licence,
                url=url,
                private_db=target,
                mapping=mapping,
                default_kind=default_kind,
                strict=strict,
                auto_fuzzy=auto_match,
            )
        except (ExtractError, RegistryError) as error:
            failed += 1
            click.echo(f"Error: {error}", err=True)
            continue
        if not silent:
            click.echo(load.result.summary, err=True)
    if failed:
        raise SystemExit(1)


@click.command("review")
@click.argument("db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--accept",
    "accepts",
    multiple=True,
    metavar="ROW_KEY=URN",
    help="Accept URN for the rows with ROW_KEY",
)
@click.option(
    "--reject",
    "rejects",
    multiple=True,
    metavar="ROW_KEY=URN",
    help="Reject URN for the rows with ROW_KEY",
)
@click.option(
    "--interactive", "-i", is_flag=True, help="Ask about each queued row in turn"
)
@click.option("--silent", is_flag=True, help="No summary lines")
@click.option("-v", "--verbose", is_flag=True, help="Log every step")
def review_command(db_path, accepts, rejects, interactive, silent, verbose):
    """Review unsure matches of incident rows to homes.

    Without options, lists every queued row and its candidate homes (to
    stdout, tab-separated: row_key, urn, score, reasons, home, row). Decisions
    are remembered: a later load of the same home decides the same way. DB_PATH
    is the registry or the private database.

    Example:

    \b
        ofsted-homes review registry.db
        ofsted-homes review registry.db --accept 3f2a9c0d1e2b4a5c=SC123456
        ofsted-homes review registry.private.db --interactive
    """
    from registry.cli import configure_logging

    configure_logging(verbose, silent)
    db = Database(db_path)
    if "match_candidates" not in db.table_names():
        raise click.ClickException(
            f"{db_path}: no incident tables; load a file with `ofsted-homes load-incidents` first"
        )
    changed = 0
    try:
        for value, decision in [(a, "accept") for a in accepts] + [
            (r, "reject") for r in rejects
        ]:
            row_key, sep, urn = value.partition("=")
            if not sep:
                raise click.BadParameter(f"{value!r}: write it as ROW_KEY=URN")
            changed += decide(db, row_key.strip(), urn.strip().upper(), decision)
        if interactive:
            changed += _interactive(db)
    except RegistryError as error:
        raise click.ClickException(str(error)) from None
    if accepts or rejects or interactive:
        if not silent:
            click.echo(f"{changed} incident rows changed", err=True)
        return
    reviews = open_reviews(db)
    for review in reviews:
        for c in review["candidates"]:
            click.echo(
                "\t".join(
                    [
                        review["row_key"],
                        c["urn"],
                        f"{c['score']:.0f}",
                        c["reasons"] or "",
                        c["home_summary"] or "",
                        review["row"] or "",
                    ]
                )
            )
    if not silent:
        click.echo(f"{len(reviews)} rows wait for review", err=True)


def _interactive(db: Database) -> int:
    changed = 0
    for review in open_reviews(db):
        click.echo(f"\n{review['row']}  [{review['row_key']}]", err=True)
        for number, c in enumerate(review["candidates"], start=1):
            click.echo(
                f"  {number}. {c['home_summary']}  score {c['score']:.0f} ({c['reasons']})",
                err=True,
            )
        answer = click.prompt(
            "Accept which (number), n = none of these, s = skip", default="s", err=True
        )
        if answer.isdigit() and 1 <= int(answer) <= len(review["candidates"]):
            changed += decide(
                db,
                review["row_key"],
                review["candidates"][int(answer) - 1]["urn"],
                "accept",
            )
        elif answer.strip().lower() == "n":
            for c in review["candidates"]:
                changed += decide(db, review["row_key"], c["urn"], "reject")
    return changed
