"""Match incident rows to the registry's homes.

Matching takes the URN when a row gives one (or a remembered review
decision); otherwise it compares the provider (owner) name, and Ofsted's own
name where the registry has one, with rapidfuzz against the homes of the same
local authority (blocking), and uses places to tell an owner's homes apart. A
match is taken automatically only when it is sure; likely homes are kept as
candidates for ``ofsted-homes review``.

Row keys
--------
Review decisions are remembered under a row's ``row_key``: "the same home as
a file describes it" (URN, provider, local authority, name, address, postcode,
places). The key is published, and a plain hash of those fields could be
reversed by trying every postcode of a district, so ``row_key`` is an HMAC
under a secret key that is never written to any database: a file of 32 random
bytes (hex), made on first use, at ``$OFSTED_HOMES_ROW_KEY_FILE`` or else
``$XDG_CONFIG_HOME/ofsted-homes/row-key`` (``~/.config/ofsted-homes/row-key``).
Keep it (and back it up) with the registry: loads on another machine, or after
the key file is lost, make new row keys, so earlier review decisions are not
applied to them (they are asked again; nothing is lost or wrongly matched).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from extract.incidents import IncidentRecord
from extract.normalise import fold

ROW_KEY_ENV = "OFSTED_HOMES_ROW_KEY_FILE"


def row_key_file() -> Path:
    """Where the secret key of row keys lives (see the module docstring)."""
    given = os.environ.get(ROW_KEY_ENV)
    if given:
        return Path(given).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "ofsted-homes" / "row-key"


_secrets: dict[Path, bytes] = {}


def row_key_secret() -> bytes:
    """The secret key, made (mode 0600) on first use."""
    path = row_key_file()
    if path in _secrets:
        return _secrets[path]
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise ValueError(
            f"{path}: not a row-key file (64 hex digits expected); restore it from "
            f"your backup, or delete it to make a new one (${ROW_KEY_ENV} names another)"
        )
    _secrets[path] = secret
    return secret


def keyed(value: str, purpose: str = "row") -> str:
    """An HMAC-SHA-256 (16 hex digits) of ``value``: not reversible without the
    secret key, stable while the key file is kept."""
    message = f"{purpose}:{value}".encode()
    return hmac.new(row_key_secret(), message, hashlib.sha256).hexdigest()[:16]


def row_key(record: IncidentRecord) -> str:
    """The published key of "the same home as written in a file"."""
    return keyed(record.identity_key())


SURE_SCORE = 90  # best candidate at least this …
RIVAL_SCORE = 80  # … and no other candidate at least this
QUEUE_SCORE = 60  # candidates kept for review
MAX_CANDIDATES = 5


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
        key = row_key(record)
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
