"""The canned queries of issue 6 against registries built by the real loaders:
flagged_homes returns exactly the homes constructed to be flagged, with their
evidence; missing_discrepancies reproduces the NCA's 2020-21 table F1."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from registry.incidents.incidents import load_incidents, open_private
from registry.loading.files import load_file


@pytest.fixture
def evidence_registry(registry, tmp_path, kit):
    """The conftest homes with per-home evidence of every kind."""
    foi = kit.write_csv(
        tmp_path / "foi.csv",
        [
            ["URN", "Financial year", "Missing incidents"],
            ["SC100001", "2022/23", "14"],  # Good 2023-06-01: flagged
            ["SC100004", "2022/23", "3"],  # Good, 4 places: shown <5, not used
            ["SC100006", "2022/23", "50"],  # Requires improvement: never flagged
            ["1000007", "2019/20", "30"],  # Good 2022-05-05: 26+ months before
        ],
    )
    load_incidents(registry, foi, source_name="Test Police FOI 123", licence="OGL v3.0")
    queued = kit.write_csv(
        tmp_path / "queued.csv",
        [
            ["Provider", "Local authority", "Year", "Incidents"],
            ["Oakleaf Homes Ltd", "Lancashire", "2022", "99"],
        ],
    )
    load_incidents(registry, queued, source_name="Unsure FOI")  # queued: not evidence
    with registry.conn:
        kit.add_report_mention(
            registry,
            "1000005",
            "2022-09-01",
            count=9,
            quote="Children went missing nine times.",
        )
        kit.add_report_mention(
            registry,
            "1000005",
            "2022-09-01",
            count=None,
            quote="Staff offer return home interviews.",
            number=1,
        )
        kit.add_report_mention(
            registry,
            "SC100009",
            "2023-04-04",
            count=None,
            quote="Some children go missing.",
        )
    private = open_private(tmp_path / "registry.private.db")
    secret = kit.write_csv(
        tmp_path / "annex-a.csv",
        [["URN", "Period", "Incidents"], ["SC100002", "2022/23", "500"]],
    )
    load_incidents(registry, secret, source_name="Annex A", private_db=private)
    return registry


def test_flagged_homes_defaults(evidence_registry, kit):
    rows = kit.run_canned(evidence_registry, "flagged_homes")
    assert [(r["urn"], r["incidents"]) for r in rows] == [
        ("SC100001", 14),
        ("1000005", 9),
    ]
    first, second = rows
    assert first["imported_incidents"] == 14
    assert (first["imported_source"], first["imported_licence"]) == (
        "Test Police FOI 123",
        "OGL v3.0",
    )
    assert (first["imported_period_start"], first["imported_period_end"]) == (
        "2022-04-01",
        "2023-03-31",
    )
    assert (
        first["imported_period_vs_inspection"] == "ends 2 months before the inspection"
    )
    assert first["incidents_quoted"] is None and first["quotes"] is None
    assert first["incidents_per_place"] == 3.5  # 14 incidents, 4 places
    assert second["imported_incidents"] is None
    assert (second["incidents_quoted"], second["sentences_quoted"]) == (9, 2)
    assert "p. 4: Children went missing nine times." in second["quotes"]
    assert second["incidents_per_place"] == 1.8  # 9 incidents, 5 places
    # ranked by incidents per place among the homes with a count: SC100006
    # (50 for 6 places, not flagged: Requires improvement) is the highest
    assert (first["percentile"], second["percentile"]) == (67, 33)
    assert first["homes_ranked"] == 3  # SC100001, 1000005, SC100006
    # SC100001, SC100004, SC100006, 1000005, SC100009 (1000007's is too old
    # for the window but is still evidence)
    assert {r["homes_with_evidence"] for r in rows} == {6}


def test_flagged_homes_parameters(evidence_registry, kit):
    def urns(**params):
        rows = kit.run_canned(evidence_registry, "flagged_homes", **params)
        return [r["urn"] for r in rows]

    assert urns(min_incidents=10) == ["SC100001"]
    assert urns(min_incidents=15) == []
    assert urns(months=48) == ["1000007", "SC100001", "1000005"]
    # never a home without a per-home count, however low the threshold
    assert urns(min_incidents=0, months=120) == ["1000007", "SC100001", "1000005"]


def test_flagged_homes_never_uses_private_or_unmatched_counts(evidence_registry, kit):
    rows = kit.run_canned(
        evidence_registry, "flagged_homes", min_incidents=0, months=120
    )
    assert "SC100002" not in {r["urn"] for r in rows}  # private count of 500
    assert "1000003" not in {r["urn"] for r in rows}  # queued row of 99


@pytest.mark.real
def test_missing_discrepancies_reproduces_nca_table_f1(registry, real_dir, kit):
    nca = real_dir / kit.NCA_F1
    dfe = (
        real_dir
        / "dfe"
        / "la_children_who_were_missing_or_away_from_placement_without_authorisation.csv"
    )
    for path in (nca, dfe):
        result = load_file(registry, path)
        assert result.ok, result.summary
    rows = {
        r["police_force"]: r for r in kit.run_canned(registry, "missing_discrepancies")
    }
    with open(nca, encoding="utf-8-sig", newline="") as fh:
        published = list(csv.DictReader(fh))
    assert len(rows) == len(published) == 39
    for line in published:
        force = line["police_force"].rstrip("0123456789, ")
        row = rows[force]
        assert row["year"] == "2020-21" and row["dfe_year"] == 2021
        assert row["force_as_published"] == line["police_force"]
        for column in ("care_incidents", "care_individuals"):
            value = line[column]
            if value == "x":
                assert (row[f"police_{column}"], row[f"police_{column}_symbol"]) == (
                    None,
                    "x",
                )
            else:
                assert row[f"police_{column}"] == int(value.replace(",", "")), force
    # DfE side: the sum over the force area's councils, worked out from the raw file
    with open(dfe, encoding="utf-8-sig", newline="") as fh:
        cheshire = sum(
            int(r["number"])
            for r in csv.DictReader(fh)
            if r["time_period"] == "2021"
            and r["CLA_group"] == "Number of missing incidents during the year"
            and r["la_name"]
            in {"Cheshire East", "Cheshire West and Chester", "Halton", "Warrington"}
        )
    assert rows["Cheshire"]["dfe_missing_incidents"] == cheshire
    assert rows["Cheshire"]["police_to_dfe_ratio"] == round(1369 / cheshire, 2)
    assert rows["City of London"]["dfe_las_without_figure"] == "City of London (c)"
    assert "wherever those children live" in rows["Kent"]["dfe_caveat"]


def test_police_force_areas_cover_every_local_authority(registry, kit):
    reference = kit.ROOT / "registry" / "data" / "local_authorities.csv"
    with open(reference, encoding="utf-8") as fh:
        las = {r["la_code"] for r in csv.DictReader(fh)}
    areas = {
        r["la_code"]: r["police_force"]
        for r in registry.query("select * from police_force_areas")
    }
    assert las <= set(areas)
    from extract.police import FORCES

    assert set(areas.values()) == set(FORCES)


def test_police_table_problems_and_year(registry, tmp_path):
    from extract.errors import MissingDate, StrictModeError
    from registry.incidents.police import load_police_table
    from registry.provenance import Source, sha256_of

    rows = [
        ["police_force", "care_incidents"],
        ["Kent 2", "1,189"],
        ["Gotham", "5"],
        ["Essex", "lots"],
    ]
    path = tmp_path / "nca_table_f1_2021-22.csv"
    path.write_text("x")
    source = Source(path, sha256_of(path))
    with registry.conn:
        result = load_police_table(registry, source, rows)
    assert result.counts == {"forces": 1, "figures": 1, "problems": 2}
    kent = next(registry.query("select * from police_missing_stats"))
    assert (kent["year"], kent["police_force"], kent["value"], kent["footnotes"]) == (
        "2021-22",
        "Kent",
        1189.0,
        "2",
    )
    with pytest.raises(StrictModeError, match="Gotham"):
        load_police_table(registry, source, rows, strict=True)
    undated = Source(Path("nca.csv"), "0" * 64)
    with pytest.raises(MissingDate, match="2020-21"):
        load_police_table(registry, undated, rows)
