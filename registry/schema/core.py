"""Steps of the registry's one migration set (``registry.schema.migrations``)
for the core tables: sources and problems, homes, inspections and their
observations, snapshots, owners, local authorities, DfE figures.

Every change to a table is a new step written here and appended to
``registry.schema.migrations.ORDER``; never edit one that has shipped.

The public names (tables and columns) are a contract with the people who write
SQL against the registry: see README.md, "The public schema".
"""

from sqlite_utils import Database

from extract.normalise import judgement_scale_rows
from registry.derive.rank import rank_sql
from registry.derive.status import derive_status
from registry.derive.summaries import derive_summaries
from registry.la import derive_owner_councils
from registry.schema.steps import Steps

migrations = Steps("registry/schema/core.py")


@migrations()
def m001_spine(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            sha256 TEXT PRIMARY KEY,
            file_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            description TEXT,
            as_at TEXT,
            year TEXT,
            release TEXT,
            url TEXT,
            fetched_at TEXT,
            rows_read INTEGER NOT NULL DEFAULT 0,
            rows_loaded INTEGER NOT NULL DEFAULT 0,
            rows_skipped INTEGER NOT NULL DEFAULT 0,
            problems_count INTEGER NOT NULL DEFAULT 0,
            is_sample INTEGER NOT NULL DEFAULT 0,
            loaded_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE problems (
            id TEXT PRIMARY KEY,
            source_id TEXT REFERENCES sources(sha256),
            file_name TEXT,
            sheet TEXT,
            row INTEGER,
            "column" TEXT,
            value TEXT,
            message TEXT NOT NULL
        ) STRICT;

        CREATE TABLE local_authorities (
            la_code TEXT PRIMARY KEY,
            old_la_code TEXT,
            name TEXT NOT NULL,
            region TEXT,
            region_code TEXT,
            valid_from TEXT,
            valid_to TEXT,
            replaced_by TEXT
        ) STRICT;

        CREATE TABLE owners (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL
        ) STRICT;

        CREATE TABLE homes (
            urn TEXT PRIMARY KEY CHECK (urn GLOB 'SC[0-9][0-9][0-9][0-9][0-9][0-9]' OR urn GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9]'),
            provision_type TEXT,
            sector TEXT,
            is_independent INTEGER,
            local_authority TEXT,
            la_code TEXT REFERENCES local_authorities(la_code),
            ofsted_region TEXT,
            region TEXT,
            places INTEGER,
            registration_date TEXT,
            registration_status TEXT,
            is_short_break_only INTEGER,
            owner TEXT REFERENCES owners(id),
            first_seen TEXT,
            last_seen TEXT,
            latest_inspection_date TEXT,
            latest_inspection_type TEXT,
            latest_full_inspection_date TEXT,
            latest_judgement TEXT,
            status TEXT NOT NULL DEFAULT 'active',
            missing_since TEXT,
            status_changed_at TEXT
        ) STRICT;

        CREATE TABLE home_snapshots (
            urn TEXT NOT NULL REFERENCES homes(urn),
            as_at TEXT NOT NULL,
            provision_type TEXT,
            sector TEXT,
            is_independent INTEGER,
            local_authority TEXT,
            la_code TEXT REFERENCES local_authorities(la_code),
            ofsted_region TEXT,
            region TEXT,
            places INTEGER,
            registration_date TEXT,
            registration_status TEXT,
            is_short_break_only INTEGER,
            owner TEXT REFERENCES owners(id),
            owner_as_published TEXT,
            latest_full_inspection_date TEXT,
            latest_judgement TEXT,
            latest_judgement_as_published TEXT,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            PRIMARY KEY (urn, as_at)
        ) STRICT;

        -- Every sighting of a home in an in-year inspections table: the home's
        -- attributes as published with that table. Internal: `homes` is derived
        -- from `home_snapshots` first and from these second.
        CREATE TABLE home_observations (
            urn TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            as_at TEXT NOT NULL,
            provision_type TEXT,
            sector TEXT,
            is_independent INTEGER,
            local_authority TEXT,
            la_code TEXT,
            ofsted_region TEXT,
            region TEXT,
            places INTEGER,
            registration_date TEXT,
            registration_status TEXT,
            is_short_break_only INTEGER,
            owner TEXT,
            PRIMARY KEY (urn, source_id)
        ) STRICT;

        CREATE TABLE inspections (
            id TEXT PRIMARY KEY,
            urn TEXT NOT NULL REFERENCES homes(urn),
            event_number TEXT,
            inspection_date TEXT NOT NULL,
            publication_date TEXT,
            event_type TEXT NOT NULL,
            event_type_as_published TEXT,
            judgement TEXT,
            judgement_as_published TEXT,
            helped_and_protected TEXT,
            leaders_and_managers TEXT,
            outcomes_in_education TEXT,
            health_services TEXT,
            framework TEXT,
            source_id TEXT REFERENCES sources(sha256)
        ) STRICT;

        -- One row per (inspection, file that reported it): `inspections` takes,
        -- field by field, the value from the newest file that gives one, so the
        -- registry is the same whatever order files are loaded in.
        CREATE TABLE inspection_observations (
            inspection_id TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            source_rank TEXT NOT NULL,
            urn TEXT NOT NULL,
            event_number TEXT,
            inspection_date TEXT NOT NULL,
            publication_date TEXT,
            event_type TEXT NOT NULL,
            event_type_as_published TEXT,
            judgement TEXT,
            judgement_as_published TEXT,
            helped_and_protected TEXT,
            leaders_and_managers TEXT,
            outcomes_in_education TEXT,
            health_services TEXT,
            framework TEXT,
            PRIMARY KEY (inspection_id, source_id)
        ) STRICT;

        CREATE TABLE la_missing_stats (
            year INTEGER NOT NULL,
            geographic_level TEXT NOT NULL
                CHECK (geographic_level IN ('National', 'Regional', 'Local authority')),
            la_code TEXT,
            area_code TEXT NOT NULL,
            la_name TEXT,
            region_name TEXT,
            measure TEXT NOT NULL,
            value REAL,
            symbol TEXT CHECK (symbol IS NULL OR symbol IN ('c', 'z', 'x', 'k', 'u', 'low')),
            release TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            PRIMARY KEY (year, area_code, measure, release)
        ) STRICT;

        CREATE TABLE national_missing_stats (
            year INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('missing', 'away')),
            breakdown TEXT NOT NULL,
            characteristic TEXT NOT NULL,
            value REAL,
            symbol TEXT,
            release TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            PRIMARY KEY (year, kind, breakdown, characteristic, release)
        ) STRICT;

        CREATE TABLE la_placement_stats (
            year INTEGER NOT NULL,
            geographic_level TEXT NOT NULL,
            la_code TEXT,
            area_code TEXT NOT NULL,
            la_name TEXT,
            measure TEXT NOT NULL,
            value REAL,
            symbol TEXT,
            release TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            PRIMARY KEY (year, area_code, measure, release)
        ) STRICT;

        -- Status changes of homes (missing, inactive, back to active, ...),
        -- kept for ever: a refresh never deletes a row.
        CREATE TABLE home_status_history (
            id INTEGER PRIMARY KEY,
            urn TEXT NOT NULL REFERENCES homes(urn),
            status TEXT NOT NULL,
            previous_status TEXT,
            changed_at TEXT NOT NULL,
            crawl_id TEXT,
            reason TEXT
        ) STRICT;

        CREATE INDEX idx_homes_la_code ON homes(la_code);
        CREATE INDEX idx_homes_owner ON homes(owner);
        CREATE INDEX idx_home_snapshots_as_at ON home_snapshots(as_at);
        CREATE INDEX idx_inspections_urn ON inspections(urn, inspection_date);
        CREATE INDEX idx_inspections_event_number ON inspections(event_number);
        CREATE INDEX idx_inspection_observations_source ON inspection_observations(source_id);
        CREATE INDEX idx_home_observations_urn ON home_observations(urn);
        CREATE INDEX idx_problems_source ON problems(source_id);

        -- When two releases give the same year, the latest release wins here.
        CREATE VIEW la_missing_stats_latest AS
        SELECT s.* FROM la_missing_stats s
        WHERE s.release = (
            SELECT max(o.release) FROM la_missing_stats o
            WHERE o.year = s.year AND o.area_code = s.area_code AND o.measure = s.measure
        );

        CREATE VIEW national_missing_stats_latest AS
        SELECT s.* FROM national_missing_stats s
        WHERE s.release = (
            SELECT max(o.release) FROM national_missing_stats o
            WHERE o.year = s.year AND o.kind = s.kind AND o.breakdown = s.breakdown
              AND o.characteristic = s.characteristic
        );
        """
    )


@migrations()
def m002_listings_and_derived_region(db: Database) -> None:
    """Status follows every listing (official lists and complete crawls), so
    the crawls' listings are kept; a region worked out from the local
    authority is marked as such; a file's columns known to be absent are
    recorded with the file."""
    db.executescript(
        """
        ALTER TABLE homes ADD COLUMN last_listed TEXT;
        ALTER TABLE homes ADD COLUMN status_note TEXT;
        ALTER TABLE homes ADD COLUMN region_is_derived INTEGER;
        ALTER TABLE home_snapshots ADD COLUMN region_is_derived INTEGER;
        ALTER TABLE home_observations ADD COLUMN region_is_derived INTEGER;
        ALTER TABLE sources ADD COLUMN columns_not_given TEXT;

        -- Which homes each complete (full, merged) crawl of the register
        -- listed: with Ofsted's own lists, the evidence home status comes from.
        CREATE TABLE crawl_listings (
            crawl_id TEXT NOT NULL,
            urn TEXT NOT NULL,
            listed_at TEXT NOT NULL,
            is_sample INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (crawl_id, urn)
        ) STRICT;
        CREATE INDEX idx_crawl_listings_urn ON crawl_listings(urn);
        CREATE INDEX idx_homes_status ON homes(status);
        """
    )
    # registries built before: status from the evidence they already hold
    derive_status(db)


@migrations()
def m003_councils_and_groups(db: Database) -> None:
    """Who runs a home: owners that are a council or its children's trust
    (`owner_councils`, derived; the trusts from the shipped
    `council_operators` list); and owner groups loaded from a user's mapping
    (`owner_group_rules` as loaded, with their file; `owner_groups` derived)."""
    db.executescript(
        """
        CREATE TABLE council_operators (
            pattern TEXT PRIMARY KEY,
            la_codes TEXT NOT NULL,
            operator TEXT NOT NULL,
            note TEXT
        ) STRICT;

        CREATE TABLE owner_councils (
            owner TEXT NOT NULL REFERENCES owners(id),
            la_code TEXT NOT NULL,
            how TEXT NOT NULL CHECK (how IN ('council', 'trust')),
            PRIMARY KEY (owner, la_code)
        ) STRICT;

        CREATE TABLE groups (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL
        ) STRICT;

        CREATE TABLE owner_group_rules (
            id TEXT PRIMARY KEY,
            match TEXT NOT NULL,
            match_kind TEXT NOT NULL CHECK (match_kind IN ('exact', 'pattern')),
            group_id TEXT NOT NULL REFERENCES groups(id),
            claim_source TEXT NOT NULL,
            source_id TEXT NOT NULL REFERENCES sources(sha256),
            row INTEGER
        ) STRICT;

        CREATE TABLE owner_groups (
            owner TEXT NOT NULL REFERENCES owners(id),
            group_id TEXT NOT NULL REFERENCES groups(id),
            rule_id TEXT NOT NULL REFERENCES owner_group_rules(id),
            PRIMARY KEY (owner, group_id)
        ) STRICT;
        CREATE INDEX idx_owner_groups_group ON owner_groups(group_id);
        """
    )
    derive_owner_councils(db)


@migrations()
def m004_indexes_for_stories(db: Database) -> None:
    """Indexes for the published pages and stories at ten times today's size
    (bench/bench_serve.py --scale 10): the Ofsted list in force on a date by
    the columns the stories count (covering, so a story never reads the
    snapshot rows themselves); full inspections newest first and each home's
    full inspections by date (downgrades, flagged_homes); the columns the
    homes, inspections and home_snapshots tables are faceted on; DfE figures
    by local authority and measure (home and LA pages, flagged_homes); list
    dates with sectors (the trend on /overview); inspections newest first
    (the inspections table's order); homes by status with each facet column
    (the homes on the newest list, as the index links them)."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS idx_home_snapshots_list_la
            ON home_snapshots(as_at, la_code, sector, places, is_independent,
                              latest_judgement);
        CREATE INDEX IF NOT EXISTS idx_home_snapshots_list_sector
            ON home_snapshots(as_at, sector, region, places, is_independent,
                              latest_judgement, owner, region_is_derived);
        CREATE INDEX IF NOT EXISTS idx_inspections_full_newest
            ON inspections(event_type, inspection_date DESC, urn, judgement);
        CREATE INDEX IF NOT EXISTS idx_inspections_urn_type
            ON inspections(urn, event_type, inspection_date, judgement);
        CREATE INDEX IF NOT EXISTS idx_inspections_judgement ON inspections(judgement);
        CREATE INDEX IF NOT EXISTS idx_homes_sector ON homes(sector);
        CREATE INDEX IF NOT EXISTS idx_homes_region ON homes(region);
        CREATE INDEX IF NOT EXISTS idx_homes_latest_judgement ON homes(latest_judgement);
        CREATE INDEX IF NOT EXISTS idx_homes_status ON homes(status);
        CREATE INDEX IF NOT EXISTS idx_la_missing_stats_la_measure
            ON la_missing_stats(la_code, measure, year);
        CREATE INDEX IF NOT EXISTS idx_inspections_framework ON inspections(framework);
        CREATE INDEX IF NOT EXISTS idx_inspections_event_type ON inspections(event_type);
        CREATE INDEX IF NOT EXISTS idx_home_snapshots_as_at_sector
            ON home_snapshots(as_at, sector);
        CREATE INDEX IF NOT EXISTS idx_home_snapshots_sector ON home_snapshots(sector);
        CREATE INDEX IF NOT EXISTS idx_home_snapshots_region ON home_snapshots(region);
        CREATE INDEX IF NOT EXISTS idx_inspections_inspection_date
            ON inspections(inspection_date);
        CREATE INDEX IF NOT EXISTS idx_homes_status_sector ON homes(status, sector);
        CREATE INDEX IF NOT EXISTS idx_homes_status_region ON homes(status, region);
        CREATE INDEX IF NOT EXISTS idx_homes_status_judgement
            ON homes(status, latest_judgement);
        CREATE INDEX IF NOT EXISTS idx_home_snapshots_list_owner
            ON home_snapshots(as_at, owner, places, latest_judgement);
        """
    )


@migrations()
def m005_one_ranking_and_pending_derivation(db: Database) -> None:
    """Derivation once per batch of files, of what the files observed:
    `derive_pending` holds the homes loads have observed and not yet derived
    (a work list, emptied by each derivation; internal); observations by URN
    are indexed, so deriving a few homes reads only their rows. Every
    observation's ``source_rank`` is rewritten in the one order of sources
    (``registry.derive.rank``: date, then kind, then SHA-256), and every home
    is marked for derivation under it (the next load derives them)."""
    # the old rank was "<as_at>|<source_id>"
    old = "inspection_observations.source_rank"
    rank = rank_sql(
        f"substr({old}, 1, instr({old}, '|') - 1)",
        "inspection_observations.source_id",
        "(SELECT kind FROM sources WHERE sha256 = inspection_observations.source_id)",
    )
    db.executescript(
        f"""
        CREATE TABLE derive_pending (
            urn TEXT PRIMARY KEY
        ) STRICT;
        CREATE INDEX IF NOT EXISTS idx_inspection_observations_urn
            ON inspection_observations(urn);
        UPDATE inspection_observations SET source_rank = {rank};
        INSERT INTO derive_pending (urn) SELECT urn FROM homes;
        """  # noqa: S608
    )


@migrations()
def m006_rules_as_reference(db: Database) -> None:
    """The rules every story, page and program shares, kept in the schema
    rather than written out in each query: ``judgement_scale`` (every era's
    overall judgement on one four-step scale, filled from
    ``extract.normalise.JUDGEMENT_SCALE``) and ``list_dates`` (each Ofsted
    list and the days it is in force: from its date to the day before the next
    list; the newest until 9999-12-31, the date ``list_date('')`` gives)."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS judgement_scale (
            judgement TEXT PRIMARY KEY,
            score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 4),
            grade TEXT NOT NULL,
            grade_label TEXT NOT NULL,
            score_label TEXT NOT NULL,
            is_good_or_better INTEGER NOT NULL CHECK (is_good_or_better IN (0, 1))
        ) STRICT;

        -- One index seek per list (the lists are few, their rows many): the
        -- next list's date is the smallest date after this one.
        CREATE VIEW IF NOT EXISTS list_dates AS
        WITH RECURSIVE lists(as_at, next_as_at) AS (
            SELECT first, (SELECT min(h.as_at) FROM home_snapshots h WHERE h.as_at > first)
            FROM (SELECT (SELECT min(as_at) FROM home_snapshots) AS first)
            WHERE first IS NOT NULL
            UNION ALL
            SELECT l.next_as_at,
                (SELECT min(h.as_at) FROM home_snapshots h WHERE h.as_at > l.next_as_at)
            FROM lists l
            WHERE l.next_as_at IS NOT NULL
        )
        SELECT
            as_at,
            coalesce(date(next_as_at, '-1 day'), '9999-12-31') AS in_force_until,
            next_as_at,
            next_as_at IS NULL AS is_newest
        FROM lists;
        """
    )
    db["judgement_scale"].upsert_all(judgement_scale_rows(), pk="judgement")


@migrations()
def m007_story_summaries(db: Database) -> None:
    """What the ``downgrades`` and ``owners`` stories read instead of working it
    out on every request (``registry.derive.summaries``): each full
    inspection's previous judged full inspection and the change on the scale
    (``inspections.previous_full_inspection_date``, ``previous_judgement``,
    ``judgement_change``; downgrades newest first from a partial covering
    index), and
    ``owner_snapshots``, each owner's homes, places and judgements on each
    Ofsted list (recounted for the lists a load wrote rows of:
    ``owner_snapshots_pending``). Filled here for every home and list."""
    db.executescript(
        """
        ALTER TABLE inspections ADD COLUMN previous_full_inspection_date TEXT;
        ALTER TABLE inspections ADD COLUMN previous_judgement TEXT;
        ALTER TABLE inspections ADD COLUMN judgement_change INTEGER;
        CREATE INDEX IF NOT EXISTS idx_inspections_downgrades
            ON inspections(inspection_date DESC, urn, judgement, judgement_change,
                           previous_full_inspection_date, previous_judgement)
            WHERE judgement_change < 0;

        CREATE TABLE IF NOT EXISTS owner_snapshots (
            as_at TEXT NOT NULL,
            owner TEXT NOT NULL REFERENCES owners(id),
            homes INTEGER NOT NULL,
            places INTEGER,
            outstanding INTEGER NOT NULL,
            good INTEGER NOT NULL,
            requires_improvement INTEGER NOT NULL,
            inadequate INTEGER NOT NULL,
            not_yet_judged INTEGER NOT NULL,
            judged INTEGER NOT NULL,
            PRIMARY KEY (as_at, owner)
        ) STRICT;
        CREATE INDEX IF NOT EXISTS idx_owner_snapshots_ranked
            ON owner_snapshots(as_at, homes DESC, places DESC);
        -- the lists loads have written rows of and not yet counted (a work
        -- list like derive_pending; internal)
        CREATE TABLE IF NOT EXISTS owner_snapshots_pending (
            as_at TEXT PRIMARY KEY
        ) STRICT;
        """
    )
    derive_summaries(db)
