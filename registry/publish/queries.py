"""The stories' SQL: one ``.sql`` file per canned query in ``datasette/queries/``
(``<name>.sql``), beside the metadata that gives its title, description and
parameters. ``fill_query_sql`` puts each file's text into the metadata when
the server starts; ``private_flag_sql`` composes the inspectors'
``flagged_homes_private`` from ``flagged_homes.sql``'s own parts.

The rules the stories share are not written in their SQL: the rating scale is
the registry's ``judgement_scale`` table and the Ofsted list in force on a day
is the ``list_dates`` view (``registry.schema.core``, migration
``m006_rules_as_reference``).

Example::

    metadata = yaml.safe_load(Path("metadata.yml").read_text())
    fill_query_sql(metadata, Path("datasette/queries"))
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from registry.errors import RegistryError

QUERIES_DIR = Path(str(resources.files("registry.publish").joinpath("site"))) / (
    "datasette/queries"
)

# flagged_homes.sql: its per-home counts come from this CTE; the private
# variant gives it the private database's counts as well, and selects every
# column of the CTE ``flagged`` (imported_from, private_incidents too).
COUNTS_CTE = "evidence_counts"
FLAGGED_CTE = "flagged"
PRIVATE_FLAG_SELECT = f"select * from {FLAGGED_CTE}\norder by incidents desc, urn"  # noqa: S608
_COUNT_COLUMNS = (
    "kind, period_start, period_end, source_name, licence, incidents_count, "
    "incidents_shown"
)
_MATCHED = "match_status = 'matched' and urn is not null"


def query_sql(name: str, folder: Path = QUERIES_DIR) -> str:
    """The SQL of canned query ``name``, from ``folder/<name>.sql``."""
    path = folder / f"{name}.sql"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise RegistryError(
            f"{path}: cannot read the SQL of the story {name} ({error.strerror}). "
            "Restore it from git, or reinstall ofsted-homes."
        ) from None


def fill_query_sql(metadata: dict[str, Any], folder: Path = QUERIES_DIR) -> None:
    """Give every canned query of ``metadata`` its SQL from ``folder``.
    metadata.yml holds no SQL itself: a query that has some there is refused,
    so each story's SQL is in one place."""
    for database in (metadata.get("databases") or {}).values():
        for name, query in (database.get("queries") or {}).items():
            if "sql" in query:
                raise RegistryError(
                    f"metadata.yml: the story {name} has its SQL inline; move it "
                    f"to {folder / (name + '.sql')} (the one place for it)."
                )
            query["sql"] = query_sql(name, folder)


# --------------------------------------------------------- composing by CTE

_SKIP = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)
_CTE_HEAD = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\s+as\s+(?:(?:not\s+)?materialized\s+)?\(", re.I
)


def _skip(sql: str, at: int) -> int:
    return _SKIP.match(sql, at).end()


def _closing(sql: str, at: int) -> int:
    """Index of the ``)`` closing the ``(`` just before ``at``, skipping
    strings, quoted names and comments."""
    depth = 1
    while at < len(sql):
        char = sql[at]
        if char in "'\"`[":
            end = {"[": "]"}.get(char, char)
            at = sql.index(end, at + 1) + 1
            continue
        if sql.startswith("--", at):
            at = sql.find("\n", at)
            at = len(sql) if at < 0 else at + 1
            continue
        if sql.startswith("/*", at):
            at = sql.index("*/", at) + 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return at
        at += 1
    raise ValueError("unbalanced parentheses")


def split_ctes(sql: str) -> tuple[list[tuple[str, str]], str]:
    """A ``with a as (...), b as (...) select ...`` query as its common table
    expressions [(name, definition as written after the name)] and its final
    statement."""
    at = _skip(sql, 0)
    if not re.match(r"with\b", sql[at:], re.I):
        raise ValueError("it does not start with WITH")
    at = _skip(sql, at + 4)
    ctes = []
    while True:
        head = _CTE_HEAD.match(sql, at)
        if not head:
            raise ValueError(f"no common table expression at {sql[at : at + 40]!r}")
        end = _closing(sql, head.end())
        ctes.append((head[1], sql[head.end(1) : end + 1].strip()))
        at = _skip(sql, end + 1)
        if not sql.startswith(",", at):
            return ctes, sql[at:].strip()
        at = _skip(sql, at + 1)


def join_ctes(ctes: list[tuple[str, str]], final: str) -> str:
    return (
        "with "
        + ",\n".join(f"{name} {definition}" for name, definition in ctes)
        + "\n"
        + final
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def private_counts_cte(registry: str, private: str) -> str:
    """The evidence counts of the registry and of the private database
    together; private rows have ``'private:' || source_id`` as their source."""
    # Identifiers only (database names, quoted): no values go into the SQL.
    reg, priv = _quoted(registry), _quoted(private)
    return (
        "as (\n"  # noqa: S608
        f"  select urn, source_id, {_COUNT_COLUMNS}, 'public registry' as evidence_from\n"
        f"  from {reg}.incident_counts where {_MATCHED}\n"
        "  union all\n"
        f"  select urn, 'private:' || source_id, {_COUNT_COLUMNS}, 'private database'\n"
        f"  from {priv}.incident_counts where {_MATCHED}\n"
        ")"
    )


def private_flag_sql(registry: str, private: str, public_sql: str | None = None) -> str:
    """``flagged_homes``' SQL for the ``_memory`` database (crossdb): the
    same common table expressions with ``evidence_counts`` made of the
    registry's and the private database's matched counts, selecting every
    column of ``flagged``. ``public_sql``: flagged_homes.sql's text (read
    from the file when not given)."""
    source = QUERIES_DIR / "flagged_homes.sql"
    sql = public_sql if public_sql is not None else query_sql("flagged_homes")
    try:
        ctes, _final = split_ctes(sql)
    except ValueError as error:
        raise RegistryError(
            f"{source}: cannot compose flagged_homes_private ({error}); keep "
            "flagged_homes a WITH query."
        ) from None
    names = [name for name, _ in ctes]
    for needed in (COUNTS_CTE, FLAGGED_CTE):
        if needed not in names:
            raise RegistryError(
                f"{source}: flagged_homes has no common table expression "
                f"{needed!r}, which flagged_homes_private is composed from; "
                "keep it (see registry/publish/queries.py)."
            )
    counts = private_counts_cte(registry, private)
    return join_ctes(
        [(name, counts if name == COUNTS_CTE else text) for name, text in ctes],
        PRIVATE_FLAG_SELECT,
    )
