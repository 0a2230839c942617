"""The text artefacts of real Ofsted PDFs: line-end hyphens (U+FFFE),
symbol-font and geometric bullets, ligatures, odd spaces, curly quotes and
dash date ranges.

Three kinds of evidence:

* real Ofsted PDFs that are not children's home reports (the directory beside
  ``REAL_DATA_DIR``): still refused, and their text normalised as it reads;
* strings verbatim from those PDFs' pdfium text, through the normaliser;
* children's home reports drawn here (``artefact_pdfs``) whose text layer
  carries the same artefacts, read end to end against golden JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from reports.artefact_pdfs import render_lines
from reports.test_report_mutations import VOCABULARY, _check

from extract.normalise import BULLET, normalise_pdf_text
from extract.report_dates import parse_date_range
from extract.reports import UnrecognisedLayout, extract_report, read_pages

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _other_kinds() -> Path:
    real = os.environ.get("REAL_DATA_DIR")
    if not real:
        pytest.skip("REAL_DATA_DIR is not set (the Makefile exports it)")
    folder = Path(real).parent / "ofsted-other-kinds"
    if not folder.is_dir():
        pytest.skip(f"{folder} is not there: no real non-children's-home PDFs")
    return folder


REAL_PDFS = (
    "school-103980-2016.pdf",
    "la-childrens-services-blackpool-2014.pdf",
    "la-childrens-services-norfolk-2015.pdf",
    "la-childrens-services-bristol-2023.pdf",
)


# ------------------------------------------------------- real Ofsted PDFs


@pytest.mark.parametrize("name", REAL_PDFS)
def test_real_ofsted_pdfs_are_still_refused(name: str) -> None:
    with pytest.raises(UnrecognisedLayout, match="children's home report title"):
        extract_report(_other_kinds() / name)


@pytest.fixture(scope="module")
def real_text() -> dict[str, tuple[str, str]]:
    """(pdfium's raw text, the normalised text) of every real PDF."""
    folder = _other_kinds()
    out = {}
    for name in REAL_PDFS:
        raw = read_pages(folder / name)
        out[name] = (
            "\n".join(raw),
            "\n".join(normalise_pdf_text(page) for page in raw),
        )
    return out


@pytest.mark.parametrize(
    ("name", "artefact", "reads"),
    [
        ("school-103980-2016.pdf", "\ufffe", "check on pupils' well-being following"),
        ("school-103980-2016.pdf", "\ufffe", "pupils' confidence and self-esteem."),
        ("school-103980-2016.pdf", "\uf06e", "\n• Safeguarding is ineffective."),
        ("school-103980-2016.pdf", "\uf03c", "\n• Improve the quality of teaching by:"),
        ("school-103980-2016.pdf", "\u2013", "9–10 November 2016"),
        (
            "la-childrens-services-blackpool-2014.pdf",
            "\ufffe",
            "multi-agency information-gathering and checks",
        ),
        (
            "la-childrens-services-blackpool-2014.pdf",
            "\ufffe",
            "meetings are frequently held face-to-face",
        ),
        (
            "la-childrens-services-blackpool-2014.pdf",
            "\uf02d",
            "\n• in primary schools",
        ),
        ("la-childrens-services-norfolk-2015.pdf", "\ufffe", "a well-conceived early"),
        ("la-childrens-services-norfolk-2015.pdf", "\ufffe", "on a one-to-one basis"),
        (
            "la-childrens-services-bristol-2023.pdf",
            "\u25fc",
            "\n• The timeliness and consistency with which",
        ),
        ("la-childrens-services-bristol-2023.pdf", "\ufffe", "children co-chairing"),
        ("la-childrens-services-bristol-2023.pdf", "\u2019", "children's"),
    ],
)
def test_real_text_reads_as_printed(
    real_text: dict, name: str, artefact: str, reads: str
) -> None:
    raw, text = real_text[name]
    assert artefact in raw  # the artefact really is in the real PDF's text
    assert reads in text


@pytest.mark.parametrize("name", REAL_PDFS)
def test_real_text_has_no_junk_left(real_text: dict, name: str) -> None:
    raw, text = real_text[name]
    assert not any("\ue000" <= c <= "\uf8ff" for c in text)
    assert "\ufffe" not in text and "\u00ad" not in text
    # every word pdfium split with U+FFFE reads with its hyphen
    joined = re.findall(r"(\w+)\ufffe\s*(\w+)", raw)
    assert joined
    for before, after in joined:
        assert f"{before}-{after}" in text
    # every bullet starts its line and is followed by text
    for line in text.split("\n"):
        if BULLET in line:
            assert line.startswith(BULLET + " ") and len(line) > 2, line


@pytest.mark.parametrize(
    ("printed", "start", "end"),
    [
        ("9–10 November 2016", "2016-11-09", "2016-11-10"),  # school, 2016
        ("16 to 27 January 2023", "2023-01-16", "2023-01-27"),  # Bristol, 2023
        ("2 July 2014 – 23 July 2014", "2014-07-02", "2014-07-23"),  # Blackpool
        ("6 July 2015 – 30 July 2015", "2015-07-06", "2015-07-30"),  # Norfolk
        ("30 October — 1 November 2023", "2023-10-30", "2023-11-01"),
        ("7‑8 November 2023", "2023-11-07", "2023-11-08"),  # non-breaking hyphen
    ],
)
def test_dash_date_ranges(printed: str, start: str, end: str) -> None:
    parsed = parse_date_range(normalise_pdf_text(printed))
    assert parsed is not None
    assert (parsed[0].isoformat(), parsed[1].isoformat()) == (start, end)


def test_iso_dates_are_not_ranges() -> None:
    assert parse_date_range("2016-03-01")[0].isoformat() == "2016-03-01"


@pytest.mark.parametrize(
    ("raw", "reads"),
    [
        # verbatim from pdfium's text of the real PDFs
        ("record feedback or check on pupils’ well\ufffebeing following", "well-being"),
        ("information\ufffesharing. \r\n", "information-sharing."),
        ("\uf06e Safeguarding is ineffective. Not enough\r\n", "• Safeguarding is"),
        ("\uf03c Improve leadership and management by:\r\n", "• Improve leadership"),
        ("◼ The timeliness of initial health assessments", "• The timeliness"),
        ("\uf02d in primary schools is 29.1%", "• in primary schools is 29.1%"),
        # as the issue and other extractors give them
        ("well\ufffe\nbeing", "well-being"),
        ("well\u00ad\r\nbeing", "well-being"),
        ("Katie Stephens\ufffe\nHart", "Katie Stephens-Hart"),
        ("Katie Stephens\ufffeHart", "Katie Stephens-Hart"),
        ("co\u00adoperate", "cooperate"),  # a soft hyphen inside a line is invisible
        ("\uf0b7\n\tStaff are trained.", "• Staff are trained."),  # bullet alone
        ("\u25aa Staff \u25cf record \uf0a7", "• Staff ● record •"),
        ("ﬁ ﬂ ﬀ ﬃ ﬄ", "fi fl ff ffi ffl"),
        ("con\ufb01dent of\ufb01ce sta\ufb00", "confident office staff"),
        ("1\u00a0February\u2009and\u202f2", "1 February and 2"),
        ("‘Guide to the Children’s Homes Regulations’", "'Guide to the Children's"),
        ("“quoted” „low‟", '"quoted" "low"'),
        ("a  \t b \r\n  c", "a b\nc"),
    ],
)
def test_normalise_pdf_text(raw: str, reads: str) -> None:
    assert reads in normalise_pdf_text(raw)


def test_normalising_twice_changes_nothing(real_text: dict) -> None:
    for _raw, text in real_text.values():
        assert normalise_pdf_text(text) == text


# ------------------------------------- children's home reports drawn here

_PROVIDER_ADDRESS = ["Heyes House, 41 Silverdale", "Road, Arnside, Carnforth,"]

#: name -> (pages of marked-up lines, what the reader must find)
ARTEFACT_SPECS: dict[str, tuple[list[list[str]], dict]] = {
    # 2015 layout (fragment A) as a 2016 Word PDF: Wingdings bullets, a name
    # wrapped at its hyphen in the narrow cell, en-dash date range.
    "artefacts-2015-wingdings": (
        [
            [
                "Children’s homes inspection - Full",
                "Inspection dates",
                "9–10 November 2016",
                "Unique reference number",
                "SC464810",
                "Type of inspection",
                "Full",
                "Provision subtype",
                "Children’s home",
                "Registered person",
                "ROC Northwest Limited",
                "Registered person address",
                *_PROVIDER_ADDRESS,
                "Lancashire LA5 0AL",
                "Responsible individual",
                "Katie Stephens-",
                "Hart",
                "Registered manager",
                "Marcus Oates",
                "Inspector",
                "Mandy Williams",
            ],
            [
                "SC464810",
                "Previous inspection judgement",
                "Sustained effectiveness",
                "Enforcement action since last",
                "inspection",
                "None",
                "This inspection",
                "The overall experiences and",
                "progress of children and",
                "Good",
                "young people living in the",
                "home are",
                "The children’s home provides effective services that meet the "
                "requirements for good.",
                "How well children and",
                "young people are helped",
                "Good",
                "and protected",
                "The impact and",
                "effectiveness of leaders and Requires improvement",
                "managers",
                "Summary of findings",
                "The children’s home provision is good because:",
                "{F06E} Staff know the young people well and promote their well-",
                "being and self-",
                "esteem.",
                "{F06E} One young person went missing 12 times in the three months before "
                "moving in and has not been",
                "missing since.",
                "{F06E} Staff work closely with the police.",
                "What does the children’s home need to do to improve?",
                "Recommendations",
                "{F06E} Ensure that staff record the outcome of every return home "
                "interview. (‘Guide to the",
                "Children’s Homes Regulations, including the quality standards’, "
                "page 45, paragraph 9.37)",
                "{F06E} Ensure that the home’s records of face-",
                "to-face meetings are kept up to date. (‘Guide to the Children’s Homes",
                "Regulations, including the quality standards’, page 61, "
                "paragraph 13.4)",
                "Full report",
                "Information about this children’s home",
                "The home is registered to provide care for up to four children and",
                "young people.",
            ],
        ],
        {
            "layout": "2015",
            "urn": "SC464810",
            "inspection_date": "2016-11-09",
            "inspection_end_date": "2016-11-10",
            "judgements": {
                "overall": "Good",
                "helped_and_protected": "Good",
                "leaders_and_managers": "Requires improvement to be good",
            },
            "responsible_individual": "Katie Stephens-Hart",
            "registered_provider": "ROC Northwest Limited",
            "places": 4,
            "recommendations": [
                (
                    "Ensure that staff record the outcome of every return home "
                    "interview.",
                    "'Guide to the Children's Homes Regulations, including the "
                    "quality standards', page 45, paragraph 9.37",
                ),
                (
                    "Ensure that the home's records of face-to-face meetings are "
                    "kept up to date.",
                    "'Guide to the Children's Homes Regulations, including the "
                    "quality standards', page 61, paragraph 13.4",
                ),
            ],
            "text": [
                "• Staff know the young people well and promote their well-being and "
                "self-esteem.",
            ],
            "quotes": [
                "One young person went missing 12 times in the three months before "
                "moving in and has not been missing since.",
            ],
        },
    ),
    # SCCIF as a 2023 PDF: ◼ bullets, Symbol and Wingdings private-use
    # bullets, a thin space, a name wrapped at its hyphen, en dashes.
    "artefacts-sccif-2023": (
        [
            [
                "2734561",
                "Registered provider: Fairfield Children’s Services Limited",
                "Full inspection",
                "Inspected under the social care common inspection framework",
                "Information about this children’s home",
                "This children’s home is run by a private company. It is registered "
                "to provide care for up to",
                "five children who may have emotional and/or behavioural difficulties.",
                "Inspection dates: 30 January – 1 February 2023",
                "Overall experiences and progress of children and young people, "
                "inadequate taking into account",
                "How well children and young people are helped and protected "
                "inadequate",
                "The effectiveness of leaders and managers inadequate",
                "The children’s home is failing to provide an acceptable standard of "
                "care and has serious",
                "and/or widespread failures that mean children and young people are "
                "not protected.",
                "Date of last inspection: 3 August 2022",
                "Overall judgement at last inspection: good",
                "Enforcement action since last inspection: none",
            ],
            [
                "Inspection judgements",
                "Overall experiences and progress of children and young people: "
                "inadequate",
                "{25FC} Since the last inspection, a child went missing from the "
                "home on {DV}9\u2009occasions.{/DV}",
                "{25FC} Staff did not share information with the police promptly.",
                "{F0B7} Leaders have not acted on clear signs of criminal "
                "exploitation.",
                "{F02D} Records of the child’s well-",
                "being were not kept.",
                "What does the children’s home need to do to improve?",
                "Statutory requirements",
                "This section sets out the actions that the registered person(s) "
                "must take to meet the",
                "Care Standards Act 2000, Children’s Homes (England) Regulations "
                "2015 and the ‘Guide to the",
                "Children’s Homes Regulations, including the quality standards’.",
                "Requirement Due date",
                "The registered person must ensure that staff follow the home’s "
                "missing from",
                "care procedures. (Regulation 12 (1)(2)(a)(v)) 1/03/2023",
                "Recommendations",
                "{F03C} The registered person should ensure that every child has an "
                "up-to-date risk",
                "assessment. (‘Guide to the Children’s Homes Regulations, including "
                "the quality standards’,",
                "page 33, paragraph 7.5)",
                "Information about this inspection",
                "Inspectors have looked closely at the experiences and progress of "
                "children and young people.",
                "Children’s home details",
                "Unique reference number: 2734561",
                "Provision sub-type: Children’s home",
                "Registered provider: Fairfield Children’s Services Limited",
                "Registered provider address: Office 4, Mill Lane, Rochdale OL16 4NG",
                "Responsible individual: Elif Stephens-",
                "Williamson",
                "Registered manager: Post vacant",
                "Inspector",
                "Farah Patel, Social Care Inspector",
            ],
        ],
        {
            "layout": "sccif",
            "urn": "2734561",
            "inspection_date": "2023-01-30",
            "inspection_end_date": "2023-02-01",
            "judgements": {
                "overall": "Inadequate",
                "helped_and_protected": "Inadequate",
                "leaders_and_managers": "Inadequate",
            },
            "responsible_individual": "Elif Stephens-Williamson",
            "registered_provider": "Fairfield Children's Services Limited",
            "places": 5,
            "requirements": [
                (
                    "The registered person must ensure that staff follow the home's "
                    "missing from care procedures.",
                    "Regulation 12 (1)(2)(a)(v)",
                    "2023-03-01",
                )
            ],
            "recommendations": [
                (
                    "The registered person should ensure that every child has an "
                    "up-to-date risk assessment.",
                    "'Guide to the Children's Homes Regulations, including the "
                    "quality standards', page 33, paragraph 7.5",
                )
            ],
            "quotes": [
                "Since the last inspection, a child went missing from the home on 9 "
                "occasions.",
                "Staff did not share information with the police promptly.",
                "Leaders have not acted on clear signs of criminal exploitation.",
            ],
        },
    ),
}
#: The artefacts each drawn PDF must really carry in pdfium's text.
RAW_ARTEFACTS = {
    "artefacts-2015-wingdings": ("\ufffe", "\uf06e", "\u2019", "\u2013"),
    "artefacts-sccif-2023": (
        "\ufffe",
        "\u25fc",
        "\uf0b7",
        "\uf02d",
        "\uf03c",
        "\u2009",
    ),
}


@pytest.fixture(scope="module")
def artefact_reports(updating_golden: bool) -> dict[str, tuple[str, dict]]:
    """(pdfium's raw text, the report as JSON) of every drawn fixture."""
    out = {}
    for name, (pages, _want) in ARTEFACT_SPECS.items():
        path = FIXTURES / "pdfs" / "artefacts" / f"{name}.pdf"
        if updating_golden or not path.exists():
            render_lines(pages, path)
        pdf = pdfium.PdfDocument(str(path))
        try:
            raw = "\n".join(
                pdf[i].get_textpage().get_text_range() for i in range(len(pdf))
            )
        finally:
            pdf.close()
        report = json.loads(
            json.dumps(dataclasses.asdict(extract_report(path)), ensure_ascii=False)
        )
        out[name] = (raw, report)
    return out


@pytest.mark.parametrize("name", sorted(ARTEFACT_SPECS))
def test_drawn_pdfs_carry_the_real_artefacts(artefact_reports: dict, name: str):
    raw, _report = artefact_reports[name]
    for artefact in RAW_ARTEFACTS[name]:
        assert artefact in raw, f"{name}: {artefact!r} not in pdfium's text"


@pytest.mark.parametrize("name", sorted(ARTEFACT_SPECS))
def test_drawn_pdfs_read_as_printed(artefact_reports: dict, name: str) -> None:
    _raw, got = artefact_reports[name]
    want = ARTEFACT_SPECS[name][1]
    for key in (
        "layout",
        "urn",
        "inspection_date",
        "inspection_end_date",
        "responsible_individual",
        "registered_provider",
        "places",
    ):
        assert got[key] == want[key], key
    assert got["judgements"] | {"as_published": None} == want["judgements"] | {
        "as_published": None
    }
    assert [(r["text"], r["regulation"]) for r in got["recommendations"]] == want[
        "recommendations"
    ]
    assert [
        (r["text"], r["regulation"], r["due_date"]) for r in got["requirements"]
    ] == want.get("requirements", [])
    quotes = [m["quote"] for m in got["missing_mentions"] + got["other_mentions"]]
    for quote in want["quotes"]:
        assert quote in quotes, quotes
    text = "\n".join(got["page_texts"])
    for line in want.get("text", []):
        assert line in text
    assert "well-being" in text and "wellbeing" not in text
    assert not any("\ue000" <= c <= "\uf8ff" or c == "\ufffe" for c in text)
    assert all(not q.startswith((BULLET, "\u25fc")) for q in quotes)


@pytest.mark.parametrize("name", sorted(ARTEFACT_SPECS))
def test_drawn_pdfs_golden(
    artefact_reports: dict, name: str, updating_golden: bool
) -> None:
    path = FIXTURES / "expected" / "artefacts" / f"{name}.json"
    _raw, data = artefact_reports[name]
    if updating_golden or not path.exists():
        path.write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    assert data == json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(ARTEFACT_SPECS))
def test_drawn_pdfs_mutations_give_no_wrong_judgement(
    artefact_reports: dict, name: str
) -> None:
    _raw, golden = artefact_reports[name]
    pages = golden["page_texts"]
    for index in range(len(pages)):
        _check(golden, pages[:index] + pages[index + 1 :], f"without page {index}")
    for page_index, text in enumerate(pages):
        for match in VOCABULARY.finditer(text):
            mutated = list(pages)
            mutated[page_index] = text[: match.start()] + text[match.end() :]
            _check(golden, mutated, f"page {page_index + 1} without {match[0]!r}")
