"""Rules once: the rating scale and "the Ofsted list in force on a date" are
written in one place each, and every story, page and program uses that place.

The scale is ``extract.normalise.JUDGEMENT_SCALE``, which fills the registry's
``judgement_scale`` table; the list in force is the ``list_dates`` view. No
canned query's SQL file spells either out, no Python module keeps a copy, and
every story's SQL lives in ``datasette/queries/<name>.sql``."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from extract.normalise import JUDGEMENT_SCALE, SCALE_STEPS, judgement_scale_rows
from registry.errors import RegistryError
from registry.publish.queries import QUERIES_DIR, fill_query_sql
from registry.publish.serve import METADATA_PATH, load_metadata
from registry.schema.db import open_registry

ROOT = Path(__file__).resolve().parents[2]
SQL_FILES = sorted((ROOT / "datasette" / "queries").glob("*.sql"))
QUERIES = yaml.safe_load(METADATA_PATH.read_text())["databases"]["registry"]["queries"]

# Judgement names as the registry spells them (any era's wording); the
# scale's grades (outstanding, requires_improvement, ...) are lower case.
SCALE_WORDS = re.compile(
    r"'(Outstanding|Good|Requires improvement[^']*|Adequate|Satisfactory|Inadequate)'"
)
# "the newest list dated on or before" written out: max(as_at) over the lists.
AS_AT_RULE = re.compile(r"max\s*\(\s*as_at\s*\)\s+from\s+home_snapshots", re.I)


def sql_without_comments(path: Path) -> str:
    return re.sub(r"--[^\n]*", "", path.read_text())


def test_every_story_has_its_sql_file_and_no_other():
    assert SQL_FILES, "no SQL files in datasette/queries"
    assert {p.stem for p in SQL_FILES} == set(QUERIES)
    for name, spec in QUERIES.items():
        assert "sql" not in spec, f"metadata.yml: {name} has SQL inline"
    served = load_metadata("registry")["databases"]["registry"]["queries"]
    for path in SQL_FILES:
        assert served[path.stem]["sql"] == path.read_text().strip()


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.stem)
def test_no_story_spells_out_the_scale_or_the_list_rule(path):
    sql = sql_without_comments(path)
    assert not SCALE_WORDS.search(sql), f"{path.name}: judgement names in the SQL"
    assert not re.search(r"case\s+\w+\.?judgement\s+when", sql, re.I), path.name
    assert not AS_AT_RULE.search(sql), f"{path.name}: the list-in-force rule"


def test_the_scan_would_notice_a_copy():
    """Control: the checks above find the copies the stories had."""
    copies = [
        "sum(latest_judgement in ('Requires improvement to be good', 'Adequate'))",
        "(case i.judgement when 'Outstanding' then 4 when 'Good' then 3 end)",
    ]
    for copy in copies:
        assert SCALE_WORDS.search(copy) or re.search(r"case\s+\w+\.?judgement", copy)
    rule = "where as_at = (select max(as_at) from home_snapshots where as_at <= :d)"
    assert AS_AT_RULE.search(rule)


PYTHON_ROOTS = ("registry", "extract", "datasette/plugins")
SCALE_HOME = ROOT / "extract" / "normalise.py"


def python_files():
    for root in PYTHON_ROOTS:
        yield from sorted((ROOT / root).rglob("*.py"))


def test_no_python_module_keeps_its_own_scale():
    """Only extract/normalise.py names the steps of the scale; the readers'
    lists of an era's wording (extract/report_judgements.py) use its names,
    never a score of their own. A mapping of judgement names to numbers, or a
    judgement name beside "Requires improvement" in a list, is a copy."""
    offenders = []
    for path in python_files():
        if path == SCALE_HOME:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = [
                    k.value
                    for k in node.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                ]
                values = [v for v in node.values if isinstance(v, ast.Constant)]
                if set(keys) & set(JUDGEMENT_SCALE) and all(
                    isinstance(v.value, int) for v in values
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if re.search(r"requires improvement", text, re.I) and (
                    re.search(r"\bthen\s+\d", text) or "'Inadequate'" in text
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if AS_AT_RULE.search(text):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"copies of the scale or the list rule: {offenders}"


def test_the_pages_use_the_one_scale():
    import sys

    sys.path.insert(0, str(ROOT / "datasette" / "plugins"))
    try:
        import ofsted_pages
    finally:
        sys.path.remove(str(ROOT / "datasette" / "plugins"))
    assert ofsted_pages.RATING_SCALE is JUDGEMENT_SCALE
    assert ofsted_pages.MIX_ORDER[:-1] == [SCALE_STEPS[s][1] for s in (4, 3, 2, 1)]
    assert "list_dates" in ofsted_pages.NEWEST_LIST


def test_the_table_holds_the_python_scale(tmp_path):
    db = open_registry(tmp_path / "registry.db")
    rows = list(
        db.query("select * from judgement_scale order by score desc, judgement")
    )
    expected = sorted(
        judgement_scale_rows(), key=lambda r: (-r["score"], r["judgement"])
    )
    assert rows == expected
    good = {r["judgement"] for r in rows if r["is_good_or_better"]}
    assert good == {"Outstanding", "Good"}
    assert {r["score"] for r in rows if r["grade"] == "requires_improvement"} == {2}
    assert {"Adequate", "Satisfactory", "Requires improvement to be good"} <= {
        r["judgement"] for r in rows if r["score"] == 2
    }


def test_list_dates_gives_the_list_in_force(tmp_path):
    db = open_registry(tmp_path / "registry.db")
    assert list(db.query("select * from list_dates")) == []
    db.execute(
        "insert into sources (sha256, file_name, kind, loaded_at) "
        "values ('s', 'f.csv', 'providers', 'now')"
    )
    for urn, as_at in [
        ("SC000001", "2015-03-31"),
        ("SC000002", "2015-03-31"),
        ("SC000001", "2016-03-31"),
        ("SC000001", "2024-08-31"),
    ]:
        db.execute("insert or ignore into homes (urn) values (?)", [urn])
        db.execute(
            "insert into home_snapshots (urn, as_at, source_id) values (?, ?, 's')",
            [urn, as_at],
        )
    db.conn.commit()
    assert [tuple(r.values()) for r in db.query("select * from list_dates")] == [
        ("2015-03-31", "2016-03-30", "2016-03-31", 0),
        ("2016-03-31", "2024-08-30", "2024-08-31", 0),
        ("2024-08-31", "9999-12-31", None, 1),
    ]

    def in_force(day):
        found = db.execute(
            "select as_at from list_dates where ? between as_at and in_force_until",
            [day],
        ).fetchall()
        return [r[0] for r in found]

    assert in_force("2015-03-30") == []
    assert in_force("2015-03-31") == ["2015-03-31"]
    assert in_force("2016-03-30") == ["2015-03-31"]
    assert in_force("2016-03-31") == ["2016-03-31"]
    assert in_force("2020-01-01") == ["2016-03-31"]
    assert in_force("9999-12-31") == ["2024-08-31"]  # list_date('') is the newest
    assert in_force(None) == []
    # the rule the stories used to write out, on every day from 2015 to 2025
    conn = sqlite3.connect(tmp_path / "registry.db")
    for year in range(2014, 2026):
        for day in (f"{year}-03-30", f"{year}-03-31", f"{year}-08-31", f"{year}-12-31"):
            old = conn.execute(
                "select max(as_at) from home_snapshots where as_at <= ?", [day]
            ).fetchone()[0]
            assert in_force(day) == ([old] if old else []), day
    conn.close()


def test_inline_sql_in_the_metadata_is_refused(tmp_path):
    metadata = {"databases": {"registry": {"queries": {"x": {"sql": "select 1"}}}}}
    with pytest.raises(RegistryError, match="inline"):
        fill_query_sql(metadata, QUERIES_DIR)
    missing = {"databases": {"registry": {"queries": {"nope": {"title": "t"}}}}}
    with pytest.raises(RegistryError, match=r"nope\.sql"):
        fill_query_sql(missing, tmp_path)
