"""``ofsted-homes serve`` and ``ofsted-homes demo``: parse the options and
run ``registry.publish.serve`` and ``registry.publish.demo.run_demo``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from registry.errors import RegistryError
from registry.incidents.incidents import unmigrated_reason
from registry.logs import configure_logging
from registry.publish.demo import run_demo
from registry.publish.serve import (
    PASSWORD_HASH_ENV,
    is_loopback,
    make_datasette,
    run_server,
)
from registry.writes import writer
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
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; inspector mode listens only on loopback "
    "unless --behind-tls-proxy",
)
@click.option(
    "--behind-tls-proxy",
    is_flag=True,
    help="A reverse proxy in front terminates TLS (docs/security.md): "
    "login cookies get Secure, and inspector mode may listen beyond loopback",
)
@click.option(
    "--public-url",
    help="The address readers use (e.g. https://registry.example.org/); "
    "absolute links (next_url, Link) are built from it, never from the "
    "request's Host header. Without it they are relative.",
)
@click.option("-p", "--port", default=8001, show_default=True, type=int)
@click.option("--silent", is_flag=True, help="No start-up line")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging")
def serve(
    db_path: Path,
    inspector: bool,
    private_db: Path | None,
    host: str,
    behind_tls_proxy: bool,
    public_url: str | None,
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
    Sessions live in the server's memory (8 hours at most): a logout, a
    new password or a restart ends them. Run inspector mode on 127.0.0.1
    behind a TLS reverse proxy (docs/security.md).

    Example:

    \b
        ofsted-homes serve registry.db
        ofsted-homes serve registry.db --inspector --private-db foi.db -p 8002
    """
    configure_logging(verbose, silent)
    try:
        if inspector and not is_loopback(host) and not behind_tls_proxy:
            raise RegistryError(
                f"--inspector --host {host}: the inspector login would travel "
                "over plain HTTP. Listen on 127.0.0.1 behind a TLS reverse "
                "proxy (docs/security.md), and add --behind-tls-proxy if the "
                "proxy is on another machine."
            )
        if inspector and not os.environ.get(PASSWORD_HASH_ENV):
            raise RegistryError(
                f"--inspector: ${PASSWORD_HASH_ENV} is not set, so nobody could "
                "log in. Run `datasette hash-password` and export the hash."
            )
        if db_path.is_file() and unmigrated_reason(db_path):
            # serve never shows what an older version kept (address-derived
            # keys, row ranges): bring the file up to date first, through the
            # one write path, as `ofsted-homes migrate` does
            if not silent:
                click.echo(f"Migrating {db_path.name} first …", err=True)
            with writer(db_path, "migrate"):
                pass
        ds = make_datasette(
            db_path,
            inspector=inspector,
            private_db=private_db,
            secret=os.environ.get("DATASETTE_SECRET"),
            behind_tls_proxy=behind_tls_proxy,
            public_url=public_url,
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
