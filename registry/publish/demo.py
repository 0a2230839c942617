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
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from registry.derive.groups import load_groups
from registry.publish.serve import make_datasette, run_server
from registry.refresh.refresh import refresh, site_settings
from registry.writes import writer

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


def run_demo(
    *,
    port: int,
    site_port: int,
    homes: int,
    seed: int,
    directory: Path,
    serve: bool,
    say: Callable[[str], None],
) -> list[str]:
    """Start the sample site, refresh ``directory/registry.db`` from it, load
    the sample owner groups and (``serve``) serve it until Ctrl-C; the sample
    site stops in every case. Returns the refresh's reasons for refusing
    (empty when the registry was built). Needs the ``demo`` extra
    (``sample_site.extra.demo_extra_problem``)."""
    from sample_site.server import SampleSite  # the sample site needs the demo extra

    host = "127.0.0.1"
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
            return list(result.reasons)
        for line in result.summary:
            say(line)
        _load_sample_groups(db_path, say)
        if serve:
            ds = make_datasette(db_path)
            say(
                f"Serving the SAMPLE registry on http://{host}:{port}/ - Ctrl-C to stop"
            )
            try:
                run_server(ds, host=host, port=port)
            except KeyboardInterrupt:
                pass
        return []
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
