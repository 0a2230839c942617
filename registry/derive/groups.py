"""Owner groups: a user's mapping of owners (legal names, as Ofsted publishes
them) to the groups they belong to, with the source of each claim.

Ofsted names the company that owns a home ("Keys Child Care Ltd", "Keys Care
Limited"), not its group. A mapping file says which owners belong together:

    owner,pattern,group,source
    Keys Child Care Ltd,,Keys Group,Companies House: PSC of 01234567 (2025-01-10)
    ,Cambian*,Cambian Group,CMA children's social care market study (2022)

Each row gives either ``owner`` (an exact owner name; ``Ltd``/``Limited`` and
case do not matter) or ``pattern`` (case-insensitive, ``*`` for any text),
the ``group`` and the ``source`` of the claim. The file is kept as a source
(SHA-256, and ``--sample`` marks a sample mapping); every rule keeps its row
and claim; which owners it matched is derived (`owner_groups`), so owners
that appear in later lists join their group. Nothing in the project is
shipped as fact: the groups are the loader's claims.

Example::

    ofsted-homes load-groups registry.db groups.csv
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlite_utils import Database

from extract.errors import ExtractError
from extract.normalise import owner_id
from extract.tables import read_sheets
from registry.provenance import Source, record_source, sha256_of
from registry.upsert import upsert_rows


class GroupsFileError(ValueError):
    """A mapping file that cannot be loaded (one line: file, row, fix)."""


def _pattern_regex(pattern: str) -> re.Pattern:
    parts = (re.escape(p) for p in pattern.strip().split("*"))
    return re.compile("^" + ".*".join(parts) + "$", re.IGNORECASE)


def read_mapping(path: Path) -> list[dict]:
    """The rules of a mapping file, or :class:`GroupsFileError`."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GroupsFileError(
            f"{path.name}: not UTF-8 text; save the mapping as a UTF-8 CSV"
        ) from None
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise GroupsFileError(
            f"{path.name}: a workbook, not a CSV file; save the mapping as a UTF-8 CSV"
        )
    try:
        # The loader's CSV reader: a line it cannot parse (a field over the
        # size limit, a stray quote) is a one-line refusal naming the line.
        (sheet,) = read_sheets(path)
    except ExtractError as error:
        raise GroupsFileError(str(error)) from None
    rows = sheet.rows
    names = [str(h) for h in rows[0]] if rows else []
    header = {h.strip().lower(): index for index, h in enumerate(names)}
    if (
        "group" not in header
        or "source" not in header
        or not ({"owner", "pattern"} & set(header))
    ):
        raise GroupsFileError(
            f"{path.name}: the header must have the columns owner (or pattern), "
            f"group and source; it has {', '.join(h for h in header if h) or 'nothing'}"
        )
    rules = []
    for number, raw in enumerate(rows[1:], start=2):
        row = {
            k: (str(raw[i]) if i < len(raw) else "").strip() for k, i in header.items()
        }
        if not any(row.values()):
            continue
        owner, pattern = row.get("owner", ""), row.get("pattern", "")
        where = f"{path.name} row {number}"
        if bool(owner) == bool(pattern):
            raise GroupsFileError(
                f"{where}: give either owner (an exact owner name) or pattern "
                "(for example Keys*), not both and not neither"
            )
        if not row["group"]:
            raise GroupsFileError(f"{where}: the group is empty; name the group")
        if not row["source"]:
            raise GroupsFileError(
                f"{where}: the source is empty; say where the claim that "
                f"{owner or pattern!r} belongs to {row['group']!r} comes from"
            )
        if pattern and not pattern.replace("*", "").strip():
            raise GroupsFileError(
                f"{where}: the pattern {pattern!r} matches every owner; give part of a name"
            )
        rules.append(
            {
                "row": number,
                "match": owner or pattern,
                "match_kind": "exact" if owner else "pattern",
                "group": row["group"],
                "claim_source": row["source"],
            }
        )
    if not rules:
        raise GroupsFileError(f"{path.name}: no rules (only a header)")
    return rules


def load_groups(
    db: Database, path: Path, *, is_sample: bool = False
) -> tuple[bool, str]:
    """Load one mapping file in one transaction; (loaded?, summary line)."""
    path = Path(path)
    source = Source(path, sha256_of(path), is_sample=is_sample)
    if db["sources"].count_where("sha256 = ?", [source.sha256]):
        return False, f"{path.name}: already loaded (same SHA-256), skipped"
    rules = read_mapping(path)
    with db.atomic():
        record_source(
            db,
            source,
            kind="owner-groups" + ("-sample" if is_sample else ""),
            description="Owner-to-group mapping"
            + (" (SAMPLE: not a claim about real owners)" if is_sample else ""),
            rows_read=len(rules),
            rows_loaded=len(rules),
        )
        upsert_rows(
            db,
            "groups",
            [{"id": owner_id(r["group"]), "name": r["group"]} for r in rules],
            ("id",),
            when="excluded.name < groups.name",
        )
        upsert_rows(
            db,
            "owner_group_rules",
            [
                {
                    "id": hashlib.sha1(
                        f"{source.sha256}|{r['row']}".encode()
                    ).hexdigest()[:20],
                    "match": r["match"],
                    "match_kind": r["match_kind"],
                    "group_id": owner_id(r["group"]),
                    "claim_source": r["claim_source"],
                    "source_id": source.sha256,
                    "row": r["row"],
                }
                for r in rules
            ],
            ("id",),
        )
        derive_owner_groups(db)
    matched = db.execute(
        "select count(distinct g.owner), count(distinct g.group_id) from owner_groups g "
        "join owner_group_rules r on r.id = g.rule_id where r.source_id = ?",
        [source.sha256],
    ).fetchone()
    unmatched = db.execute(
        "select count(*) from owner_group_rules r where r.source_id = ? and not exists "
        "(select 1 from owner_groups g where g.rule_id = r.id)",
        [source.sha256],
    ).fetchone()[0]
    summary = (
        f"{path.name}: {len(rules):,} rules, {matched[0]:,} owners in {matched[1]:,} "
        f"groups; {unmatched:,} rules matched no owner"
        + (" (SAMPLE mapping)" if is_sample else "")
    )
    return True, summary


def derive_owner_groups(db: Database) -> None:
    """Which owners each rule matches, by every spelling an owner has been
    published under (upserts: a match once made is kept)."""
    if "owner_group_rules" not in db.table_names():
        return
    rules = list(
        db.execute(
            "select id, match, match_kind, group_id from owner_group_rules order by id"
        )
    )
    if not rules:
        return
    spellings: dict[str, set[str]] = {}
    for owner, name in db.execute(
        "select id, name from owners union "
        "select owner, owner_as_published from home_snapshots "
        "where owner is not null and owner_as_published is not null"
    ):
        spellings.setdefault(owner, set()).add(name)
    rows = []
    for rule_id, match, kind, group_id in rules:
        if kind == "exact":
            key = owner_id(match)
            if key in spellings:
                rows.append({"owner": key, "group_id": group_id, "rule_id": rule_id})
            continue
        regex = _pattern_regex(match)
        for owner, names in spellings.items():
            if any(regex.match(n) for n in names):
                rows.append({"owner": owner, "group_id": group_id, "rule_id": rule_id})
    # of two rules for the same owner and group, the smallest id (stable)
    rows.sort(key=lambda r: r["rule_id"], reverse=True)
    upsert_rows(
        db,
        "owner_groups",
        rows,
        ("owner", "group_id"),
        when="excluded.rule_id < owner_groups.rule_id",
    )
