"""Helpers for the registry tests (importable: `from registry_support import ...`)."""

from pathlib import Path

from click.testing import CliRunner

from registry.cli.main import cli
from registry.schema.db import open_registry

FIXTURES = Path(__file__).parent / "fixtures" / "spreadsheets"

# Columns whose values depend on when a load ran, not on what was loaded.
VOLATILE = {
    ("sources", "loaded_at"),
    ("_sqlite_migrations", "applied_at"),
    ("inspection_reports", "linked_at"),
}
# The log of writes (registry.writes): when each command wrote, not what.
LOGS = {"writes"}


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.exists(), path
    return path


def run_load(db_path: Path, *files: Path, args: tuple[str, ...] = ()):
    """Run `ofsted-homes load` for real and return click's result."""
    runner = CliRunner()
    return runner.invoke(
        cli, ["load", str(db_path), *map(str, files), *args], catch_exceptions=False
    )


def dump(db_path: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the columns that record load times."""
    db = open_registry(db_path, migrate=False)
    tables = {}
    for table in db.tables:
        if table.name in LOGS:
            continue
        columns = [
            c.name for c in table.columns if (table.name, c.name) not in VOLATILE
        ]
        quoted = ", ".join(f'"{c}"' for c in columns)
        rows = db.execute(f'select {quoted} from "{table.name}"').fetchall()
        tables[table.name] = sorted(rows, key=repr)
    return tables


def add_active_homes(db, homes) -> None:
    """Active private children's homes written straight into ``db`` (the
    caller holds the transaction), each ``(urn, la_code, la_name, owner,
    places)``, with their local authorities and owners."""
    for urn, la_code, la_name, owner, places in homes:
        db["local_authorities"].upsert(
            {"la_code": la_code, "name": la_name}, pk="la_code"
        )
        owner_id = owner.lower().replace(" ", "-")
        db["owners"].upsert({"id": owner_id, "name": owner}, pk="id")
        db["homes"].insert(
            {
                "urn": urn,
                "provision_type": "Children's home",
                "sector": "Private",
                "local_authority": la_name,
                "la_code": la_code,
                "places": places,
                "owner": owner_id,
                "status": "active",
            }
        )
