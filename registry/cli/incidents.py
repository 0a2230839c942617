"""The ``load-incidents`` and ``review`` commands (registered in registry.cli.main)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from sqlite_utils import Database

from extract.errors import ExtractError
from registry.errors import RegistryError
from registry.incidents.incidents import (
    default_private_path,
    load_incidents,
    unmigrated_reason,
)
from registry.incidents.reviews import decide, open_reviews
from registry.logs import configure_logging
from registry.writes import table_names, writer


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
    configure_logging(verbose, silent)
    if not Path(db_path).exists():
        raise click.ClickException(
            f"{db_path}: no such registry; create it with `ofsted-homes load {db_path} FILES`"
        )
    # A private load writes only the private database (its own provenance,
    # through the same write path); the registry's writer lock is held all
    # the same, and the registry gets no `writes` row since nothing in it
    # changes.
    with contextlib.ExitStack() as stack:
        registry = stack.enter_context(writer(db_path, "load-incidents", per_file=True))
        target = None
        if private or private_db:
            target = stack.enter_context(
                writer(
                    private_db or default_private_path(db_path),
                    "load-incidents",
                    per_file=True,
                    private=True,
                )
            )
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
            except Exception as error:  # one bad file never stops the others
                failed += 1
                detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
                click.echo(
                    f"Error: {Path(path).name}: could not be loaded ({detail}); "
                    "nothing of it was kept. Check the file, or report this with "
                    "the file attached.",
                    err=True,
                )
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
    configure_logging(verbose, silent)
    if "match_candidates" not in table_names(db_path):
        raise click.ClickException(
            f"{db_path}: no incident tables; load a file with `ofsted-homes load-incidents` first"
        )
    # one transaction for --accept/--reject (all or nothing); interactive
    # decisions each commit as they are made
    with writer(db_path, "review", per_file=interactive) as db:
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


@click.command("migrate")
@click.argument("db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--silent", is_flag=True, help="No summary line")
def migrate_command(db_path, silent):
    """Bring a registry (or a private incidents database) up to date with this
    version of ofsted-homes, in place. Every loading command does this on its
    own; run it before serving a registry that was last written by an older
    version (serve opens databases read-only and refuses one that needs it).

    Example:

    \b
        ofsted-homes migrate registry.db
    """
    before = unmigrated_reason(db_path)
    with writer(db_path, "migrate"):
        pass
    if not silent:
        click.echo(
            f"{db_path.name}: migrated" if before else f"{db_path.name}: up to date",
            err=True,
        )
