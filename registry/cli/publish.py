"""``ofsted-homes demo``: parse the options and run
``registry.publish.demo.run_demo``. (``serve`` is still defined in
``registry.publish.serve``; it moves here once the work on serving is merged.)"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from registry.logs import configure_logging
from registry.publish.demo import run_demo
from sample_site.extra import demo_extra_problem


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
    configure_logging(verbose, silent)
    say = (lambda _line: None) if silent else (lambda line: click.echo(line, err=True))
    refused = run_demo(
        port=port,
        site_port=site_port,
        homes=homes,
        seed=seed,
        directory=directory,
        serve=not no_serve,
        say=say,
    )
    for reason in refused:
        click.echo(f"Refused: {reason}", err=True)
    if refused:
        sys.exit(1)
