"""The sample site serves the real shapes, deterministically, marked as sample."""

from __future__ import annotations

import csv
import io
import json
import urllib.request

from extract.ofsted import INSPECTIONS, PROVIDERS, read_ofsted
from extract.tables import read_sheets
from sample_site import files
from sample_site.population import build_population
from sample_site.server import SampleSite


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_population_is_deterministic_and_urns_have_both_real_shapes():
    one, two = build_population(seed=7, homes=120), build_population(seed=7, homes=120)
    assert [(h.urn, h.la_name, h.registration_date) for h in one.homes] == [
        (h.urn, h.la_name, h.registration_date) for h in two.homes
    ]
    assert [i.file_id for i in one.inspections] == [i.file_id for i in two.inspections]
    urns = [h.urn for h in one.homes]
    assert len(set(urns)) == 120
    assert any(u.startswith("SC") and len(u) == 8 for u in urns)
    assert any(u.isdigit() and len(u) == 7 for u in urns)
    assert build_population(seed=8, homes=120).homes[0].urn != one.homes[0].urn


def test_workbook_has_the_real_layout_and_the_lead_reader_reads_it(tmp_path):
    population = build_population(seed=2, homes=30)
    path = tmp_path / "Childrens_social_care_in_England_2025.xlsx"
    path.write_bytes(files.workbook_bytes(population, 2025))
    sheets = {s.name: s for s in read_sheets(path)}
    in_year = sheets["Provider_level_in_year_2024-25"].rows
    assert "SAMPLE DATA" in str(in_year[0][0])
    assert in_year[1][0].startswith("This worksheet contains one table")
    assert in_year[3][:2] == ["Web link", "URN"]
    assert in_year[3] == files.IN_YEAR_COLUMNS
    assert {row[6] for row in in_year[4:]} == {"REDACTED"}
    assert {row[11] for row in in_year[4:]} == {"REDACTED"}
    read = read_ofsted(list(sheets.values()), file_name=path.name)
    kinds = {t.kind: t for t in read.tables}
    events = [
        i
        for h in population.homes
        for i in h.inspections
        if "2024-04-01" <= i.inspection_date.isoformat() <= "2025-03-31"
    ]
    assert sum(
        t.inspections_count for t in read.tables if t.kind == INSPECTIONS
    ) == len(events)
    assert set(kinds) == {INSPECTIONS, PROVIDERS}
    assert len(kinds[PROVIDERS].rows) == len(population.homes)


def test_dfe_csv_has_the_ees_columns_and_suppression_symbols():
    rows = list(
        csv.reader(io.StringIO(files.dfe_la_missing_csv(1).decode("utf-8-sig")))
    )
    assert rows[0] == [
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
        "region_code",
        "region_name",
        "old_la_code",
        "la_name",
        "new_la_code",
        "CLA_group",
        "number",
    ]
    symbols = {row[-1] for row in rows[1:] if not row[-1].replace(".", "").isdigit()}
    assert {"x", "z"} <= symbols
    national = [
        r
        for r in rows
        if r[2] == "National" and r[10] == "Number of missing incidents during the year"
    ]
    assert len(national) == len(files.DFE_YEARS)
    assert all(int(r[-1]) % 10 == 0 for r in national)  # rounded to the nearest 10


def test_every_source_is_served_and_says_it_is_sample_data():
    with SampleSite(homes=5, seed=1) as site:
        collection = json.loads(
            _get(
                f"{site.url}/govuk/api/content/government/collections/childrens-social-care-statistics"
            )
        )
        documents = collection["links"]["documents"]
        assert len(documents) == 3 and all(
            "SAMPLE DATA" in d["title"] for d in documents
        )
        page = json.loads(_get(documents[-1]["api_url"]))
        attachment = page["details"]["attachments"][0]
        assert _get(attachment["url"]).startswith(b"PK\x03\x04")
        search = _get(
            f"{site.url}/ofsted/search?level_1_types=3&start=0&rows=100"
        ).decode()
        assert "SAMPLE DATA" in search and 'class="results-list"' in search
        home = site.population.homes[0]
        provider = _get(f"{site.url}/ofsted/provider/2/{home.urn}").decode()
        assert "SAMPLE DATA" in provider and f"/provider/2/{home.urn}" in provider
        pdf = _get(f"{site.url}/files/v1/file/{home.inspections[0].file_id}")
        assert pdf.startswith(b"%PDF-")
        data_sets = json.loads(
            _get(
                f"{site.url}/ees/v1/publications/sample-cla-including-adoptions/data-sets"
            )
        )
        assert all("SAMPLE DATA" in d["title"] for d in data_sets["results"])


def test_search_pages_by_100_and_filters_by_latest_report_date():
    with SampleSite(homes=230, seed=1) as site:
        first = _get(f"{site.url}/ofsted/search?start=0&rows=500").decode()
        assert first.count('<li><h3><a href="/provider/2/') == 100  # rows capped at 100
        assert "pagination__next" in first
        last = _get(f"{site.url}/ofsted/search?start=200&rows=100").decode()
        assert (
            last.count('<li><h3><a href="/provider/2/') == 30
            and "pagination__next" not in last
        )
        site.publish_new_reports(3)
        today = (
            __import__("datetime")
            .datetime.now(__import__("datetime").UTC)
            .strftime("%d-%m-%Y")
        )
        recent = _get(
            f"{site.url}/ofsted/search?latest_report_date_start={today}"
        ).decode()
        assert recent.count('<li><h3><a href="/provider/2/') == 3
