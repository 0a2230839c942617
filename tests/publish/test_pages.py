"""Pages per home, owner and local authority, the overview charts, the sample
banner, and the plugin's pure helpers."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from registry.publish.serve import make_datasette

ROOT = Path(__file__).resolve().parents[2]


def without_labels(html: str) -> str:
    """The page without the cells' data-label attributes."""
    return re.sub(r' data-label="[^"]*"', "", html)


def plugin():
    path = ROOT / "datasette" / "plugins" / "ofsted_pages.py"
    spec = importlib.util.spec_from_file_location("plugin_ofsted_pages", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chart_specs(html: str) -> dict[str, dict]:
    found = re.findall(
        r'<figure class="ofsted-chart" id="([^"]+)">.*?'
        r'<script type="application/json" class="ofsted-chart-data">(.*?)</script>',
        html,
        re.S,
    )
    return {chart_id: json.loads(data) for chart_id, data in found}


async def test_home_page(ds):
    response = await ds.client.get("/home/SC100001")
    assert response.status_code == 200
    html = response.text
    assert "<h1>Children's home SC100001</h1>" in html
    assert '<a href="/owner/sunrise-care-ltd">Sunrise Care Ltd</a>' in html
    assert '<a href="/la/E06000001">Hartlepool</a>' in html
    timeline = chart_specs(html)["rating-timeline"]
    assert timeline["labels"] == ["2021-06-01", "2023-02-01", "2024-05-10"]
    assert timeline["datasets"][0]["data"] == [4, 3, 3]
    # Inspections, newest first, with their report links.
    assert html.index("2024-05-10</td>") < html.index("2021-06-01</td>")
    assert '<a href="https://files.ofsted.gov.uk/v1/file/50000000">report</a>' in html
    # What the reports say, with page links, and LA context with its caveat.
    assert "on 14 occasions since the last inspection" in html
    assert ">p. 5</a>" in html
    assert "not where the home is" in html
    # every cell says its column (a 390 px screen shows rows as cards)
    assert '<td data-label="Year to 31 March">2024</td>' in html
    assert "<td>2024</td><td>120</td>" in without_labels(html)
    assert "SUNRISE CARE LTD" in html  # the 2024 list's spelling
    # The FOI count matched to the home, with its source and suppression.
    disclosed = re.sub(
        r"\s+", "", without_labels(html[html.index("ofsted-disclosed") :])
    )
    assert (
        "<td>ClevelandPoliceFOI123/24</td><td>OGLv3.0</td><td>missing</td>" in disclosed
    )
    assert "<td>17</td><td>&lt;5</td><td>urn</td>" in disclosed
    assert "/assets/vendor/chartjs-4.6.1/chart.umd.min.js" in html


async def test_home_page_for_a_home_never_inspected(ds):
    html = (await ds.client.get("/home/SC100005")).text
    assert "No full inspection with a judgement yet." in html
    assert "rating-timeline" not in chart_specs(html)


@pytest.mark.parametrize(
    "path",
    [
        "/home/SC999999",
        "/home/not-a-urn",
        "/owner/nobody",
        "/owner/UPPER",
        "/la/E99999999",
    ],
)
async def test_unknown_pages_are_404(ds, path):
    assert (await ds.client.get(path)).status_code == 404


async def test_home_urn_is_case_insensitive(ds):
    assert (await ds.client.get("/home/sc100001")).status_code == 200


async def test_owner_page(ds):
    html = (await ds.client.get("/owner/sunrise-care-ltd")).text
    assert "<h1>Sunrise Care Ltd</h1>" in html
    assert "<strong>3</strong> children's homes" in html
    assert "<strong>11</strong> places" in html
    mix = chart_specs(html)["rating-mix"]
    assert dict(zip(mix["labels"], mix["datasets"][0]["data"], strict=True)) == {
        "Outstanding": 1,
        "Good": 2,
        "Requires improvement to be good": 0,
        "Inadequate": 0,
        "Not yet judged": 0,
    }
    for urn in ("SC100001", "SC100002", "SC100006"):
        assert f'<a href="/home/{urn}">{urn}</a>' in html


async def test_la_page_shows_suppressed_figures_as_symbols(ds):
    html = (await ds.client.get("/la/E09000012")).text
    assert "<h1>Hackney</h1>" in html
    assert "<td>2024</td><td>c</td><td>40</td><td>500</td>" in re.sub(
        r"\s+", "", without_labels(html)
    )
    missing = chart_specs(html)["missing-by-year"]
    assert missing["labels"] == [2024]
    assert missing["datasets"][0]["data"] == [None]  # a gap, never a zero


async def test_la_page_chart_by_year(ds):
    html = (await ds.client.get("/la/E06000001")).text
    missing = chart_specs(html)["missing-by-year"]
    assert missing["labels"] == [2023, 2024]
    assert missing["datasets"][0]["data"] == [100, 120]
    assert '<a href="/home/1000007">1000007</a>' in html
    # 1000007 left Ofsted's list after 2024: shown, but not counted as current.
    assert (
        "<strong>1</strong> children's home in its area on Ofsted's latest list" in html
    )
    assert "(1 more in the registry no longer listed)" in html
    assert "<td>2024-03-31</td></tr>" in without_labels(html)


async def test_overview_charts(ds):
    html = (await ds.client.get("/overview")).text
    charts = chart_specs(html)
    national = charts["national-missing"]
    assert national["labels"] == [2023, 2024]
    assert national["datasets"][0]["data"] == [82110, 83920]
    by_sector = charts["rating-by-sector"]
    assert by_sector["labels"] == ["Local Authority", "Private", "Voluntary"]
    good = next(d for d in by_sector["datasets"] if d["label"] == "Good")
    assert good["data"] == [0, 2, 0]  # the inactive home is not counted
    regions = charts["homes-per-region"]
    assert dict(
        zip(regions["labels"], regions["datasets"][0]["data"], strict=True)
    ) == {
        "West Midlands": 2,
        "London": 2,
        "North East": 1,
        "North West": 1,
    }


async def test_row_pages_link_to_the_pages(ds):
    home = (await ds.client.get("/registry/homes/SC100001")).text
    assert 'href="/home/SC100001"' in home
    owner = (await ds.client.get("/registry/owners/sunrise-care-ltd")).text
    assert 'href="/owner/sunrise-care-ltd"' in owner


PAGE_TYPES = [
    "/",
    "/registry",
    "/registry/homes",
    "/registry/homes?_facet=sector",
    "/registry/homes/SC100001",
    "/registry/market_snapshot",
    "/registry?sql=select+1",
    "/home/SC100001",
    "/owner/sunrise-care-ltd",
    "/la/E06000001",
    "/overview",
    "/home/SC999999",
]


@pytest.mark.parametrize("path", PAGE_TYPES)
async def test_sample_data_is_labelled_on_every_page(ds, path):
    assert "ofsted-sample-banner" in (await ds.client.get(path)).text


@pytest.mark.parametrize("path", PAGE_TYPES[:3] + PAGE_TYPES[7:8])
async def test_no_sample_label_on_official_data(plain_registry_path, path):
    ds = make_datasette(plain_registry_path)
    assert "ofsted-sample-banner" not in (await ds.client.get(path)).text


async def test_pages_load_nothing_from_other_sites(ds):
    for path in ("/home/SC100001", "/overview", "/registry/homes"):
        html = (await ds.client.get(path)).text
        for url in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/", "http://localhost/")), (path, url)
    vendored = await ds.client.get("/assets/vendor/chartjs-4.6.1/chart.umd.min.js")
    assert vendored.status_code == 200
    assert "Chart.js v4.6.1" in vendored.text[:200]
    assert (await ds.client.get("/assets/charts.js")).status_code == 200


async def test_csv_export_streams_all_rows(ds):
    response = await ds.client.get("/registry/inspections.csv?_stream=on&_size=max")
    assert response.status_code == 200
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("id,urn")
    assert len(lines) == 1 + 13


# ------------------------------------------------------------ pure helpers


def test_rating_points_use_full_inspections_on_a_four_point_scale():
    points = plugin().rating_points(
        [
            {
                "inspection_date": "2014-01-01",
                "event_type": "Full inspection",
                "judgement": "Adequate",
            },
            {
                "inspection_date": "2016-01-01",
                "event_type": "Interim inspection",
                "judgement": "Improved effectiveness",
            },
            {
                "inspection_date": "2018-01-01",
                "event_type": "Monitoring inspection",
                "judgement": None,
            },
            {
                "inspection_date": "2019-01-01",
                "event_type": "Full inspection",
                "judgement": "Inadequate",
            },
            {
                "inspection_date": "2020-01-01",
                "event_type": "Full inspection",
                "judgement": "Not judged",
            },
        ]
    )
    assert [(p["date"], p["score"]) for p in points] == [
        ("2014-01-01", 2),
        ("2019-01-01", 1),
    ]


def test_rating_mix_counts_old_scales_as_requires_improvement():
    mix = plugin().rating_mix(
        [
            {"latest_judgement": j}
            for j in ("Adequate", "Good", None, "Not judged", "Good")
        ]
    )
    assert mix == {
        "Outstanding": 0,
        "Good": 2,
        "Requires improvement to be good": 1,
        "Inadequate": 0,
        "Not yet judged": 2,
    }


def test_pivot_missing_keeps_symbols_and_ignores_other_measures():
    years = plugin().pivot_missing(
        [
            {
                "year": 2024,
                "measure": "missing_incidents",
                "value": None,
                "symbol": "c",
                "release": "2025",
            },
            {
                "year": 2024,
                "measure": "children_missing",
                "value": 4.0,
                "symbol": None,
                "release": "2025",
            },
            {
                "year": 2023,
                "measure": "pct_children_missing",
                "value": 9.0,
                "symbol": None,
                "release": "2025",
            },
        ]
    )
    assert [y["year"] for y in years] == [2024]
    assert years[0]["missing_incidents"] is None
    assert years[0]["missing_incidents_symbol"] == "c"
    assert years[0]["children_missing"] == 4.0


def test_highlight_snippet_escapes_before_marking():
    highlight = plugin().highlight_snippet
    assert str(highlight("a [[b]] <i>c</i>")) == "a <mark>b</mark> &lt;i&gt;c&lt;/i&gt;"
    assert "<mark>" not in str(highlight("cut off [[b"))
    assert str(highlight("[[<script>]]")) == "<mark>&lt;script&gt;</mark>"


@pytest.mark.parametrize(
    ("column", "value", "href"),
    [
        ("urn", "SC100001", "/home/SC100001"),
        ("urn", "1000003", "/home/1000003"),
        ("urn", "<b>", None),
        ("owner_id", "sunrise-care-ltd", "/owner/sunrise-care-ltd"),
        ("owner_id", "javascript:alert(1)", None),
        ("la_code", "E06000001", "/la/E06000001"),
        ("la_code", "../x", None),
        ("places", "4", None),
        ("urn", None, None),
    ],
)
def test_link_for(column, value, href):
    assert plugin().link_for(column, value) == href


async def test_search_everything(ds):
    html = (await ds.client.get("/search?q=occasions")).text
    assert "<h2>Inspection report text</h2>" in html
    assert html.count("<mark>occasions</mark>") == 2
    assert '<a href="/home/SC100001">SC100001</a>' in html
    assert 'href="/registry/report_pages/' in html
    owners = (await ds.client.get("/search?q=sunrise")).text
    assert (
        '<a href="/owner/sunrise-care-ltd">Sunrise Care Ltd</a> (3 homes on the newest list)'
        in owners
    )
    urn = (await ds.client.get("/search?q=sc100001")).text
    assert 'Home <a href="/home/SC100001">SC100001</a>' in urn
    council = (await ds.client.get("/search?q=hack")).text
    assert '<a href="/la/E09000012">Hackney</a> (London)' in council
    nothing = (await ds.client.get('/search?q="unbalanced')).text
    assert "Nothing matches" in nothing
    assert "ofsted-sample-banner" in nothing
