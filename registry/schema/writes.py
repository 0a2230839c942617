"""Steps of the registry's one migration set (``registry.schema.migrations``;
the private incidents database's set uses them too) for ``writes``: one row per
write to the database (``registry.writes``): what wrote, when, and how it
ended. Files keep their own provenance in ``sources``; this is the provenance
of the writes themselves (a review decision, an incidents load, a refresh).

Write a new step here and append it to ``registry.schema.migrations.ORDER``;
never edit one that has shipped.
"""

from sqlite_utils import Database

from registry.schema.steps import Steps

migrations = Steps("registry/schema/writes.py")


@migrations()
def m001_writes(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE writes (
            id INTEGER PRIMARY KEY,
            purpose TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('done', 'failed', 'published')),
            pid INTEGER
        ) STRICT;
        """
    )
