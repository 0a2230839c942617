"""A running `serve` through refreshes and loads: every answer comes from one
published registry, the old or the new, never a mix, and each new one is
served without a restart (issue 10: one write path, serve sees publishes)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from click.testing import CliRunner
from security.server_support import start, stop
from sqlite_utils import Database

from registry.cli.main import cli

from .conftest import copy_baseline, run

# Three figures a refresh with new reports changes together, in one query:
# a reader that saw some of the new rows and not others would get a row
# that is neither the old answer nor the new one.
STATE_SQL = (
    "select (select count(*) from inspections) as inspections, "
    "(select count(*) from reports) as reports, "
    "(select count(*) from sources) as sources, "
    "(select count(*) from crawls) as crawls, "
    "(select count(*) from writes) as writes"
)


def _state(db_path: Path) -> tuple:
    db = Database(db_path)
    try:
        return tuple(db.execute(STATE_SQL).fetchone())
    finally:
        db.close()


def _served(server) -> tuple | None:
    """The state as the server answers it (None when it refused, e.g. 429)."""
    reply = server.sql(STATE_SQL, _shape="array")
    if reply.status != 200:
        return None
    return tuple(json.loads(reply.body)[0].values())


class Hammer(threading.Thread):
    """Asks the server for the state as fast as it answers, until stopped."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.seen: list[tuple] = []
        self.refused = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            state = _served(self.server)
            if state is None:
                self.refused += 1
            else:
                self.seen.append(state)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def test_readers_see_old_or_new_registry_through_a_refresh(baseline, tmp_path):
    site, db_path = copy_baseline(baseline, tmp_path)
    old = _state(db_path)
    server = start(db_path)
    hammer = Hammer(server)
    try:
        assert _served(server) == old
        hammer.start()
        site.publish_new_reports(5)
        result = run(db_path, site)
        assert result.ok and result.published, result.reasons
        new = _state(db_path)
        assert new != old
        assert new[0] == old[0] + 5  # five new inspections, each with its report
        # the running server serves the new registry, without a restart
        assert _served(server) == new
        hammer.stop()
        assert hammer.seen, "the reader got no answer while the refresh ran"
        mixed = {state for state in hammer.seen if state not in (old, new)}
        assert mixed == set()
        assert server.process.poll() is None
    finally:
        hammer.stop()
        stop(server)


def test_a_load_reaches_the_running_server_and_a_noop_publishes_nothing(
    baseline, tmp_path
):
    _site, db_path = copy_baseline(baseline, tmp_path)
    server = start(db_path)
    try:
        before = _state(db_path)
        inode = db_path.stat().st_ino
        # a write that changes nothing publishes nothing: the same file
        runner = CliRunner()
        result = runner.invoke(cli, ["migrate", str(db_path)])
        assert result.exit_code == 0, result.output
        assert db_path.stat().st_ino == inode
        mapping = tmp_path / "groups.csv"
        # a load that changes the registry publishes a new file, served at once
        owner = Database(db_path).execute("select name from owners limit 1").fetchone()
        mapping.write_text(f"owner,group,source\n{owner[0]},Test Group,a test\n")
        result = runner.invoke(cli, ["load-groups", str(db_path), str(mapping)])
        assert result.exit_code == 0, result.output
        assert db_path.stat().st_ino != inode
        after = _state(db_path)
        assert after[4] == before[4] + 1  # one more row in `writes`
        assert _served(server) == after
        reply = server.sql(
            "select count(*) as n from owner_group_rules", _shape="array"
        )
        assert reply.status == 200
        # the published file is never left in WAL mode: no -wal beside it
        assert not Path(f"{db_path}-wal").exists()
    finally:
        stop(server)
