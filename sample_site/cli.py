"""`ofsted-homes sample-site`: serve the sample sources on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import click

from registry.logs import configure_logging
from sample_site.extra import demo_extra_problem


@click.command(name="sample-site")
@click.option("--homes", default=200, show_default=True, help="How many sample homes")
@click.option("--seed", default=1, show_default=True, help="Seed of the generator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", default=8002, show_default=True, type=int)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep rendered report PDFs here between runs",
)
@click.option(
    "--csv", "as_csv", is_flag=True, help="Serve the Ofsted workbooks as CSV, not XLSX"
)
@click.option(
    "--layout",
    type=click.Choice(["confirmed", "rich", "changed"]),
    default="confirmed",
    show_default=True,
    help="Ofsted page markup: only what is confirmed on the live site, that plus "
    "invented optional extras, or every class renamed (a redesign)",
)
@click.option("--silent", is_flag=True, help="No start-up line")
@click.option("-v", "--verbose", is_flag=True, help="Log every request")
def sample_site(
    homes, seed, host, port, cache_dir, as_csv, layout, silent, verbose
) -> None:
    """Serve a deterministic SAMPLE of all three sources until Ctrl-C.

    gov.uk Content API JSON with Ofsted workbooks, explore-education-statistics
    CSVs, reports.ofsted.gov.uk search and provider pages, and report PDFs,
    for a seeded population of invented homes. Point a refresh at it with
    `--site`. Misbehaviour for tests: POST /_sample/fault (JSON), /_sample/publish
    ?count=5, /_sample/remove?fraction=0.05, /_sample/layout?layout=changed
    (or rich; &omit=nonvisual drops the links' hidden text).

    Example:

    \b
        ofsted-homes sample-site --homes 4000 --port 8002 &
        ofsted-homes refresh demo.db --site http://127.0.0.1:8002 --sample --fast-sample-site
    """
    problem = demo_extra_problem("sample-site")
    if problem:
        raise click.ClickException(problem)
    from sample_site.server import SampleSite

    configure_logging(verbose, silent)
    site = SampleSite(
        homes=homes,
        seed=seed,
        host=host,
        port=port,
        cache_dir=cache_dir,
        xlsx=False if as_csv else None,
        layout=layout,
    )
    if not silent:
        click.echo(
            f"Sample site ({homes} homes, seed {seed}; SAMPLE DATA) on http://{host}:{port}/ "
            "- Ctrl-C to stop",
            err=True,
        )
    try:
        site.serve_forever()
    except KeyboardInterrupt:
        pass
