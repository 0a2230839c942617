"""``ofsted-homes refresh`` and ``ofsted-homes canary``: parse the options,
run ``registry.refresh.refresh.refresh`` or ``registry.refresh.canary.run_canary``
and say what they did."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from registry.lock import RefreshLocked
from registry.logs import configure_logging
from registry.refresh.canary import (
    format_table,
    registry_urns,
    reports_url_for,
    run_canary,
)
from registry.refresh.crawls import Thresholds
from registry.refresh.refresh import (
    SPIDERS,
    fast_site_settings,
    refresh,
    site_settings,
)


def _setting(_ctx, _param, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(
                f"{value!r}: use NAME=VALUE, e.g. DOWNLOAD_DELAY=2"
            )
        out[name] = setting
    return out


@click.command(name="refresh")
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Raw files, manifests and crawl summaries [default: data/ beside the registry]",
)
@click.option(
    "--full",
    "mode",
    flag_value="full",
    help="Walk the whole search (needed for missing/inactive status)",
)
@click.option(
    "--incremental",
    "mode",
    flag_value="incremental",
    help="Only homes with reports published since the last good crawl",
)
@click.option(
    "--spider",
    "spiders",
    multiple=True,
    type=click.Choice(SPIDERS),
    help="Run only this spider (repeatable) [default: both]",
)
@click.option(
    "--site",
    metavar="URL",
    help="Crawl a sample site (ofsted-homes sample-site) instead of the real sources",
)
@click.option(
    "--fast-sample-site",
    is_flag=True,
    help="No politeness delays: only with --site on this machine",
)
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    callback=_setting,
    metavar="NAME=VALUE",
    help="A Scrapy setting for the spiders (repeatable)",
)
@click.option("--sample", is_flag=True, help="Mark everything loaded as sample data")
@click.option(
    "--min-homes-ratio",
    type=float,
    help="Refuse a full crawl listing fewer homes than this share of the last "
    "good one [default: 0.9]",
)
@click.option(
    "--min-share",
    type=float,
    help="Floor of each coverage share: pages fetched and understood, report "
    "PDFs fetched and read [default: 0.95]",
)
@click.option(
    "--min-report-share",
    type=float,
    help="Floor of the share of new report links whose PDF was fetched, and of "
    "fetched PDFs read; 0 allows a status walk (-s OFSTED_DOWNLOAD_REPORTS=False) "
    "[default: 0.95]",
)
@click.option(
    "--min-timeline-share",
    type=float,
    help="Floor of the share of timeline items (the opening aside) that have a "
    "report link [default: 0.8]",
)
@click.option(
    "--min-field-fill",
    type=float,
    help="Floor of the fill of each field relied on (title, report type, "
    "publication date, the PDF's inspection date and type) [default: 0.9]",
)
@click.option(
    "--max-fill-drop",
    type=float,
    help="Largest fall of any share since the last good crawl [default: 0.25]",
)
@click.option(
    "--max-not-found-share",
    type=float,
    help="Ceiling of dead provider pages and report links [default: 0.05]",
)
@click.option(
    "--min-sample",
    type=int,
    help="Shares over fewer items are only checked for zero [default: 10]",
)
@click.option(
    "--thresholds",
    "thresholds_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A TOML file with a [thresholds] table (options given here win)",
)
@click.option(
    "--no-resume",
    is_flag=True,
    help="Start afresh even when an interrupted crawl could be resumed",
)
@click.option("--silent", is_flag=True, help="No progress or summary lines")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging")
def refresh_command(
    db_path,
    data_dir,
    mode,
    spiders,
    site,
    fast_sample_site,
    settings,
    sample,
    min_homes_ratio,
    min_share,
    min_report_share,
    min_timeline_share,
    min_field_fill,
    max_fill_drop,
    max_not_found_share,
    min_sample,
    thresholds_file,
    no_resume,
    silent,
    verbose,
) -> None:
    """Crawl the sources, load what changed, and publish the registry atomically.

    Fail-closed: a crawl that did not finish cleanly, gave up retries, was
    blocked by robots.txt, met an unknown page layout or listed far fewer
    homes than last time merges nothing; the command exits 1 and says why.
    By default it crawls incrementally once a good crawl exists; run a
    --full crawl (weekly, say) so that homes that disappear are marked
    missing, then inactive. Exit codes: 0 published, 1 refused, 2 locked.

    Example:

    \b
        ofsted-homes refresh registry.db
        ofsted-homes refresh registry.db --full --data-dir /srv/ofsted/data
        ofsted-homes refresh demo.db --site http://127.0.0.1:8002 --sample
        ofsted-homes refresh demo.db --site http://127.0.0.1:8002 --sample --fast-sample-site
    """
    configure_logging(verbose, silent)
    merged_settings = dict(settings)
    if site:
        merged_settings = {**site_settings(site), **merged_settings}
    if fast_sample_site:
        try:
            merged_settings = fast_site_settings(site, merged_settings)
        except ValueError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)
    echo = None if silent else (lambda line: click.echo(line, err=True))
    given = {
        "min_homes_ratio": min_homes_ratio,
        "min_share": min_share,
        "min_report_share": min_report_share,
        "min_timeline_share": min_timeline_share,
        "min_field_fill": min_field_fill,
        "max_fill_drop": max_fill_drop,
        "max_not_found_share": max_not_found_share,
        "min_sample": min_sample,
    }
    try:
        thresholds = (
            Thresholds.from_file(thresholds_file, **given)
            if thresholds_file
            else Thresholds(**{k: v for k, v in given.items() if v is not None})
        )
    except ValueError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    try:
        result = refresh(
            db_path,
            data_dir=data_dir,
            spiders=tuple(spiders) or SPIDERS,
            mode=mode or "auto",
            settings=merged_settings,
            is_sample=sample,
            thresholds=thresholds,
            echo=echo,
            resume=not no_resume,
        )
    except RefreshLocked as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    if not result.ok:
        for reason in result.reasons:
            click.echo(f"Refused: {reason}", err=True)
        click.echo(f"Nothing merged; {db_path} is unchanged.", err=True)
        sys.exit(1)
    for failure in result.load_failures[:20]:
        click.echo(f"Not loaded: {failure}", err=True)
    if not silent:
        for line in result.summary:
            click.echo(line, err=True)
        if result.status_changes:
            changes = ", ".join(
                f"{n} {s}" for s, n in sorted(result.status_changes.items())
            )
            click.echo(f"Status changes: {changes}", err=True)
        click.echo(f"Published {db_path}", err=True)


@click.command(name="canary")
@click.option(
    "--site",
    metavar="URL",
    help="Check a sample site (ofsted-homes sample-site) instead of the live site",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Take the URNs from this registry (active homes, latest inspected first)",
)
@click.option("--urn", "urns", multiple=True, help="Check this home (repeatable)")
@click.option(
    "--pages", default=3, show_default=True, help="How many provider pages to fetch"
)
@click.option(
    "--reports", default=2, show_default=True, help="How many report links to fetch"
)
@click.option(
    "--delay",
    default=1.0,
    show_default=True,
    help="Seconds between requests (be polite to the live site)",
)
def canary_command(site, db_path, urns, pages, reports, delay) -> None:
    """Check that the reports site is in the layout the crawler understands.

    Fetches the first search page, a few provider pages and report links,
    and prints each selector and field: found or not, with an example. Run
    it before enabling a scheduled refresh. Exit codes: 0 understood, 1 not
    understood (the table says what is missing), 2 site not reachable.

    Example:

    \b
        ofsted-homes canary --db registry.db
        ofsted-homes canary --site http://127.0.0.1:8002
    """
    reports_url = reports_url_for(site)
    chosen = list(urns)
    if not chosen and db_path:
        chosen = registry_urns(db_path, pages)
    result = run_canary(
        reports_url=reports_url,
        urns=chosen,
        pages=pages,
        reports=reports,
        delay=delay,
    )
    click.echo(
        f"Canary of {reports_url}: {result.requests} requests "
        f"({len(result.pages['search'])} search, {len(result.pages['provider'])} provider, "
        f"{len(result.pages['report'])} report)"
    )
    click.echo(format_table(result))
    if not any(result.pages.values()):
        click.echo(f"Error: {reports_url} could not be reached", err=True)
        for failure in result.failures:
            click.echo(f"  {failure}", err=True)
        sys.exit(2)
    if result.failures:
        click.echo("NOT UNDERSTOOD: do not enable scheduled refreshes yet", err=True)
        for failure in result.failures:
            click.echo(f"  failed: {failure}", err=True)
        sys.exit(1)
    click.echo("Understood: the crawler can read this site.", err=True)
