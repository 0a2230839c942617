"""The matcher on a labelled set of 260 generated FOI rows (bench/bench_match.py):
no wrong automatic match for a home in the registry, and the true home is
offered for review in most of the rest."""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="module")
def bench():
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "bench_match.py"
    spec = importlib.util.spec_from_file_location("bench_match", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_match"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def labelled(bench, tmp_path_factory):
    homes, rows = bench.labelled_set(seed=6, n_homes=400, n_rows=260)
    db = bench.build_registry(tmp_path_factory.mktemp("match") / "registry.db", homes)
    return db, rows


def test_the_labelled_set_is_big_enough(labelled):
    _, rows = labelled
    assert len(rows) >= 200
    assert sum(r.truth is None for r in rows) >= 40  # homes the registry lacks


def test_no_wrong_automatic_match_for_a_home_in_the_registry(bench, labelled):
    db, rows = labelled
    result = bench.evaluate(db, rows)
    assert result["rows"] == result["auto"] + result["queued"] + result["unmatched"]
    wrong_about_registry_homes = [w for w in result["wrong"] if w[1] is not None]
    assert wrong_about_registry_homes == []
    assert result["precision"] >= 0.95
    assert result["recall"] >= 0.2
    assert result["recall_with_review"] >= 0.85


def test_default_matching_makes_no_wrong_automatic_match(bench, labelled):
    """`load-incidents` matches by owner, LA and places only with --auto-match."""
    from registry.incidents.matching import Matcher

    db, rows = labelled
    matcher = Matcher(db, auto_fuzzy=False)
    wrong = 0
    for line, item in enumerate(rows, start=2):
        match = matcher.match(bench.record_for(item.row, line))
        if match.status == "matched":
            wrong += match.urn != item.truth
            assert match.method == "urn"
    assert wrong == 0
