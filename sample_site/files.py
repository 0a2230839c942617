"""Render the sample population as the official files, in their real layouts.

* Ofsted's annual "Children's social care data in England" workbook: three
  preamble rows, then a header row starting ``Web link, URN`` with the 2025
  column names, ``REDACTED`` names and addresses, dates
  as DD/MM/YYYY. As XLSX when openpyxl is installed, otherwise CSV.
* DfE's missing-from-care files (EES CSVs) with suppression symbols.

Every file says it is sample data in its title row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from sample_site.population import (
    LOCAL_AUTHORITIES,
    Home,
    Inspection,
    Population,
    release_day,
)

SAMPLE_MARK = "SAMPLE DATA, NOT REAL"

_HOME_COLUMNS = [
    "Web link",
    "URN",
    "Linked Education URN",
    "Provision type",
    "Registration date",
    "Registration status",
    "Name",
    "Address 1",
    "Address 2",
    "Town",
    "County",
    "Postcode",
    "Ofsted Region",
    "Government Office Region",
    "Local authority",
    "Parliamentary constituency",
    "Sector",
    "Places",
    "Supported accommodation premises",
    "Short-break-only children's home",
    "Multi Building Children's Home",
    "Organisation which owns the provider",
]
IN_YEAR_COLUMNS = [
    *_HOME_COLUMNS,
    "Inspection event type",
    "Inspection date",
    "Inspection publication date",
    "Inspection event number",
    "Overall experiences and progress of children and young people",
    "Outcomes in education and related learning activities",
    "Health services",
    "How well children and young people are helped and protected",
    "The effectiveness of leaders and managers",
    "Supported Accommodation outcome",
]
PROVIDER_COLUMNS = [
    *_HOME_COLUMNS,
    "Latest Full inspection event type",
    "Latest full inspection date",
    "Latest full inspection publication date",
    "Latest full inspection event number",
    "Overall experiences and progress of children and young people",
    "Outcomes in education and related learning activities",
    "Health services",
    "How well children and young people are helped and protected",
    "The effectiveness of leaders and managers",
    "Supported Accommodation outcome",
]


def _dmy(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _home_cells(home: Home) -> list[object]:
    return [
        "Ofsted Social Care Provider Webpage",
        home.urn,
        "",
        home.provision_type,
        _dmy(home.registration_date),
        "Active",
        *["REDACTED"] * 6,
        home.ofsted_region,
        home.region,
        home.la_name,
        "Sample Constituency",
        home.sector,
        home.places,
        "",
        "",
        "",
        home.owner,
    ]


def _inspection_cells(inspection: Inspection) -> list[object]:
    return [
        inspection.event_type,
        _dmy(inspection.inspection_date),
        _dmy(inspection.publication_date),
        inspection.event_number,
        inspection.overall or "",
        "",
        "",
        inspection.helped_and_protected or "",
        inspection.leaders_and_managers or "",
        "",
    ]


def workbook_tables(population: Population, year: int) -> dict[str, list[list[object]]]:
    """The two tables of the release for the year ending 31 March ``year``:
    sheet name -> rows (preamble, header, data)."""
    as_at = dt.date(year, 3, 31)
    published = release_day(year)
    start = dt.date(year - 1, 4, 1)
    fy = f"{year - 1}-{str(year)[2:]}"
    preamble = (
        "This worksheet contains one table, this table begins in cell A4. Column A "
        "includes a link to the Ofsted social care provider webpage for each "
        "provider, links will open in a new window."
    )
    blanks = (
        "Some cells in this table are empty. This is in instances where the column "
        "refers to data that is not applicable for that provider type."
    )
    providers: list[list[object]] = [
        [
            f"Children's social care data in England {year} – Provider level as at "
            f"31 March {year} ({SAMPLE_MARK})"
        ],
        [preamble],
        [blanks],
        list(PROVIDER_COLUMNS),
    ]
    in_year: list[list[object]] = [
        [
            f"Children's social care data in England {year} – Provider level in year "
            f"{fy} ({SAMPLE_MARK})"
        ],
        [preamble],
        [blanks],
        list(IN_YEAR_COLUMNS),
    ]
    for home in population.homes:
        if home.registration_date > as_at:
            continue
        full = [
            i
            for i in home.inspections
            if i.event_type == "Full inspection"
            and i.inspection_date <= as_at
            and i.publication_date <= published
            and not i.is_new
        ]
        latest = max(full, key=lambda i: i.inspection_date, default=None)
        providers.append(
            _home_cells(home) + (_inspection_cells(latest) if latest else [""] * 10)
        )
        for inspection in home.inspections:
            if (
                start <= inspection.inspection_date <= as_at
                and inspection.publication_date <= published
                and not inspection.is_new
            ):
                in_year.append(_home_cells(home) + _inspection_cells(inspection))
    return {
        f"Provider_level_at_31_Mar_{year}": providers,
        f"Provider_level_in_year_{fy}": in_year,
    }


def workbook_bytes(population: Population, year: int, *, fmt: str = "xlsx") -> bytes:
    """The release workbook for ``year`` as XLSX (both sheets) or, with
    ``fmt="csv"``, the in-year table alone as CSV."""
    tables = workbook_tables(population, year)
    if fmt == "csv":
        name = next(n for n in tables if "in_year" in n)
        return _csv_bytes(tables[name])
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    cover = book.create_sheet("Cover")
    cover.append([f"Children's social care data in England {year} ({SAMPLE_MARK})"])
    cover.append(["Generated by ofsted-homes sample-site. Every figure is invented."])
    for name, rows in tables.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def have_xlsx() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True


def _csv_bytes(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")


# ---------------------------------------------------------------- DfE (EES)

DFE_YEARS = (2020, 2021, 2022, 2023, 2024)
_REGIONS = {
    "North East": "E12000001",
    "North West": "E12000002",
    "Yorkshire and The Humber": "E12000003",
    "East Midlands": "E12000004",
    "West Midlands": "E12000005",
    "East of England": "E12000006",
    "London": "E12000007",
    "South East": "E12000008",
    "South West": "E12000009",
}
LA_MEASURES = [
    "Children looked after during the year",
    "Children who had a missing incident during the year",
    "Percentage of children who had a missing incident during the year",
    "Number of missing incidents during the year",
    "Average number of missing incidents per looked after child who went missing",
    "Children who went missing more than once during the year",
    "Children missing at 31 March",
    "Children who were away from placement without authorisation during the year",
    "Percentage of children who were away from placement without authorisation during the year",
    "Number of away from placement without authorisation incidents during the year",
    "Average number of away from placement without authorisation incidents per looked after child",
    "Children who were away from placement without authorisation more than once during the year",
    "Children away from placement without authorisation at 31 March",
]


def _la_figures(rng: random.Random) -> list[float]:
    looked_after = rng.randrange(300, 3000)
    missing_children = int(looked_after * rng.uniform(0.06, 0.14))
    incidents = int(missing_children * rng.uniform(4, 9))
    more_than_once = int(missing_children * rng.uniform(0.4, 0.7))
    at_31 = rng.randrange(0, 12)
    away_children = (
        0 if rng.random() < 0.08 else int(looked_after * rng.uniform(0.01, 0.04))
    )
    away_incidents = int(away_children * rng.uniform(2, 6))
    return [
        looked_after,
        missing_children,
        round(100 * missing_children / looked_after),
        incidents,
        round(incidents / max(missing_children, 1), 1),
        more_than_once,
        at_31,
        away_children,
        round(100 * away_children / looked_after),
        away_incidents,
        round(away_incidents / max(away_children, 1), 1),
        int(away_children * rng.uniform(0.3, 0.6)),
        rng.randrange(0, 6),
    ]


def _ratios(totals: list[float]) -> list[float]:
    """Totals of counts, with the percentage and average measures recomputed."""
    out = list(totals)
    out[2] = round(100 * out[1] / max(out[0], 1))
    out[4] = round(out[3] / max(out[1], 1), 1)
    out[8] = round(100 * out[7] / max(out[0], 1))
    out[10] = round(out[9] / max(out[7], 1), 1)
    return out


def _cell(value: float, *, rounded: bool) -> str:
    if rounded and value >= 10 and float(value).is_integer():  # nearest 10
        return str(int(round(value, -1)))
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def dfe_la_missing_csv(seed: int) -> bytes:
    """`la_children_who_were_missing_or_away_from_placement_without_authorisation.csv`
    in the 2025-release layout, for the sample's local authorities."""
    rng = random.Random(seed * 31 + 5)
    header = [
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
    rows: list[list[object]] = [header]
    for year in reversed(DFE_YEARS):
        by_region: dict[str, list[float]] = {}
        la_rows = []
        for name, gss, code, region, _ofsted in LOCAL_AUTHORITIES:
            figures = _la_figures(rng)
            totals = by_region.setdefault(region, [0.0] * len(figures))
            for index, value in enumerate(figures):
                totals[index] += value
            if name == "Hackney" and year >= 2021:
                cells = ["x"] * len(figures)
            else:
                cells = [
                    "c"
                    if index in (6, 12) and 0 < value < 3
                    else _cell(value, rounded=False)
                    for index, value in enumerate(figures)
                ]
                if figures[7] == 0:
                    cells[10] = "z"
                if figures[12] == 0:
                    cells[12] = "k"
            for measure, cell in zip(LA_MEASURES, cells, strict=True):
                la_rows.append(
                    [
                        year,
                        "Reporting year",
                        "Local authority",
                        "E92000001",
                        "England",
                        _REGIONS[region],
                        region,
                        code,
                        name,
                        gss,
                        measure,
                        cell,
                    ]
                )
        national = _ratios(
            [sum(values) for values in zip(*by_region.values(), strict=True)]
        )
        for measure, value in zip(LA_MEASURES, national, strict=True):
            rows.append(
                [
                    year,
                    "Reporting year",
                    "National",
                    "E92000001",
                    "England",
                    "",
                    "",
                    "",
                    "",
                    "",
                    measure,
                    _cell(value, rounded=True),
                ]
            )
        for region, totals in sorted(by_region.items()):
            for measure, value in zip(LA_MEASURES, _ratios(totals), strict=True):
                rows.append(
                    [
                        year,
                        "Reporting year",
                        "Regional",
                        "E92000001",
                        "England",
                        _REGIONS[region],
                        region,
                        "",
                        "",
                        "",
                        measure,
                        _cell(value, rounded=True),
                    ]
                )
        rows.extend(la_rows)
    return _csv_bytes(rows)


_PLACEMENTS = [
    "1: Foster placements",
    "2: Adoption",
    "3: Placed with parents",
    "4: Secure homes and children's homes",
    "5: Independent and semi-independent living arrangements/supported accommodation",
    "6: Other placements",
]


def dfe_national_missing_csv(seed: int) -> bytes:
    """`official_statistics_cla_who_were_missing.csv` (national, by placement type)."""
    rng = random.Random(seed * 37 + 11)
    rows: list[list[object]] = [
        [
            "time_period",
            "time_identifier",
            "geographic_level",
            "country_code",
            "country_name",
            "missing_status",
            "characteristic",
            "number",
        ]
    ]
    for year in reversed(DFE_YEARS):
        values = [rng.randrange(500, 40000) for _ in _PLACEMENTS]
        values[1] = 0
        for characteristic, value in zip(_PLACEMENTS, values, strict=True):
            cell = "z" if value == 0 else str(round(value, -1))
            rows.append(
                [
                    year,
                    "Reporting year",
                    "National",
                    "E92000001",
                    "England",
                    "Missing from placement incidents",
                    characteristic,
                    cell,
                ]
            )
        rows.append(
            [
                year,
                "Reporting year",
                "National",
                "E92000001",
                "England",
                "Missing from placement incidents",
                "Total incidents",
                str(round(sum(values), -1)),
            ]
        )
    return _csv_bytes(rows)
