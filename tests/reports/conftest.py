"""Fixtures for the report PDF tests.

The fixture PDFs in ``tests/fixtures/pdfs/`` are drawn by
``sample_site.report_pdfs.render_report`` from the specs below; the expected
JSON for each is beside it in ``tests/fixtures/expected/``. Regenerate both
for review with::

    .venv/bin/python -m pytest tests/reports --update-golden

(or ``UPDATE_GOLDEN=1``), then read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PDFS = FIXTURES / "pdfs"
EXPECTED = FIXTURES / "expected"


def pytest_addoption(parser: pytest.Parser) -> None:
    try:
        parser.addoption(
            "--update-golden",
            action="store_true",
            default=False,
            help="Rewrite the report fixture PDFs and their expected JSON",
        )
    except ValueError:  # another conftest registered it first
        pass


def update_golden(config: pytest.Config) -> bool:
    try:
        flag = bool(config.getoption("--update-golden"))
    except ValueError:
        flag = False
    return flag or os.environ.get("UPDATE_GOLDEN") == "1"


# ------------------------------------------------------------------ specs

_FRAGMENT_A_NARRATIVE = [
    "The children's home provision is outstanding because:",
    "Outcomes for young people are excellent. Young people make exceptional "
    "progress from their starting points.",
    "Before moving to the home, one young person went missing 12 times in three "
    "months. Since moving in, there have been no missing episodes.",
    "Staff work closely with the police and the local authority, and return home "
    "interviews are completed after every episode.",
]

FIXTURE_SPECS: dict[str, tuple[str, dict]] = {
    # Fragment A (2016) as it reads, with its wrapped labels and line breaks.
    "full-inspection-2015-fragment-a": (
        "2015",
        {
            "urn": "SC464809",
            "inspection_date": "2016-03-01",
            "inspection_type": "Full inspection",
            "judgements": {
                "overall": "Outstanding",
                "helped_and_protected": "Good",
                "leaders_and_managers": "Outstanding",
            },
            "previous_judgement": "Sustained effectiveness",
            "enforcement_action_since_last": "None",
            "registered_provider": "ROC Northwest Limited",
            "registered_provider_address": "Heyes House, 41 Silverdale Road, "
            "Arnside, Carnforth, Lancashire LA5 0AL",
            "responsible_individual": "Katie Stephens",
            "registered_manager": "Marcus Oates",
            "inspectors": ["Mandy Williams"],
            "places": 4,
            "recommendations": [
                {
                    "text": "Ensure that staff record the outcome of every return "
                    "home interview.",
                    "regulation": "'Guide to the Children's Homes Regulations, "
                    "including the quality standards', page 45, paragraph 9.37",
                }
            ],
            "narrative": _FRAGMENT_A_NARRATIVE,
        },
    ),
    "full-inspection-sccif-good": (
        "sccif",
        {
            "urn": "SC123456",
            "inspection_date": "2023-11-07",
            "inspection_end_date": "2023-11-08",
            "inspection_type": "Full inspection",
            "judgements": {
                "overall": "Good",
                "helped_and_protected": "Good",
                "leaders_and_managers": "Requires improvement to be good",
            },
            "previous_judgement": "Requires improvement to be good",
            "previous_inspection_date": "2022-08-03",
            "enforcement_action_since_last": "None",
            "inspection_history": [
                {
                    "date": "2022-08-03",
                    "type": "Full inspection",
                    "judgement": "Requires improvement to be good",
                },
                {
                    "date": "2021-06-15",
                    "type": "Interim inspection",
                    "judgement": "Sustained effectiveness",
                },
                {"date": "2020-10-12", "type": "Assurance visit", "judgement": None},
            ],
            "registered_provider": "Horizon Care and Education Group Limited",
            "registered_provider_address": "Suite 4, Kingsway Business Park, 12 "
            "Mill Lane, Rochdale OL16 4NG",
            "responsible_individual": "Amira Okafor",
            "registered_manager": "Daniel Hughes",
            "inspectors": ["Farah Patel", "Gareth Nowak"],
            "places": 3,
            "recommendations": [
                {
                    "text": "The registered person should ensure that staff are "
                    "trained in the local missing from care protocol.",
                    "regulation": "'Guide to the Children's Homes Regulations, "
                    "including the quality standards', page 42, paragraph 9.5",
                }
            ],
            "narrative": [
                "Children are making good progress in their education. Two children "
                "now attend school every day.",
                "Since the last inspection, children have gone missing from the home "
                "three times. Each episode was short and staff followed the "
                "missing protocol.",
                "There has been a significant reduction in missing episodes for one "
                "child, who went missing twice in the last six months compared "
                "with 14 episodes before.",
                "Staff share information with the police promptly. Leaders are alert "
                "to the risks of child criminal exploitation and county lines.",
                "The manager has improved the monitoring of records, but some "
                "incidents of restraint were not recorded in enough detail.",
            ],
        },
    ),
    "issue-3-requirements-split-across-pages": (
        "sccif",
        {
            "urn": "2610709",
            "inspection_date": "2023-10-30",
            "inspection_end_date": "2023-11-01",
            "inspection_type": "Full inspection",
            "judgements": {
                "overall": "Inadequate",
                "helped_and_protected": "Inadequate",
                "leaders_and_managers": "Inadequate",
            },
            "previous_judgement": "Good",
            "previous_inspection_date": "2022-09-20",
            "enforcement_action_since_last": "None",
            "registered_provider": "Keys Pathways Children and Young People's Services "
            "Limited trading as Keys Group Residential Services North West",
            "registered_provider_address": "Unit 7, The Courtyard, Station Road, "
            "Bromsgrove B60 1AA",
            "responsible_individual": "Elif Stephens-Williamson",
            "registered_manager": "Post vacant",
            "inspectors": ["Ben Khan"],
            "places": 5,
            "requirements": [
                {
                    "text": f"The registered person must ensure that {topic}.",
                    "regulation": regulation,
                    "due_date": due,
                }
                for topic, regulation, due in [
                    (
                        "staff understand and follow the home's procedures when a "
                        "child goes missing, including informing the police without "
                        "delay",
                        "Regulation 12 (1)(2)(a)(v)",
                        "2023-12-01",
                    ),
                    (
                        "each child's risk assessment is reviewed after every "
                        "missing episode and after any concern about exploitation",
                        "Regulation 12 (1)(2)(a)(i)",
                        "2023-12-01",
                    ),
                    (
                        "the home is staffed by enough suitably qualified and "
                        "experienced staff at all times, including at night",
                        "Regulation 31 (1)(2)(a)",
                        "2023-12-15",
                    ),
                    (
                        "restraint is only used when necessary and every use is "
                        "recorded within 24 hours",
                        "Regulation 35 (3)(a)(iv)",
                        "2023-12-15",
                    ),
                    (
                        "the registered person notifies Ofsted of every serious "
                        "incident, including police involvement",
                        "Regulation 40 (4)(c)",
                        "2023-11-30",
                    ),
                    (
                        "the independent person's monthly reports are acted on "
                        "and the actions are recorded",
                        "Regulation 44 (4)",
                        "2024-01-05",
                    ),
                    (
                        "the quality of care review identifies patterns in "
                        "missing episodes and the action taken",
                        "Regulation 45 (2)(b)",
                        "2024-01-05",
                    ),
                    (
                        "all staff complete safeguarding training that covers "
                        "child sexual exploitation and criminal exploitation",
                        "Regulation 33 (4)(b)",
                        "2024-01-05",
                    ),
                ]
            ],
            "narrative": [
                "Children do not receive the help and protection they need. One child "
                "went missing from the home on 23 occasions since the last "
                "inspection, and staff did not always inform the police.",
                "Leaders have not acted on clear signs that a child was at risk of "
                "sexual exploitation.",
                "A child was away from the home without authorisation on "
                "seven occasions overnight.",
                "The home has been without a registered manager for five months.",
            ]
            + [
                "Staff do not consistently follow the behaviour support plans, "
                "and records of incidents lack detail about what happened and "
                "what was learned afterwards."
            ]
            * 10,
        },
    ),
    "full-inspection-2014-adequate": (
        "2014",
        {
            "urn": "SC041234",
            "inspection_date": "2014-05-19",
            "inspection_end_date": "2014-05-20",
            "inspection_type": "Full inspection",
            "judgements": {
                "overall": "Adequate",
                "helped_and_protected": "Adequate",
                "leaders_and_managers": "Good",
            },
            "previous_judgement": "Good",
            "enforcement_action_since_last": "None",
            "registered_provider": "Bluebell Residential Care Ltd",
            "registered_provider_address": "12 Office Row, Leeds LS1 4AB",
            "responsible_individual": "Hannah Nowak",
            "registered_manager": "Chloe Williams",
            "inspectors": ["Gareth Patel", "Amira Hughes"],
            "places": 6,
            "narrative": [
                "Young people are helped to understand the risks of going missing. "
                "There were 4 missing incidents in the last year.",
                "The safety of young people is adequate.",
            ],
        },
    ),
    "nms2010-random-inspection": (
        "nms2010",
        {
            "urn": "SC002264",
            "inspection_date": "2010-03-18",
            "inspection_type_as_published": "Random",
            "previous_inspection_date": "2009-10-12",
            "judgements": {"overall": "Satisfactory"},
            "registered_provider": "Northamptonshire County Council",
            "registered_manager": "Ben Oates",
            "inspectors": ["Caroline Brailsford"],
            "places": 6,
            "narrative": [
                "Young people say they feel safe. Staff know what to do if a young "
                "person is missing from the home, and incidents of young people "
                "going missing have reduced.",
            ],
            "requirements": [
                {
                    "text": "ensure that the home's missing from care procedure is "
                    "agreed with the local police",
                    "regulation": "Regulation 16",
                    "due_date": "2010-04-30",
                }
            ],
        },
    ),
    "nms2010-key-inspection-good": (
        "nms2010",
        {
            "urn": "SC035111",
            "inspection_date": "2012-11-06",
            "inspection_type_as_published": "Key",
            "previous_inspection_date": "2012-02-01",
            "judgements": {"overall": "Good"},
            "registered_provider": "Voluntary Children's Homes Trust",
            "registered_manager": "Farah Okafor",
            "inspectors": ["Daniel Khan"],
            "places": 4,
            "narrative": ["Children enjoy living in the home."],
        },
    ),
    "interim-inspection-sustained": (
        "interim",
        {
            "urn": "1027158",
            "inspection_date": "2019-03-12",
            "inspection_type": "Interim inspection",
            "judgements": {"overall": "Sustained effectiveness"},
            "previous_judgement": "Good",
            "previous_inspection_date": "2018-06-20",
            "enforcement_action_since_last": "None",
            "registered_provider": "Northamptonshire County Council",
            "registered_provider_address": "One Angel Square, Angel Street, "
            "Northampton NN1 1ED",
            "responsible_individual": "Gareth Hughes",
            "registered_manager": "Elif Okafor",
            "inspectors": ["Hannah Stephens"],
            "places": 2,
            "narrative": [
                "The effectiveness of the home has been sustained since the last "
                "inspection.",
                "No child has been missing from the home since the last inspection.",
            ],
        },
    ),
    "monitoring-visit": (
        "monitoring",
        {
            "urn": "2827996",
            "inspection_date": "2024-10-12",
            "inspection_type": "Monitoring inspection",
            "registered_provider": "Bluebell Residential Care Ltd",
            "registered_provider_address": "Unit 7, The Courtyard, Station Road, "
            "Bromsgrove B60 1AA",
            "responsible_individual": "Ben Patel",
            "registered_manager": "Chloe Khan",
            "inspectors": ["Amira Williams", "Daniel Nowak"],
            "places": 4,
            "requirements": [
                {
                    "text": "The registered person must ensure that records of each "
                    "missing episode are complete",
                    "regulation": "Regulation 36 (1)",
                    "due_date": "2024-11-30",
                }
            ],
            "narrative": [
                "This monitoring inspection followed up the compliance notice issued "
                "after the last inspection.",
                "Since the last inspection there have been five missing episodes, "
                "and each child was offered a return home interview.",
            ],
        },
    ),
    "assurance-visit": (
        "assurance",
        {
            "urn": "SC987654",
            "inspection_date": "2020-12-01",
            "inspection_type": "Assurance visit",
            "registered_provider": "Horizon Care and Education Group Limited",
            "registered_provider_address": "Suite 4, Kingsway Business Park, 12 "
            "Mill Lane, Rochdale OL16 4NG",
            "responsible_individual": "Farah Hughes",
            "registered_manager": "Ben Williams",
            "inspectors": ["Gareth Okafor"],
            "places": 3,
            "narrative": [
                "During the pandemic, one child went missing on eleven occasions. "
                "Staff worked with the police to find the child each time.",
            ],
        },
    ),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fixture_name" in metafunc.fixturenames:
        metafunc.parametrize("fixture_name", sorted(FIXTURE_SPECS))


@pytest.fixture(scope="session")
def fixture_pdfs(request: pytest.FixtureRequest) -> dict[str, Path]:
    """The committed fixture PDFs (regenerated first with --update-golden)."""
    from sample_site.report_pdfs import render_report

    paths = {}
    for name, (layout, spec) in FIXTURE_SPECS.items():
        path = PDFS / f"{name}.pdf"
        if update_golden(request.config) or not path.exists():
            PDFS.mkdir(parents=True, exist_ok=True)
            render_report(spec, path, layout=layout)
        paths[name] = path
    return paths


def expected_path(name: str) -> Path:
    return EXPECTED / f"{name}.json"


def load_expected(name: str) -> dict:
    return json.loads(expected_path(name).read_text(encoding="utf-8"))


def as_json(data: object) -> dict:
    """A report as its JSON round trip (tuples become lists)."""
    return json.loads(json.dumps(data, ensure_ascii=False))


@pytest.fixture(scope="session")
def updating_golden(request: pytest.FixtureRequest) -> bool:
    return update_golden(request.config)


@pytest.fixture(scope="session")
def fixture_specs() -> dict[str, tuple[str, dict]]:
    return FIXTURE_SPECS


@pytest.fixture(scope="session")
def expected_reports(fixture_pdfs: dict[str, Path]) -> dict[str, dict]:
    return {
        name: load_expected(name)
        for name in fixture_pdfs
        if expected_path(name).exists()
    }
