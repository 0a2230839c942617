"""Steps of the registry's one migration set (``registry.schema.migrations``)
for the crawl tables: what each crawl a refresh considered did (``crawls``),
saw that is not a file (``crawl_observations``) and read (``crawl_monitors``).

Write a new step here and append it to ``registry.schema.migrations.ORDER``;
never edit one that has shipped.
"""

from sqlite_utils import Database

from registry.schema.steps import Steps

migrations = Steps("registry/schema/crawls.py")


@migrations()
def m001_crawls(db: Database) -> None:
    db.executescript(
        """
        -- One row per crawl a refresh considered, merged or refused, with why.
        CREATE TABLE crawls (
            id TEXT PRIMARY KEY,
            spider TEXT NOT NULL,
            mode TEXT,
            since TEXT,
            started_at TEXT,
            finished_at TEXT,
            finish_reason TEXT,
            requests INTEGER,
            bytes INTEGER,
            items INTEGER,
            errors INTEGER,
            retries INTEGER,
            retries_given_up INTEGER,
            homes_listed INTEGER,
            files_stored INTEGER,
            outcome TEXT NOT NULL CHECK (outcome IN ('merged', 'refused')),
            reason TEXT,
            refreshed_at TEXT
        ) STRICT;

        -- What a crawl saw of a home that is not a file: a provider page that
        -- answered 404/410, a report that came back as HTML.
        CREATE TABLE crawl_observations (
            crawl_id TEXT NOT NULL REFERENCES crawls(id),
            urn TEXT,
            url TEXT NOT NULL,
            observation TEXT NOT NULL,
            http_status INTEGER,
            PRIMARY KEY (crawl_id, url, observation)
        ) STRICT;
        CREATE INDEX idx_crawl_observations_urn ON crawl_observations(urn);
        """
    )


@migrations()
def m002_crawl_monitors(db: Database) -> None:
    db.executescript(
        """
        -- How much each reports crawl read, per page kind and per field, and
        -- the gate's verdict on each figure (registry.crawls monitors).
        CREATE TABLE crawl_monitors (
            crawl_id TEXT NOT NULL REFERENCES crawls(id),
            monitor TEXT NOT NULL,
            page_kind TEXT NOT NULL,
            field TEXT,
            count INTEGER NOT NULL,
            seen INTEGER NOT NULL,
            share REAL,
            floor REAL,
            ceiling REAL,
            previous_share REAL,
            verdict TEXT NOT NULL CHECK (verdict IN ('ok', 'tripped')),
            message TEXT,
            description TEXT,
            PRIMARY KEY (crawl_id, monitor)
        ) STRICT;
        """
    )
