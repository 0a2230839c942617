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

import logging
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from registry.errors import RegistryError

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
METADATA_PATH = ROOT / "metadata.yml"
ASSETS_DIR = ROOT / "datasette"
STATIC_MOUNT = "assets"
# The database name metadata.yml describes; a file with another stem is
# published under its own name with the same metadata.
METADATA_DATABASE = "registry"
PASSWORD_HASH_ENV = "OFSTED_HOMES_INSPECTOR_PASSWORD_HASH"
INSPECTOR_ACCOUNT = "inspector"

# reliability.md §1.4. Public: journalists browsing; tight limits so arbitrary
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
            "Restore it from git."
        ) from None
    databases = metadata.setdefault("databases", {})
    if database_name != METADATA_DATABASE and METADATA_DATABASE in databases:
        databases[database_name] = databases.pop(METADATA_DATABASE)
    for database in databases.values():
        for query in (database.get("queries") or {}).values():
            # Stories open on their form and results; "show" reveals the SQL.
            query.setdefault("hide_sql", True)
    return metadata


def datasette_options(
    db_path: str | Path,
    *,
    inspector: bool = False,
    private_db: str | Path | None = None,
    metadata_path: Path = METADATA_PATH,
) -> dict[str, Any]:
    """Keyword arguments for ``datasette.app.Datasette`` serving ``db_path``.

    Every database is opened immutable (read-only, no locking). Public mode
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
    if inspector:
        _lock_down(metadata)
    else:
        # datasette/plugins/ofsted_guard.py: the rest get 429 at once.
        plugins = metadata.setdefault("plugins", {})
        plugins["ofsted-homes"] = {"max_concurrent_sql": PUBLIC_MAX_CONCURRENT_SQL}
    return {
        "immutables": immutables,
        "metadata": metadata,
        "settings": settings,
        "template_dir": str(ASSETS_DIR / "templates"),
        "plugins_dir": str(ASSETS_DIR / "plugins"),
        "static_mounts": [(STATIC_MOUNT, str(ASSETS_DIR / "static"))],
        "cors": False,
        "crossdb": False,
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


def make_datasette(
    db_path: str | Path,
    *,
    inspector: bool = False,
    private_db: str | Path | None = None,
    secret: str | None = None,
) -> Any:
    """A ready Datasette instance for ``db_path`` (see ``datasette_options``)."""
    from datasette.app import Datasette

    options = datasette_options(db_path, inspector=inspector, private_db=private_db)
    return Datasette(**options, secret=secret)


def run_server(ds: Any, *, host: str, port: int) -> None:
    """Serve ``ds`` with uvicorn until interrupted, as ``datasette serve``."""
    import asyncio

    import uvicorn

    asyncio.run(ds.invoke_startup())
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")


@click.command()
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--inspector",
    is_flag=True,
    help=f"Require the inspector login (password hash in ${PASSWORD_HASH_ENV}) "
    "and allow arbitrary SQL with a 5 s limit",
)
@click.option(
    "--private-db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A further database to attach, inspector mode only",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", default=8001, show_default=True, type=int)
@click.option("--silent", is_flag=True, help="No start-up line")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging")
def serve(
    db_path: Path,
    inspector: bool,
    private_db: Path | None,
    host: str,
    port: int,
    silent: bool,
    verbose: bool,
) -> None:
    """Publish the registry read-only with Datasette.

    Public mode (the default) is for everyone: canned queries, a page per
    home, owner and local authority, charts, report search; SQL is allowed
    with a 1 s limit. Inspector mode requires a login: make a password hash
    with `datasette hash-password`, export it as
    OFSTED_HOMES_INSPECTOR_PASSWORD_HASH, sign in at /-/login as "inspector".
    Set DATASETTE_SECRET so that logins survive a restart.

    Example:

    \b
        ofsted-homes serve registry.db
        ofsted-homes serve registry.db --inspector --private-db foi.db -p 8002
    """
    import os

    from registry.cli import configure_logging

    configure_logging(verbose, silent)
    try:
        if inspector and not os.environ.get(PASSWORD_HASH_ENV):
            raise RegistryError(
                f"--inspector: ${PASSWORD_HASH_ENV} is not set, so nobody could "
                "log in. Run `datasette hash-password` and export the hash."
            )
        ds = make_datasette(
            db_path,
            inspector=inspector,
            private_db=private_db,
            secret=os.environ.get("DATASETTE_SECRET"),
        )
    except RegistryError as error:
        raise click.ClickException(str(error)) from None
    if not silent:
        mode = "inspector (login required)" if inspector else "public"
        click.echo(
            f"Serving {db_path.name} ({mode}) on http://{host}:{port}/",
            err=True,
        )
    sys.stdout.flush()
    run_server(ds, host=host, port=port)
