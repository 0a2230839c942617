"""`ofsted-homes extract-report --explain`: for each field, the page and the
printed text it came from, and why an empty field is empty."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from extract.report_explain import explain
from extract.reports import extract_report
from registry.cli.main import cli

PDFS = Path(__file__).resolve().parent.parent / "fixtures" / "pdfs"


def _explain(path: Path) -> str:
    result = CliRunner().invoke(cli, ["extract-report", "--explain", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_explain_shows_page_and_text_of_each_field() -> None:
    out = _explain(PDFS / "artefacts" / "artefacts-2015-wingdings.pdf")
    lines = out.splitlines()
    # the wrapped name, joined at its hyphen, and where it was printed
    at = lines.index("responsible_individual: Katie Stephens-Hart")
    assert lines[at + 1] == "    page 1: Responsible individual / Katie Stephens-Hart"
    at = lines.index("judgements.leaders_and_managers: Requires improvement to be good")
    assert lines[at + 1] == (
        "    page 2: The impact and effectiveness of leaders and Requires "
        "improvement managers"
    )
    at = lines.index("inspection_date: 2016-11-09")
    assert lines[at + 1] == "    page 1: Inspection dates / 9–10 November 2016"
    at = lines.index("places: 4")
    assert lines[at + 1].startswith("    page 2: The home is registered to provide")


def test_explain_says_why_a_field_is_empty() -> None:
    out = _explain(PDFS / "nms2010-random-inspection.pdf")
    lines = out.splitlines()
    at = lines.index("inspection_type: (empty)")
    assert lines[at + 1].startswith("    why empty: inspection type: 'Random'")
    at = lines.index("judgements.overall: Satisfactory")
    assert lines[at + 1].startswith("    page 2: Overall effectiveness")


def test_every_field_of_every_fixture_has_a_source_or_a_reason() -> None:
    for path in sorted(PDFS.glob("*.pdf")):
        report = extract_report(path)
        for field, found in explain(report).items():
            if found["value"] in (None, 0, ()):
                continue
            assert found["sources"], f"{path.name}: {field} has no source"
            for source in found["sources"]:
                assert 1 <= source.page <= report.pages
                assert source.text, (path.name, field)
