"""Publish a registry with Datasette: public (read-only, hardened) or inspector
(login required, arbitrary SQL, optional private database).

``datasette_options()`` is the one place that decides how the registry is
served; ``make_datasette()`` turns it into a Datasette instance (tests and
``ofsted-homes demo`` use it), and the ``serve`` command runs it with uvicorn,
as ``datasette serve`` does.

Example::

    ds = make_datasette("registry.db")
    response = await ds.client.get("/registry/homes.json")
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
from contextlib import closing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from registry.errors import RegistryError
from registry.incidents.incidents import unmigrated_reason
from registry.publish.queries import fill_query_sql, private_flag_sql

logger = logging.getLogger(__name__)


def _site(name: str) -> Path:
    """A file or folder of the publishing site, package data of
    ``registry.publish`` (``site/metadata.yml`` and ``site/datasette/``: in a
    checkout, links to the top-level ``metadata.yml`` and ``datasette/``; in
    an installed wheel, copies of them)."""
    found = resources.files("registry.publish").joinpath("site", name)
    if not isinstance(found, Path):  # e.g. installed as a zip file
        raise RegistryError(
            f"{found}: the publishing site must be on the file system; "
            "install ofsted-homes with pip (not as a zipped package)"
        )
    return found


METADATA_PATH = _site("metadata.yml")
ASSETS_DIR = _site("datasette")
STATIC_MOUNT = "assets"
# The database name metadata.yml describes; a file with another stem is
# published under its own name with the same metadata.
METADATA_DATABASE = "registry"
PASSWORD_HASH_ENV = "OFSTED_HOMES_INSPECTOR_PASSWORD_HASH"
INSPECTOR_ACCOUNT = "inspector"
# Inspector mode: Datasette's crossdb database, and the canned query in it
# that computes flagged_homes with the private counts as well.
CROSSDB_DATABASE = "_memory"
PRIVATE_FLAG_QUERY = "flagged_homes_private"
PRIVATE_FLAG_DESCRIPTION = """\
<p>The same flag as <code>flagged_homes</code> (same SQL, same parameters
<code>min_incidents</code> and <code>months</code>, defaults 5 and 24), computed with
the matched counts of the private database <code>{private}</code> (inspectors' Annex A
counts, unpublished FOI material) added to the public evidence of
<code>{registry}</code>. A home is listed when its latest full inspection was Good or
Outstanding and the largest count of one source and kind in the window, public or
private, or the largest count quoted from its reports, reaches
<code>min_incidents</code>.</p>
<p>Where each component came from: <code>imported_from</code> says whether the count
in the <code>imported_…</code> columns is from the <strong>private database</strong>
or the <strong>public registry</strong>; <code>private_incidents</code> is the
largest private total in the window even when a public count is larger; report
counts and quotes are always public. Percentiles rank homes with public or private
counts together.</p>
<p>Caveats: private counts are not suppressed (a count of 1 to 4 at a small home is
used as it is), so never publish this page or its CSV. Only counts matched to a home
are used: review queued private rows with
<code>ofsted-homes review {private}.db</code> first.</p>"""

# Public: journalists browsing; tight limits so arbitrary
# SQL cannot starve the pages. Inspector: logged-in users, longer SQL.
PUBLIC_SETTINGS: dict[str, Any] = {
    "sql_time_limit_ms": 1000,
    "max_returned_rows": 1000,
    "facet_time_limit_ms": 200,
    "suggest_facets": False,
    "allow_csv_stream": True,
    "max_csv_mb": 25,
    "default_cache_ttl": 3600,
    "trace_debug": False,
    "template_debug": False,
    "allow_download": True,
    "num_sql_threads": 3,
}
# Arbitrary-SQL requests allowed to run at once in public mode, of the 3
# query threads: one is always left for pages, tables and facets.
PUBLIC_MAX_CONCURRENT_SQL = 2
INSPECTOR_SETTINGS: dict[str, Any] = {
    **PUBLIC_SETTINGS,
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 1000,
    "default_cache_ttl": 0,
    "num_sql_threads": 4,
}


def load_metadata(database_name: str, path: Path = METADATA_PATH) -> dict[str, Any]:
    """metadata.yml, with its ``registry`` database entry renamed to
    ``database_name`` (Datasette names a database after its file) and the SQL
    of canned queries folded away unless a query says ``hide_sql: false``."""
    try:
        metadata = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RegistryError(
            f"{path}: cannot read the publishing metadata ({error}). "
            "Restore metadata.yml from git, or reinstall ofsted-homes."
        ) from None
    databases = metadata.setdefault("databases", {})
    # Each story's SQL is its own file, datasette/queries/<name>.sql.
    fill_query_sql(metadata, path.parent / ASSETS_DIR.name / "queries")
    if database_name != METADATA_DATABASE and METADATA_DATABASE in databases:
        databases[database_name] = databases.pop(METADATA_DATABASE)
    for database in databases.values():
        for query in (database.get("queries") or {}).values():
            # Stories open on their form and results; "show" reveals the SQL.
            query.setdefault("hide_sql", True)
    return metadata


# How a private database (``load-incidents --private``) is recognised: its
# sqlite-utils migration set, or any incident source loaded as private.
PRIVATE_MIGRATION_SET = "ofsted-homes-incidents-private"
PRIVATE_SUFFIX = ".private.db"
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def private_marks(path: Path) -> list[str]:
    """Why ``path`` holds private data (empty when it does not): its name, the
    private migration set, or incident sources loaded with ``--private``."""
    marks = []
    if path.name.endswith(PRIVATE_SUFFIX):
        marks.append(f"its name ends in {PRIVATE_SUFFIX}")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {
                name
                for (name,) in conn.execute(
                    "select name from sqlite_master where type = 'table'"
                )
            }
            if (
                "_sqlite_migrations" in tables
                and conn.execute(
                    "select 1 from _sqlite_migrations where migration_set = ?",
                    [PRIVATE_MIGRATION_SET],
                ).fetchone()
            ):
                marks.append("it was made by load-incidents --private")
            if "incident_sources" in tables:
                columns = {
                    row[1]
                    for row in conn.execute("pragma table_info(incident_sources)")
                }
                if (
                    "is_private" in columns
                    and conn.execute(
                        "select 1 from incident_sources where is_private != 0 limit 1"
                    ).fetchone()
                ):
                    marks.append("it holds incident counts loaded with --private")
    except sqlite3.Error as error:
        raise RegistryError(
            f"{path}: not an SQLite database ({error}). Serve a registry built "
            f"with ofsted-homes load."
        ) from None
    return marks


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def datasette_options(
    db_path: str | Path,
    *,
    inspector: bool = False,
    private_db: str | Path | None = None,
    metadata_path: Path = METADATA_PATH,
    behind_tls_proxy: bool = False,
    public_url: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``datasette.app.Datasette`` serving ``db_path``.

    Every database is opened immutable (read-only, no locking): none is ever
    changed in place, every write publishes a new file over it
    (``registry.writes``), and the ``ofsted_reload`` plugin serves each new
    file from the next request on. Public mode
    refuses a private database; inspector mode requires a login for every
    page (the password hash comes from the environment variable
    ``OFSTED_HOMES_INSPECTOR_PASSWORD_HASH``).
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        raise RegistryError(
            f"{db_path}: no such registry. Build one first: "
            f"ofsted-homes load {db_path} FILES..."
        )
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        # Opened immutable, SQLite would not read the changes still in the WAL.
        raise RegistryError(
            f"{db_path}: {wal.name} holds changes not yet in the database (a "
            "writer has it open, or stopped without closing it). Serve a "
            "published snapshot, or let the writer finish and close it."
        )
    if private_db is not None and not inspector:
        raise RegistryError(
            f"--private-db {private_db}: a private database is only served in "
            "inspector mode. Add --inspector (and set "
            f"{PASSWORD_HASH_ENV})."
        )
    if not inspector:
        unmigrated = unmigrated_reason(db_path)
        if unmigrated:
            raise RegistryError(unmigrated)
        marks = private_marks(db_path)
        if marks:
            raise RegistryError(
                f"{db_path}: a private database ({'; '.join(marks)}); public "
                "mode never serves private data. Serve the public registry, or "
                "open this one with --inspector."
            )
    immutables = [str(db_path)]
    if private_db is not None:
        private_db = Path(private_db)
        if not private_db.is_file():
            raise RegistryError(f"--private-db {private_db}: no such file")
        if private_db.stem == db_path.stem:
            raise RegistryError(
                f"--private-db {private_db}: it has the same name as the "
                f"registry ({db_path.name}); rename one of them."
            )
        immutables.append(str(private_db))
    metadata = load_metadata(db_path.stem, metadata_path)
    settings = dict(INSPECTOR_SETTINGS if inspector else PUBLIC_SETTINGS)
    plugins = metadata.setdefault("plugins", {})
    # datasette/plugins/ofsted_guard.py and ofsted_sessions.py.
    plugins["ofsted-homes"] = {
        "mode": "inspector" if inspector else "public",
        "secure_cookies": behind_tls_proxy,
        "public_url": public_url,
    }
    if inspector:
        _lock_down(metadata)
        if private_db is not None and _has_table(private_db, "incident_counts"):
            metadata.setdefault("databases", {})[CROSSDB_DATABASE] = (
                _private_flag_database(metadata, db_path.stem, private_db.stem)
            )
    else:
        # ofsted_guard.py: the rest get 429 at once.
        plugins["ofsted-homes"]["max_concurrent_sql"] = PUBLIC_MAX_CONCURRENT_SQL
    return {
        "immutables": immutables,
        "metadata": metadata,
        "settings": settings,
        "template_dir": str(ASSETS_DIR / "templates"),
        "plugins_dir": str(ASSETS_DIR / "plugins"),
        "static_mounts": [(STATIC_MOUNT, str(ASSETS_DIR / "static"))],
        "cors": False,
        # Inspector mode only: the _memory database attaches the registry and
        # the private database, for flagged_homes_private and inspectors' SQL.
        "crossdb": inspector,
    }


def _lock_down(metadata: dict[str, Any]) -> None:
    """Inspector mode: nothing is visible without the inspector login."""
    only_inspector = {"id": INSPECTOR_ACCOUNT}
    metadata["allow"] = only_inspector
    metadata["allow_sql"] = only_inspector
    plugins = metadata.setdefault("plugins", {})
    plugins["datasette-auth-passwords"] = {
        f"{INSPECTOR_ACCOUNT}_password_hash": {"$env": PASSWORD_HASH_ENV},
    }


def _has_table(path: Path, table: str) -> bool:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute(
                "select 1 from sqlite_master where type = 'table' and name = ?",
                [table],
            ).fetchone()
    except sqlite3.Error as error:
        raise RegistryError(
            f"--private-db {path}: not an SQLite database ({error})"
        ) from None
    return found is not None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _private_flag_database(
    metadata: dict[str, Any], registry: str, private: str
) -> dict[str, Any]:
    """Metadata of the ``_memory`` database in inspector mode with a private
    database: the canned query ``flagged_homes_private``."""
    public = metadata["databases"][registry]["queries"]["flagged_homes"]
    return {
        "title": "Registry and private evidence together (inspectors only)",
        "description": (
            f"Cross-database queries: {registry} and {private} are attached "
            "under their own names: write "
            f"{_quoted(private)}.incident_counts in SQL here."
        ),
        "queries": {
            PRIVATE_FLAG_QUERY: {
                "title": "Homes rated good or outstanding despite children going "
                "missing, with private evidence (inspectors only)",
                "description_html": PRIVATE_FLAG_DESCRIPTION.format(
                    registry=registry, private=private
                ),
                "params": list(public.get("params") or ["min_incidents", "months"]),
                # composed from flagged_homes.sql's parts
                "sql": private_flag_sql(registry, private, public["sql"]),
                "hide_sql": True,
            }
        },
    }


def make_datasette(
    db_path: str | Path,
    *,
    inspector: bool = False,
    private_db: str | Path | None = None,
    secret: str | None = None,
    behind_tls_proxy: bool = False,
    public_url: str | None = None,
) -> Any:
    """A ready Datasette instance for ``db_path`` (see ``datasette_options``)."""
    from datasette.app import Datasette

    options = datasette_options(
        db_path,
        inspector=inspector,
        private_db=private_db,
        behind_tls_proxy=behind_tls_proxy,
        public_url=public_url,
    )
    return Datasette(**options, secret=secret)


def run_server(ds: Any, *, host: str, port: int) -> None:
    """Serve ``ds`` with uvicorn until interrupted, as ``datasette serve``.

    Once started, everything the server has built (Datasette, its plugins,
    metadata, templates) is moved out of the garbage collector's sight
    (``gc.freeze``): a story page makes tens of thousands of short-lived
    objects, and each full collection otherwise walked the whole server too,
    the slowest twentieth of page answers taking a third longer
    (bench/bench_serve.py at ten times today's registry). Only this process
    does it: tests that build many servers in one process keep the
    collector as it is."""
    import asyncio
    import gc

    import uvicorn

    asyncio.run(ds.invoke_startup())
    gc.collect()
    gc.freeze()
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")
