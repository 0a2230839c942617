"""The `ofsted-homes` command line: one click group, hyphenated verbs.

Data goes to stdout, chatter (progress, summaries) to stderr. Expected failures
print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import sys

import click

from extract.errors import ExtractError
from registry.errors import RegistryError
from registry.lock import RefreshLocked


@click.group()
@click.version_option(package_name="ofsted-homes")
def cli() -> None:
    """England's public data on children's homes, in one SQLite registry.

    Start with `ofsted-homes load registry.db FILES...`, then
    `ofsted-homes serve registry.db`.
    """


def main() -> None:  # pragma: no cover - console entry point
    try:
        cli(standalone_mode=True)
    except RefreshLocked as error:  # another writer: try again later
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    except (ExtractError, RegistryError) as error:
        raise click.ClickException(str(error)) from None


# ----------------------------------------------------------------------------
# The commands of the other cli modules.
# Keep both lists sorted.
# ----------------------------------------------------------------------------
from registry.cli.groups import load_groups_command  # noqa: E402
from registry.cli.incidents import (  # noqa: E402
    load_incidents_command,
    migrate_command,
    review_command,
)
from registry.cli.loading import load  # noqa: E402
from registry.cli.publish import demo, serve  # noqa: E402
from registry.cli.refresh import canary_command, refresh_command  # noqa: E402
from registry.cli.reports import (  # noqa: E402
    extract_report_command,
    load_reports_command,
)
from sample_site.cli import sample_site  # noqa: E402

for command in (
    canary_command,
    demo,
    extract_report_command,
    load,
    load_groups_command,
    load_incidents_command,
    load_reports_command,
    migrate_command,
    refresh_command,
    review_command,
    sample_site,
    serve,
):
    cli.add_command(command)
