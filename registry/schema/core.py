"""The registry's schema, as sqlite-utils migrations.

Every change to a table is a new migration function appended at the end; never
edit one that has shipped. ``registry.schema.db.open_registry`` applies every
migration set listed in ``registry.schema.db.MIGRATION_SETS``.

The public names (tables and columns) are a contract with the people who write
SQL against the registry: see README.md, "The public schema".
"""

from sqlite_utils import Database, Migrations

migrations = Migrations("ofsted-homes")


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
