"""``ofsted-homes load-groups``: parse the arguments, load each mapping file
with ``registry.derive.groups.load_groups`` through the one write path, and
print one line per file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from registry.derive.groups import GroupsFileError, load_groups
from registry.lock import RefreshLocked
from registry.writes import writer


@click.command("load-groups")
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--sample", is_flag=True, help="Mark the mapping as sample (not a claim)")
def load_groups_command(db_path: Path, files: tuple[Path, ...], sample: bool) -> None:
    """Load mappings of owners to groups (CSV: owner or pattern, group, source).

    Each row names an owner exactly (Ltd/Limited and case do not matter) or
    gives a case-insensitive pattern with * for any text, the group, and the
    source of the claim. The `groups` story and /group/<id> pages use them.

    Example:

    \b
        ofsted-homes load-groups registry.db groups.csv
    """
    failed = False
    try:
        with writer(db_path, "load-groups", per_file=True) as db:
            for path in files:
                if not path.exists():
                    click.echo(f"Error: {path}: no such file", err=True)
                    failed = True
                    continue
                try:
                    _loaded, summary = load_groups(db, path, is_sample=sample)
                except GroupsFileError as error:
                    click.echo(f"Error: {error}", err=True)
                    failed = True
                    continue
                click.echo(summary)
    except RefreshLocked as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    if failed:
        sys.exit(1)
