"""A seeded, deterministic population of SAMPLE children's homes and their
inspections, from which the sample site renders every source.

Nothing here is real: URNs, owners and judgements are drawn from a seeded
random generator. Local authority names are real (so that the registry's
lookups work), but which homes they hold is invented.

Example::

    population = build_population(seed=1, homes=200)
    population.homes[0].urn, len(population.inspections)
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

# The day the sample world's base data stops (its "today"). Reports that the
# site publishes later on request (`SiteState.publish_new_reports`) are dated
# with the real clock, so an incremental crawl filtered by date finds them.
SAMPLE_TODAY = dt.date(2025, 10, 31)

# Annual Ofsted releases the site serves: year ending 31 March -> publication day.
RELEASE_YEARS = (2023, 2024, 2025)
FIRST_INSPECTION_DAY = dt.date(RELEASE_YEARS[0] - 1, 4, 1)


def release_day(year: int) -> dt.date:
    return dt.date(year, 7, 15)


# name, GSS code, DfE code, Government Office Region, Ofsted region
LOCAL_AUTHORITIES = [
    ("Lancashire", "E10000017", "888", "North West", "North West"),
    ("Manchester", "E08000003", "352", "North West", "North West"),
    ("Wigan", "E08000010", "359", "North West", "North West"),
    ("Kent", "E10000016", "886", "South East", "South East"),
    ("Hampshire", "E10000014", "850", "South East", "South East"),
    ("Surrey", "E10000030", "936", "South East", "South East"),
    ("Birmingham", "E08000025", "330", "West Midlands", "West Midlands"),
    ("Shropshire", "E06000051", "893", "West Midlands", "West Midlands"),
    ("Staffordshire", "E10000028", "860", "West Midlands", "West Midlands"),
    (
        "Leeds",
        "E08000035",
        "383",
        "Yorkshire and The Humber",
        "North East, Yorkshire and the Humber",
    ),
    (
        "Kirklees",
        "E08000034",
        "382",
        "Yorkshire and The Humber",
        "North East, Yorkshire and the Humber",
    ),
    (
        "Sheffield",
        "E08000019",
        "373",
        "Yorkshire and The Humber",
        "North East, Yorkshire and the Humber",
    ),
    (
        "County Durham",
        "E06000047",
        "840",
        "North East",
        "North East, Yorkshire and the Humber",
    ),
    (
        "Hartlepool",
        "E06000001",
        "805",
        "North East",
        "North East, Yorkshire and the Humber",
    ),
    ("Leicester", "E06000016", "856", "East Midlands", "East Midlands"),
    ("Derbyshire", "E10000007", "830", "East Midlands", "East Midlands"),
    ("Nottinghamshire", "E10000024", "891", "East Midlands", "East Midlands"),
    ("Norfolk", "E10000020", "926", "East of England", "East of England"),
    ("Essex", "E10000012", "881", "East of England", "East of England"),
    ("Devon", "E10000008", "878", "South West", "South West"),
    ("Cornwall", "E06000052", "908", "South West", "South West"),
    ("Croydon", "E09000008", "306", "London", "London"),
    ("Hackney", "E09000012", "204", "London", "London"),
]

_PRIVATE_OWNERS = [
    "Sample Care Homes Ltd",
    "Example Children's Services Limited",
    "Placeholder Residential Care Ltd",
    "Fictional Futures Group Limited",
    "Imaginary Homes (North) Ltd",
    "Testbed Childcare Ltd",
    "Demo Care Partnership LLP",
    "Specimen Support Services Limited",
    "Mock Family Homes Ltd",
    "Pretend Pathways Limited",
    "Synthetic Care Solutions Ltd",
    "Illustrative Outcomes Group Ltd",
]
_VOLUNTARY_OWNERS = ["Sample Children's Charity", "Example Foundation Trust"]

_JUDGEMENTS = [
    ("Outstanding", 12),
    ("Good", 64),
    ("Requires improvement to be good", 19),
    ("Inadequate", 5),
]


@dataclass
class Inspection:
    urn: str
    event_number: str
    event_type: str  # as Ofsted's workbooks print it
    inspection_date: dt.date
    publication_date: dt.date
    overall: str | None
    helped_and_protected: str | None
    leaders_and_managers: str | None
    file_id: int
    is_new: bool = False  # published on request after the base data

    @property
    def report_title(self) -> str:
        return self.event_type


@dataclass
class Home:
    urn: str
    provision_type: str
    sector: str
    owner: str
    places: int
    registration_date: dt.date
    la_name: str
    la_gss: str
    la_code: str
    region: str
    ofsted_region: str
    inspections: list[Inspection] = field(default_factory=list)

    def inspections_until(self, day: dt.date) -> list[Inspection]:
        return [i for i in self.inspections if i.publication_date <= day]


@dataclass
class Population:
    seed: int
    homes: list[Home]

    @property
    def inspections(self) -> list[Inspection]:
        return [i for home in self.homes for i in home.inspections]

    def home(self, urn: str) -> Home | None:
        return self._by_urn().get(urn)

    def _by_urn(self) -> dict[str, Home]:
        cache = getattr(self, "_urn_cache", None)
        if cache is None or len(cache) != len(self.homes):
            cache = {home.urn: home for home in self.homes}
            self._urn_cache = cache
        return cache

    def inspection_by_file_id(self, file_id: int) -> Inspection | None:
        cache = getattr(self, "_file_cache", None)
        count = sum(len(h.inspections) for h in self.homes)
        if cache is None or len(cache) != count:
            cache = {i.file_id: i for i in self.inspections}
            self._file_cache = cache
        return cache.get(file_id)


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _near(rng: random.Random, judgement: str) -> str:
    """A sub-judgement: usually the overall one, sometimes one step away."""
    order = [name for name, _ in _JUDGEMENTS]
    if rng.random() < 0.8:
        return judgement
    index = order.index(judgement) + rng.choice((-1, 1))
    return order[min(max(index, 0), len(order) - 1)]


def build_population(*, seed: int = 1, homes: int = 200) -> Population:
    """``homes`` sample children's homes with inspections from April 2022."""
    rng = random.Random(seed)
    urns: set[str] = set()
    population: list[Home] = []
    event_number = 10_200_000 + rng.randrange(1000)
    file_id = 50_200_000 + rng.randrange(1000)
    for _ in range(homes):
        while True:
            if rng.random() < 0.55:
                urn = f"SC{rng.randrange(10_000, 999_999):06d}"
            else:
                urn = f"{rng.randrange(1_000_000, 2_999_999):07d}"
            if urn not in urns:
                urns.add(urn)
                break
        la = rng.choice(LOCAL_AUTHORITIES)
        sector = _pick(
            rng, [("Private", 84), ("Local Authority", 12), ("Voluntary", 4)]
        )
        if sector == "Private":
            owner = rng.choice(_PRIVATE_OWNERS)
        elif sector == "Local Authority":
            owner = f"{la[0]} Council"
        else:
            owner = rng.choice(_VOLUNTARY_OWNERS)
        registered = dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(365 * 19))
        home = Home(
            urn=urn,
            provision_type="Children's Home"
            if rng.random() < 0.01
            else "Children's home",
            sector=sector,
            owner=owner,
            places=rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 4, 5, 6, 8)),
            registration_date=registered,
            la_name=la[0],
            la_gss=la[1],
            la_code=la[2],
            region=la[3],
            ofsted_region=la[4],
        )
        day = max(
            registered + dt.timedelta(days=rng.randrange(150, 360)),
            FIRST_INSPECTION_DAY,
        )
        day += dt.timedelta(days=rng.randrange(0, 200))
        while day <= SAMPLE_TODAY - dt.timedelta(days=50):
            roll = rng.random()
            if roll < 0.1:
                event_type, overall = "Monitoring inspection", None
            elif roll < 0.15:
                event_type, overall = "Assurance visit", None
            else:
                event_type, overall = "Full inspection", _pick(rng, _JUDGEMENTS)
            event_number += rng.randrange(1, 40)
            file_id += rng.randrange(1, 60)
            home.inspections.append(
                Inspection(
                    urn=urn,
                    event_number=str(event_number),
                    event_type=event_type,
                    inspection_date=day,
                    publication_date=day + dt.timedelta(days=rng.randrange(18, 45)),
                    overall=overall,
                    helped_and_protected=overall and _near(rng, overall),
                    leaders_and_managers=overall and _near(rng, overall),
                    file_id=file_id,
                )
            )
            day += dt.timedelta(days=rng.randrange(260, 420))
        population.append(home)
    return Population(seed=seed, homes=population)


