"""``ofsted-homes load``: parse the arguments, load the files through the one
write path with ``registry.loading.files.load_files``, and print a line per
file and a total."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from registry.loading.files import load_files
from registry.lock import RefreshLocked
from registry.logs import configure_logging
from registry.writes import writer


def _as_at(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD") from None


@click.command(name="load")
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--as-at",
    callback=_as_at,
    help="Date (YYYY-MM-DD) a file describes, for files that do not say so themselves",
)
@click.option("--strict", is_flag=True, help="Refuse a file on its first bad cell")
@click.option("--sample", is_flag=True, help="Mark the loaded files as sample data")
@click.option(
    "--silent", is_flag=True, help="Print only refusals: no line per file, no total"
)
@click.option("-v", "--verbose", is_flag=True, help="Log every problem as it is found")
def load(
    db_path: Path,
    files: tuple[Path, ...],
    as_at: dt.date | None,
    strict: bool,
    sample: bool,
    silent: bool,
    verbose: bool,
) -> None:
    """Load Ofsted and DfE files (and report PDFs) into the registry.

    Files are recognised by their content, not their names: Ofsted's
    "Children's social care data in England" workbooks (ODS, XLSX or a sheet
    saved as CSV, any year since 2014) and DfE's children-looked-after
    missing-from-care files. A file already loaded (same SHA-256) is skipped.

    Example:

    \b
        ofsted-homes load registry.db ~/Downloads/*.ods ~/Downloads/*.csv
    """
    configure_logging(verbose, silent)
    try:
        # one writer at a time, refreshes included; one transaction per file
        with writer(db_path, "load", per_file=True) as db:
            results = load_files(
                db,
                files,
                as_at=as_at,
                strict=strict,
                is_sample=sample,
                echo=None if silent else lambda line: click.echo(line, err=True),
            )
            counts = {t: db[t].count for t in ("homes", "inspections", "problems")}
    except RefreshLocked as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    failed = [r for r in results if not r.ok]
    for result in results:
        if result.ok and not silent:  # --silent: refusals only, nothing per file
            click.echo(result.summary)
    for result in failed:
        click.echo(f"Error: {result.summary}", err=True)
    if not silent:
        click.echo(_total_line(db_path, results, counts), err=True)
    if failed:
        sys.exit(1)


def _total_line(db_path: Path, results: list, counts: dict[str, int]) -> str:
    loaded = sum(1 for r in results if r.ok and not r.skipped)
    skipped = sum(1 for r in results if r.skipped)
    failed = sum(1 for r in results if not r.ok)
    return (
        f"Total: {loaded} loaded, {skipped} already loaded, {failed} refused; "
        f"{db_path.name} has {counts['homes']:,} homes, "
        f"{counts['inspections']:,} inspections, {counts['problems']:,} problems"
    )
