"""Datasette's table permission check, without its cost on every request.

Datasette 0.65.5 answers each "view-table" permission check (the index page
makes one per table, every table, row and query page at least one) through
``Datasette._table_permission_allows``, which deep-copies the whole metadata
each time: metadata.yml, with every table's column notes and every story's
SQL. On the registry's index page that copying was most of the work, and the
page took 2.5 times as long as stock Datasette serving the same file
(bench/bench_serve.py).

The published metadata does not change while the server runs, so the answer
for a (database, table) is worked out once, by Datasette's own code, and
kept. It is worked out again if the metadata object is replaced, and nothing
is kept when a plugin supplies metadata of its own (``get_metadata``), whose
answer could change from one call to the next.
"""

from datasette import hookimpl
from datasette.plugins import pm


def cached_table_permissions(datasette):
    """Wrap ``datasette._table_permission_allows`` in a cache of its answers
    per (database, table), emptied whenever the metadata object changes."""
    compute = datasette._table_permission_allows
    kept = {"metadata": None, "answers": {}}

    def table_permission_allows(database, table):
        if pm.hook.get_metadata.get_hookimpls():
            return compute(database, table)
        if kept["metadata"] is not datasette._metadata_local:
            kept["metadata"] = datasette._metadata_local
            kept["answers"] = {}
        answers = kept["answers"]
        if (database, table) not in answers:
            answers[(database, table)] = compute(database, table)
        return list(answers[(database, table)])

    datasette._table_permission_allows = table_permission_allows


@hookimpl
def startup(datasette):
    cached_table_permissions(datasette)
