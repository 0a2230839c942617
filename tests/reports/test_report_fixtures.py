"""Every layout extracts to its golden JSON, and to the values it was drawn from."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from extract.reports import EXTRACTOR_VERSION, extract_report
from sample_site.report_pdfs import LAYOUTS, render_report, sample_report

EXPECTED = Path(__file__).resolve().parent.parent / "fixtures" / "expected"


def _as_json(data: object) -> dict:
    return json.loads(json.dumps(data, ensure_ascii=False))


@pytest.fixture(scope="module")
def extracted(fixture_pdfs: dict[str, Path]) -> dict[str, dict]:
    return {
        name: _as_json(dataclasses.asdict(extract_report(path)))
        for name, path in fixture_pdfs.items()
    }


def test_golden(fixture_name: str, extracted: dict, updating_golden: bool) -> None:
    path = EXPECTED / f"{fixture_name}.json"
    data = extracted[fixture_name]
    if updating_golden or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    assert data == json.loads(path.read_text(encoding="utf-8"))


def test_fixture_pdfs_are_small(fixture_pdfs: dict[str, Path]) -> None:
    for path in fixture_pdfs.values():
        assert path.stat().st_size < 12_000, path.name


def test_every_layout_has_a_fixture(fixture_specs: dict) -> None:
    assert {layout for layout, _ in fixture_specs.values()} == set(LAYOUTS)


def test_extraction_matches_what_was_drawn(
    fixture_name: str, fixture_specs: dict, extracted: dict
) -> None:
    """Independent of the golden files: the report says what the spec says."""
    layout, spec = fixture_specs[fixture_name]
    got = extracted[fixture_name]
    assert got["urn"] == spec["urn"]
    assert got["layout"] == layout
    assert got["inspection_date"] == spec["inspection_date"]
    assert got["inspection_end_date"] == spec.get("inspection_end_date")
    for key in ("overall", "helped_and_protected", "leaders_and_managers"):
        want = (spec.get("judgements") or {}).get(key)
        if want == "Requires improvement":  # the 2015 wording
            want = "Requires improvement to be good"
        assert got["judgements"][key] == want, key
    for key in (
        "registered_provider",
        "registered_provider_address",
        "responsible_individual",
        "registered_manager",
        "places",
    ):
        assert got[key] == spec.get(key), key
    assert got["inspectors"] == spec.get("inspectors", [])
    requirements = spec.get("requirements") or []
    assert [r["text"].rstrip(".") for r in got["requirements"]] == [
        r["text"].rstrip(".") for r in requirements
    ]
    assert [r["regulation"] for r in got["requirements"]] == [
        r["regulation"] for r in requirements
    ]
    assert [r["due_date"] for r in got["requirements"]] == [
        r["due_date"] for r in requirements
    ]
    assert [(r["text"], r["regulation"]) for r in got["recommendations"]] == [
        (r["text"], r["regulation"]) for r in spec.get("recommendations") or []
    ]
    history = [
        (row["date"], row["type"], row["judgement"])
        for row in spec.get("inspection_history") or []
    ]
    assert [
        (row["inspection_date"], row["inspection_type"], row["judgement"])
        for row in got["inspection_history"]
    ] == history
    assert got["extractor_version"] == EXTRACTOR_VERSION
    assert got["pages"] == len(got["page_texts"])


def test_fragment_a_line_breaks(extracted: dict) -> None:
    """The real report's text order: the judgement word between label lines."""
    page_two = extracted["full-inspection-2015-fragment-a"]["page_texts"][1]
    assert (
        "This inspection\nThe overall experiences and\nprogress of children and\n"
        "Outstanding\nyoung people living in the\nhome are\n"
    ) in page_two
    assert "The impact and\neffectiveness of leaders and Outstanding\nmanagers" in (
        page_two
    )
    assert "Enforcement action since last\ninspection\nNone" in page_two


def test_requirements_table_really_splits_across_pages(extracted: dict) -> None:
    report = extracted["issue-3-requirements-split-across-pages"]
    pages = {r["page"] for r in report["requirements"]}
    assert len(pages) >= 2, pages
    assert report["registered_provider"].endswith("North West")  # wrapped name


def test_missing_mentions_and_counts(extracted: dict) -> None:
    good = extracted["full-inspection-sccif-good"]["missing_mentions"]
    counts = {m["quote"][:40]: m["count"] for m in good}
    assert any(m["count"] == 3 for m in good)  # "three times"
    # "went missing twice ... compared with 14 episodes": two counts, so none
    assert any(
        "significant reduction" in m["quote"] and m["count"] is None for m in good
    ), counts
    split = extracted["issue-3-requirements-split-across-pages"]["missing_mentions"]
    assert any(m["count"] == 23 for m in split)
    assert any(m["kind"] == "away" and m["count"] == 7 for m in split)
    assert all(m["page"] >= 1 for m in split)


def test_render_is_deterministic(tmp_path: Path, fixture_specs: dict) -> None:
    layout, spec = fixture_specs["full-inspection-sccif-good"]
    render_report(spec, tmp_path / "a.pdf", layout=layout)
    render_report(spec, tmp_path / "b.pdf", layout=layout)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sample_reports_round_trip(layout: str, tmp_path: Path) -> None:
    """What the sample site serves reads back to the values it was drawn from."""
    for seed in range(6):
        spec = sample_report(f"SC{100000 + seed}", seed=seed, layout=layout)
        path = tmp_path / f"{layout}-{seed}.pdf"
        render_report(spec, path, layout=layout)
        report = extract_report(path)
        assert report.urn == spec["urn"]
        assert report.inspection_date == spec["inspection_date"]
        want = spec["judgements"]["overall"]
        if want == "Requires improvement":
            want = "Requires improvement to be good"
        assert report.judgements.overall == want
        assert report.registered_provider == spec["registered_provider"]
        assert report.missing_mentions, "every sample has a sentence about missing"


def test_unknown_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="layout must be one of"):
        render_report({"urn": "SC123456"}, tmp_path / "x.pdf", layout="2099")
