"""Mutations of every fixture (a page missing, a label renamed, a judgement
word missing or contradicted) give a NULL with a reason or a classified error,
never a wrong judgement."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from extract.reports import ReportError, extract_report, parse_report_text
from sample_site.report_pdfs import render_report

EXPECTED = Path(__file__).resolve().parent.parent / "fixtures" / "expected"
FIELDS = ("overall", "helped_and_protected", "leaders_and_managers")
VOCABULARY = re.compile(
    r"requires improvement to be good|requires improvement|improved effectiveness|"
    r"sustained effectiveness|declined in effectiveness|outstanding|inadequate|"
    r"satisfactory|adequate|good",
    re.IGNORECASE,
)
LABEL_TYPOS = {
    "experiences": "experiencez",
    "helped": "helpd",
    "leaders": "leeders",
    "Overall effectiveness": "Overal effectivenes",
    "overall effectiveness": "overal effectivenes",
    "interim inspection": "interm inspection",
    "Leadership": "Leedership",
    "safety": "safty",
}


def _golden(name: str) -> dict:
    return json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))


def _check(golden: dict, pages: list[str], what: str) -> None:
    try:
        report = parse_report_text(pages, name=what)
    except ReportError:
        return  # a classified problem is an acceptable outcome
    for field in FIELDS:
        want = golden["judgements"][field]
        got = getattr(report.judgements, field)
        assert got in (want, None), f"{what}: {field} became {got!r}, not {want!r}"
        if want is not None and got is None:
            label = field.replace("_", " ")
            assert any(label in p for p in report.problems), (
                f"{what}: {field} left empty without a reason: {report.problems}"
            )


def test_a_page_missing(fixture_name: str) -> None:
    golden = _golden(fixture_name)
    pages = golden["page_texts"]
    for index in range(len(pages)):
        _check(golden, pages[:index] + pages[index + 1 :], f"without page {index + 1}")


def test_a_label_renamed(fixture_name: str) -> None:
    golden = _golden(fixture_name)
    for before, after in LABEL_TYPOS.items():
        pages = [p.replace(before, after) for p in golden["page_texts"]]
        _check(golden, pages, f"{before!r} renamed")


def test_a_judgement_word_missing(fixture_name: str) -> None:
    golden = _golden(fixture_name)
    pages = golden["page_texts"]
    for page_index, text in enumerate(pages):
        for match in VOCABULARY.finditer(text):
            mutated = list(pages)
            mutated[page_index] = text[: match.start()] + text[match.end() :]
            _check(golden, mutated, f"page {page_index + 1} without {match[0]!r}")


def test_a_judgement_word_contradicted(fixture_name: str) -> None:
    """Swapping one printed judgement for another makes the report disagree
    with itself or with its standard sentence, whenever it says it twice."""
    golden = _golden(fixture_name)
    pages = golden["page_texts"]
    for page_index, text in enumerate(pages):
        for match in VOCABULARY.finditer(text):
            other = "inadequate" if match[0].casefold() != "inadequate" else "good"
            mutated = list(pages)
            mutated[page_index] = text[: match.start()] + other + text[match.end() :]
            try:
                report = parse_report_text(mutated, name="swap")
            except ReportError:
                continue
            said_twice = sum(
                1
                for p in pages
                for _ in re.finditer(re.escape(match[0]), p, re.IGNORECASE)
            )
            got = report.judgements.overall
            if said_twice > 1 and golden["layout"] in ("sccif",):
                assert got in (golden["judgements"]["overall"], None) or (
                    got.casefold() == other
                    and golden["judgements"]["overall"].casefold() == other
                )


def test_standard_sentence_contradicts_judgement() -> None:
    """The 2015 fixture prints the overall judgement once, with its sentence."""
    golden = _golden("full-inspection-2015-fragment-a")
    pages = [p.replace("\nOutstanding\n", "\nGood\n", 1) for p in golden["page_texts"]]
    report = parse_report_text(pages, name="contradicted")
    assert report.judgements.overall is None
    assert any("standard sentence" in p for p in report.problems)


@pytest.mark.parametrize("field", FIELDS)
def test_pdf_drawn_without_a_judgement(
    field: str, fixture_specs: dict, tmp_path: Path
) -> None:
    for name, (layout, spec) in fixture_specs.items():
        if not (spec.get("judgements") or {}).get(field):
            continue
        mutated = copy.deepcopy(spec)
        mutated["judgements"][field] = None
        path = tmp_path / f"{name}.pdf"
        render_report(mutated, path, layout=layout)
        report = extract_report(path)
        assert getattr(report.judgements, field) is None, name
        assert any(field.replace("_", " ") in p for p in report.problems), name


def test_an_era_word_out_of_place(fixture_specs: dict, tmp_path: Path) -> None:
    """'Adequate' was not a judgement after March 2015: refused, not stored."""
    layout, spec = fixture_specs["full-inspection-sccif-good"]
    mutated = copy.deepcopy(spec)
    mutated["judgements"]["helped_and_protected"] = "Adequate"
    render_report(mutated, tmp_path / "x.pdf", layout=layout)
    report = extract_report(tmp_path / "x.pdf")
    assert report.judgements.helped_and_protected is None
    assert report.judgements.as_published["helped_and_protected"] == "adequate"
    assert any("not a judgement of a sccif report" in p for p in report.problems)
