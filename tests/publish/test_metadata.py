"""Meta-test: every table, view and column of a registry with every migration
applied has a description, a source and a licence in metadata.yml. A feature
that adds a table fails here until it is described."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from registry.publish.serve import METADATA_PATH, load_metadata, make_datasette

METADATA = yaml.safe_load(METADATA_PATH.read_text())
TABLES = METADATA["databases"]["registry"]["tables"]
REQUIRED = ("description", "license", "license_url", "source", "source_url")


def published_relations(path: Path) -> dict[str, list[str]]:
    """Tables and views with their columns, leaving out SQLite's own tables and
    full-text index tables (Datasette hides those itself)."""
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "select name, type, sql from sqlite_master where type in ('table', 'view')"
    ).fetchall()
    fts = [name for name, _, sql in rows if sql and "VIRTUAL TABLE" in sql.upper()]
    relations = {}
    for name, _, _ in rows:
        if name.startswith("sqlite_") or any(
            name == f or name.startswith(f + "_") for f in fts
        ):
            continue
        relations[name] = [c[1] for c in conn.execute(f"pragma table_info([{name}])")]
    conn.close()
    return relations


@pytest.fixture
def relations(any_registry_path):
    return published_relations(any_registry_path)


def test_every_table_and_view_has_metadata(relations):
    missing = sorted(set(relations) - set(TABLES))
    assert not missing, f"tables with no entry in metadata.yml: {missing}"


def test_every_table_has_description_source_and_licence(relations):
    lacking = {
        table: [key for key in REQUIRED if not TABLES.get(table, {}).get(key)]
        for table in relations
    }
    lacking = {t: keys for t, keys in lacking.items() if keys}
    assert not lacking, f"metadata.yml lacks: {lacking}"


def test_every_column_has_a_description(relations):
    lacking = {
        table: [
            c
            for c in columns
            if not (TABLES.get(table, {}).get("columns") or {}).get(c)
        ]
        for table, columns in relations.items()
    }
    lacking = {t: cols for t, cols in lacking.items() if cols}
    assert not lacking, f"columns without a description in metadata.yml: {lacking}"


def test_meta_test_notices_a_new_table(registry_path, tmp_path):
    """Control: a table nobody described is reported."""
    path = tmp_path / "registry.db"
    shutil.copyfile(registry_path, path)
    conn = sqlite3.connect(path)
    conn.execute("create table undocumented (x text)")
    conn.commit()
    conn.close()
    assert "undocumented" in set(published_relations(path)) - set(TABLES)


def test_database_and_instance_have_licence_and_source():
    for level in (METADATA, METADATA["databases"]["registry"]):
        for key in ("title", "license", "license_url", "source", "source_url"):
            assert level.get(key), key
    assert "Open Government Licence v3.0" in METADATA["license"]


def test_internal_tables_are_hidden():
    for table in ("home_observations", "inspection_observations", "_sqlite_migrations"):
        assert TABLES[table].get("hidden") is True, table


def test_label_columns_show_names_for_foreign_keys():
    assert TABLES["owners"]["label_column"] == "name"
    assert TABLES["local_authorities"]["label_column"] == "name"


def test_caveats_are_where_users_meet_the_data():
    stats = TABLES["la_missing_stats"]["description"]
    assert "responsible for the child" in stats
    assert "not zeros" in stats
    assert "revised each release" in stats
    assert "2015" in TABLES["inspections"]["description"]
    assert "2017" in TABLES["inspections"]["description"]
    assert "anonymised" in TABLES["homes"]["description"]


def test_facets_and_sorts_name_real_columns(relations):
    for table, meta in TABLES.items():
        if table not in relations:
            continue
        for column in meta.get("facets", []):
            assert column in relations[table], (table, column)
        for key in ("sort", "sort_desc", "label_column"):
            if key in meta:
                assert meta[key] in relations[table], (table, key, meta[key])


async def test_metadata_follows_the_database_name(registry_path, tmp_path):
    """Datasette names a database after its file: a registry published as
    public.db still gets its descriptions and canned queries."""
    assert "public" in load_metadata("public")["databases"]
    public = tmp_path / "public.db"
    shutil.copyfile(registry_path, public)
    ds = make_datasette(public)
    html = (await ds.client.get("/public/homes")).text
    assert "Homes are anonymised by Ofsted" in html
    rows = (await ds.client.get("/public/market_snapshot.json?_shape=array")).json()
    assert rows[0]["sector"] == "Private"
    table = (await ds.client.get("/public/homes.json?_facet=sector")).json()
    assert "sector" in table["facet_results"]
