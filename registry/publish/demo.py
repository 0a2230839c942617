"""`ofsted-homes demo`: the whole pipeline on this machine, at once.

Starts the sample site on 127.0.0.1, refreshes ``demo/registry.db`` from it
(both spiders, every file loaded, everything marked as sample data), and
serves the result with Datasette on 127.0.0.1. Ctrl-C stops the server and
the sample site. Running it again reuses the registry and crawls
incrementally.
"""

from __future__ import annotations

import logging
import socket
import sys
from importlib import resources
from pathlib import Path

import click

from registry.derive.groups import load_groups
from registry.logs import configure_logging
from registry.publish.serve import make_datasette, run_server
from registry.refresh.refresh import refresh, site_settings
from registry.writes import writer
from sample_site.extra import demo_extra_problem

logger = logging.getLogger(__name__)

# The demo crawls loopback: no need to wait between requests.
DEMO_CRAWL_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "0",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
}


def _free_port(host: str, preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port on {host}")


@click.command(name="demo")
@click.option(
    "--port",
    "-p",
    default=8001,
    show_default=True,
    type=int,
    help="Port of the Datasette server",
)
@click.option(
    "--site-port",
    default=8002,
    show_default=True,
    type=int,
    help="Port of the sample site (another free one if taken)",
)
@click.option("--homes", default=200, show_default=True, help="Sample homes")
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--dir",
    "directory",
    default="demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo registry and crawled files go",
)
@click.option("--no-serve", is_flag=True, help="Build the registry, then stop")
@click.option("--silent", is_flag=True, help="No progress lines")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging")
def demo(port, site_port, homes, seed, directory, no_serve, silent, verbose) -> None:
    """Build a SAMPLE registry from the sample site and serve it on 127.0.0.1.

    Example:

    \b
        ofsted-homes demo --port 8001      # then open http://127.0.0.1:8001/
    """
    problem = demo_extra_problem("demo")
    if problem:
        raise click.ClickException(problem)
    from sample_site.server import SampleSite  # the sample site needs the demo extra

    configure_logging(verbose, silent)
    host = "127.0.0.1"
    say = (lambda _line: None) if silent else (lambda line: click.echo(line, err=True))
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "registry.db"
    site = SampleSite(
        homes=homes,
        seed=seed,
        host=host,
        port=_free_port(host, site_port),
        cache_dir=directory / "sample-site-cache",
    )
    site.start()
    try:
        say(f"Sample site (SAMPLE DATA, {homes} homes) on {site.url}/")
        result = refresh(
            db_path,
            data_dir=directory / "data",
            settings={**DEMO_CRAWL_SETTINGS, **site_settings(site.url)},
            is_sample=True,
            echo=say,
        )
        if not result.ok:
            for reason in result.reasons:
                click.echo(f"Refused: {reason}", err=True)
            sys.exit(1)
        for line in result.summary:
            say(line)
        _load_sample_groups(db_path, say)
        if no_serve:
            return
        ds = make_datasette(db_path)
        say(f"Serving the SAMPLE registry on http://{host}:{port}/ - Ctrl-C to stop")
        try:
            run_server(ds, host=host, port=port)
        except KeyboardInterrupt:
            pass
    finally:
        site.stop()
        say("Stopped.")


def _load_sample_groups(db_path: Path, say) -> None:
    """The demo's owner groups: a SAMPLE mapping, marked as sample, so the
    groups story and /group/<id> pages have something to show."""
    mapping = resources.files("registry.data").joinpath("sample_owner_groups.csv")
    with resources.as_file(mapping) as path, writer(db_path, "load-groups") as db:
        _loaded, summary = load_groups(db, path, is_sample=True)
    say(summary)