def add_new_reports(
    population: Population,
    count: int,
    *,
    today: dt.date,
    exclude: set[str] = frozenset(),
) -> list[Inspection]:
    """Publish ``count`` new full-inspection reports dated ``today``, one per
    home, chosen deterministically among homes not in ``exclude``."""
    already = sum(1 for i in population.inspections if i.is_new)
    rng = random.Random(population.seed * 7919 + already)
    candidates = [h for h in population.homes if h.urn not in exclude]
    candidates.sort(key=lambda h: h.urn)
    chosen = rng.sample(candidates, min(count, len(candidates)))
    last_event = max(
        (int(i.event_number) for i in population.inspections), default=10_300_000
    )
    last_file = max((i.file_id for i in population.inspections), default=50_300_000)
    added = []
    for offset, home in enumerate(chosen, start=1):
        overall = _pick(rng, _JUDGEMENTS)
        inspected = max(
            today - dt.timedelta(days=14),
            max(
                (i.inspection_date for i in home.inspections),
                default=FIRST_INSPECTION_DAY,
            )
            + dt.timedelta(days=1),
        )
        inspection = Inspection(
            urn=home.urn,
            event_number=str(last_event + offset),
            event_type="Full inspection",
            inspection_date=inspected,
            publication_date=max(today, inspected),
            overall=overall,
            helped_and_protected=_near(rng, overall),
            leaders_and_managers=_near(rng, overall),
            file_id=last_file + offset,
            is_new=True,
        )
        home.inspections.append(inspection)
        added.append(inspection)
    population._file_cache = None
    return added
