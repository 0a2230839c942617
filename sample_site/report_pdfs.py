"""Render realistic Ofsted children's home inspection report PDFs (fixtures and
the sample site).

Nobody here can download real reports, so this draws them with reportlab's
canvas in the layouts Ofsted has used: ``nms2010`` (National Minimum
Standards, labels first then values), ``2014``, ``2015`` (the layout of
fragment A in ``shared/docs/report-text-fragments.txt``, with the judgement
word sitting between the wrapped label lines), ``sccif`` (2017 onwards,
``Registered provider:`` labels, "Recent inspection history" table),
``interim``, ``monitoring`` and ``assurance``.

The input dict uses the keys ``extract-report`` prints (``urn``,
``inspection_date``, ``judgements`` …) plus a few the extractor does not
return: ``narrative`` (paragraphs of free text), ``inspection_history`` (rows
``{"date", "type", "judgement"}``) and ``inspection_type_as_published``.

Output is deterministic: the same dict and layout give byte-identical files.

Example::

    from sample_site.report_pdfs import render_report, sample_report

    render_report(sample_report("SC123456", seed=1), Path("report.pdf"))
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

LAYOUTS = ("nms2010", "2014", "2015", "sccif", "interim", "monitoring", "assurance")

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 56
TOP = PAGE_HEIGHT - 60
BOTTOM = 70
FONT = "Helvetica"
BOLD = "Helvetica-Bold"

_NUMBER_WORDS = [
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]

STANDARD_SENTENCES = {
    "Outstanding": (
        "The children's home provides highly effective services that consistently "
        "exceed the standards of good. The actions of the home contribute to "
        "significantly improved outcomes for children and young people who need "
        "help, protection and care."
    ),
    "Good": (
        "The children's home provides effective services that meet the "
        "requirements for good."
    ),
    "Requires improvement to be good": (
        "The children's home is not yet delivering good help and care for children "
        "and young people. However, there are no serious or widespread failures "
        "that result in their welfare not being safeguarded or promoted."
    ),
    "Inadequate": (
        "There are serious and widespread failures that mean children and young "
        "people are not protected or their welfare is not promoted or safeguarded, "
        "or their care and experiences are poor and they are not making progress."
    ),
}

STATUTORY_INTRO = (
    "This section sets out the actions that the registered person(s) must take to "
    "meet the Care Standards Act 2000, Children's Homes (England) Regulations 2015 "
    "and the 'Guide to the children's homes regulations including the quality "
    "standards'. The registered person(s) must comply within the timescales."
)


# ---------------------------------------------------------------- the canvas


class _Writer:
    """A cursor over a reportlab canvas: wrapped paragraphs, label rows and
    tables, with page breaks, a running header and page numbers."""

    def __init__(self, path: Path, header: str, footer: str) -> None:
        self.canvas = Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1)
        self.canvas.setTitle("Children's home inspection report")
        self.canvas.setAuthor("Ofsted")
        self.header = header
        self.footer = footer
        self.page = 0
        self.y = TOP
        self._start_page()

    # pages
    def _start_page(self) -> None:
        self.page += 1
        self.y = TOP
        if self.header and self.page > 1:
            self.canvas.setFont(FONT, 8)
            self.canvas.drawString(MARGIN, PAGE_HEIGHT - 36, self.header)

    def _end_page(self) -> None:
        self.canvas.setFont(FONT, 8)
        if self.footer:
            self.canvas.drawString(MARGIN, 40, self.footer)
        self.canvas.drawRightString(PAGE_WIDTH - MARGIN, 40, str(self.page))
        self.canvas.showPage()

    def new_page(self) -> None:
        self._end_page()
        self._start_page()

    def need(self, height: float) -> None:
        if self.y - height < BOTTOM:
            self.new_page()

    def save(self) -> None:
        self._end_page()
        self.canvas.save()

    # text
    def line(self, text: str, *, size: float = 10, bold: bool = False, x=MARGIN):
        self.need(size + 4)
        self.canvas.setFont(BOLD if bold else FONT, size)
        self.canvas.drawString(x, self.y, text)
        self.y -= size + 4

    def heading(self, text: str, size: float = 13) -> None:
        self.need(size * 3)
        self.y -= 4
        self.line(text, size=size, bold=True)
        self.y -= 2

    def paragraph(
        self, text: str, *, size: float = 10, width: float | None = None, x=MARGIN
    ) -> None:
        width = width or PAGE_WIDTH - 2 * MARGIN - (x - MARGIN)
        for part in simpleSplit(text, FONT, size, width):
            self.line(part, size=size, x=x)
        self.y -= 5

    def bullet(self, text: str, *, size: float = 10) -> None:
        lines = simpleSplit(text, FONT, size, PAGE_WIDTH - 2 * MARGIN - 14)
        for number, part in enumerate(lines):
            self.need(size + 4)
            self.canvas.setFont(FONT, size)
            if number == 0:
                self.canvas.drawString(MARGIN, self.y, "\u2022")
            self.canvas.drawString(MARGIN + 14, self.y, part)
            self.y -= size + 4
        self.y -= 4

    def labelled(self, label: str, value: str | None, *, size: float = 10) -> None:
        """``Label: value`` with the value wrapping under itself."""
        value = value or ""
        label_text = f"{label}: "
        self.need(size + 4)
        self.canvas.setFont(BOLD, size)
        self.canvas.drawString(MARGIN, self.y, label_text)
        offset = stringWidth(label_text, BOLD, size)
        lines = simpleSplit(value, FONT, size, PAGE_WIDTH - 2 * MARGIN - offset) or [""]
        for part in lines:
            self.need(size + 4)
            self.canvas.setFont(FONT, size)
            self.canvas.drawString(MARGIN + offset, self.y, part)
            self.y -= size + 4

    def stacked(self, label_lines: Sequence[str], value_lines: Sequence[str]) -> None:
        """A label on its own line(s), the value on the line(s) below."""
        self.need(14 * (len(label_lines) + len(value_lines)))
        for part in label_lines:
            self.line(part, bold=True)
        for part in value_lines:
            self.line(part)

    def row(
        self,
        cells: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        size: float = 10,
        bold_first: bool = False,
        middle: bool = False,
        by_column: bool = False,
    ) -> None:
        """One table row: each cell a list of already wrapped lines. With
        ``middle`` the shorter cells are centred vertically (so, as in real
        reports, a judgement word can sit between the wrapped label lines).
        Everything is drawn top to bottom, left to right, unless ``by_column``
        (a tagged table: each cell's lines, then the next cell's)."""
        leading = size + 4
        height = max(len(c) for c in cells)
        self.need(height * leading + 6)
        items: list[tuple[float, float, str, str]] = []
        x = MARGIN
        for column, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            start = (height - len(cell)) / 2 if middle else 0
            font = BOLD if bold_first and column == 0 else FONT
            for number, text in enumerate(cell):
                items.append((start + number, x, text, font))
            x += width
        if not by_column:
            items.sort(key=lambda i: (i[0], i[1]))
        for offset, x_pos, text, font in items:
            self.canvas.setFont(font, size)
            self.canvas.drawString(x_pos, self.y - offset * leading, text)
        self.y -= height * leading + 6

    def wrap(self, text: str, width: float, *, size: float = 10) -> list[str]:
        return simpleSplit(text, FONT, size, width) or [""]


# ------------------------------------------------------------------- helpers


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _long_date(day: dt.date | None) -> str:
    return f"{day.day} {day:%B %Y}" if day else ""


def _slash_date(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


def _date_range(start: dt.date | None, end: dt.date | None) -> str:
    """``7 and 8 November 2023``, ``30 October to 1 November 2023``."""
    if start is None:
        return ""
    if end is None or end == start:
        return _long_date(start)
    if start.year != end.year:
        return f"{_long_date(start)} to {_long_date(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%B} to {_long_date(end)}"
    joiner = "and" if (end - start).days == 1 else "to"
    return f"{start.day} {joiner} {_long_date(end)}"


def _places_words(places: int | None) -> str:
    if places is None:
        return ""
    return _NUMBER_WORDS[places] if 0 < places < len(_NUMBER_WORDS) else str(places)


def _judgements(report: dict) -> dict:
    return report.get("judgements") or {}


def _lower(value: str | None) -> str:
    return (value or "").lower()


def _requirement_text(item: dict) -> str:
    text = item.get("text") or ""
    if item.get("regulation"):
        text = f"{text} ({item['regulation']})"
    return text


def _narrative(report: dict) -> list[str]:
    return list(report.get("narrative") or [])


def _split(paragraphs: list[str], parts: int) -> list[list[str]]:
    out: list[list[str]] = [[] for _ in range(parts)]
    for number, paragraph in enumerate(paragraphs):
        out[min(number * parts // max(len(paragraphs), 1), parts - 1)].append(paragraph)
    return out


# ------------------------------------------------------------------- layouts


def render_report(report: dict, path: Path, *, layout: str = "sccif") -> None:
    """Render ``report`` (the ``extract-report`` JSON shape) as a PDF at ``path``
    in one of :data:`LAYOUTS`. Deterministic for the same input."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    path = Path(path)
    urn = report.get("urn") or ""
    if layout == "nms2010":
        _render_nms2010(report, path, urn)
    elif layout in ("2014", "2015"):
        _render_stacked(report, path, urn, layout)
    else:
        _render_sccif(report, path, urn, layout)


def _render_requirements(w: _Writer, report: dict, *, intro: str) -> None:
    requirements = report.get("requirements") or []
    recommendations = report.get("recommendations") or []
    if not requirements and not recommendations:
        return
    w.heading("What does the children's home need to do to improve?")
    if requirements:
        w.heading("Statutory requirements", 11)
        w.paragraph(intro)
        widths = (PAGE_WIDTH - 2 * MARGIN - 90, 90)
        w.row([["Requirement"], ["Due date"]], widths, bold_first=True)
        for item in requirements:
            due = _slash_date(_date(item.get("due_date")))
            w.row(
                [w.wrap(_requirement_text(item), widths[0] - 10), [due]],
                widths,
                by_column=True,
            )
    if recommendations:
        w.heading("Recommendations", 11)
        for item in recommendations:
            w.bullet(_requirement_text(item))


def _render_sccif(report: dict, path: Path, urn: str, layout: str) -> None:
    j = _judgements(report)
    start = _date(report.get("inspection_date"))
    end = _date(report.get("inspection_end_date"))
    title = {
        "sccif": "Full inspection",
        "interim": "Interim inspection",
        "monitoring": "Monitoring visit",
        "assurance": "Assurance visit",
    }[layout]
    title = report.get("inspection_type_as_published") or title
    w = _Writer(
        path,
        header=f"Inspection report children's home: {urn}",
        footer=f"Inspection report children's home: {urn}",
    )
    w.line(f"{urn}", size=9)
    w.line(f"Registered provider: {report.get('registered_provider') or ''}", size=9)
    w.y -= 6
    w.line(title, size=18, bold=True)
    if layout == "assurance":
        w.line("Inspected under the social care common inspection framework", size=9)
        w.paragraph(
            "This assurance visit was carried out under the social care common "
            "inspection framework. Its purpose was to review the arrangements the "
            "home has in place to keep children safe."
        )
    else:
        w.line("Inspected under the social care common inspection framework", size=9)
    w.heading("Information about this children's home")
    places = report.get("places")
    about = "This children's home is run by a private company."
    if places:
        about += (
            f" It is registered to provide care for up to {_places_words(places)} "
            "children who may have emotional and/or behavioural difficulties."
        )
    w.paragraph(about)
    if report.get("registered_manager"):
        w.paragraph("The manager has been registered with Ofsted since 2019.")
    label = (
        "Visit dates" if layout in ("monitoring", "assurance") else "Inspection dates"
    )
    if end is None or end == start:
        label = label[:-1]
    w.labelled(label, _date_range(start, end))
    widths = (300, PAGE_WIDTH - 2 * MARGIN - 300)
    if layout == "sccif":
        rows = (
            (
                "Overall experiences and progress of children and young people, "
                "taking into account",
                j.get("overall"),
            ),
            (
                "How well children and young people are helped and protected",
                j.get("helped_and_protected"),
            ),
            (
                "The effectiveness of leaders and managers",
                j.get("leaders_and_managers"),
            ),
        )
        for label_text, value in rows:
            w.row(
                [w.wrap(label_text, widths[0] - 12), [_lower(value)]],
                widths,
                middle=True,
            )
        sentence = STANDARD_SENTENCES.get(j.get("overall") or "")
        if sentence:
            w.paragraph(sentence)
    elif layout == "interim":
        w.row(
            [
                w.wrap("Judgement at this interim inspection", widths[0] - 12),
                [_lower(j.get("overall"))],
            ],
            widths,
            middle=True,
        )
    if layout in ("sccif", "interim"):
        w.labelled(
            "Date of last inspection",
            _long_date(_date(report.get("previous_inspection_date"))),
        )
        w.labelled(
            "Overall judgement at last inspection",
            _lower(report.get("previous_judgement")),
        )
        w.labelled(
            "Enforcement action since last inspection",
            _lower(report.get("enforcement_action_since_last")) or "none",
        )
        history = report.get("inspection_history") or []
        if history:
            w.heading("Recent inspection history", 11)
            hw = (120, 170, PAGE_WIDTH - 2 * MARGIN - 290)
            w.row(
                [["Inspection date"], ["Inspection type"], ["Inspection judgement"]],
                hw,
                bold_first=True,
            )
            for item in history:
                w.row(
                    [
                        [_slash_date(_date(item.get("date")))],
                        [item.get("type") or ""],
                        [_lower(item.get("judgement"))],
                    ],
                    hw,
                )
    paragraphs = _narrative(report)
    if layout == "sccif":
        w.new_page()
        w.heading("Inspection judgements")
        parts = _split(paragraphs, 3)
        for (label_text, value), part in zip(rows, parts, strict=True):
            label_text = label_text.replace(", taking into account", "")
            w.heading(f"{label_text}: {_lower(value)}", 11)
            for paragraph in part:
                w.paragraph(paragraph)
    else:
        w.heading(
            "Information about this inspection"
            if layout != "interim"
            else "Inspection judgements"
        )
        for paragraph in paragraphs:
            w.paragraph(paragraph)
    _render_requirements(w, report, intro=STATUTORY_INTRO)
    if layout == "sccif":
        w.heading("Information about this inspection")
        w.paragraph(
            "Inspectors have looked closely at the experiences and progress of "
            "children and young people, using the social care common inspection "
            "framework. This inspection was carried out under the Care Standards Act "
            "2000 to assess the effectiveness of the service, how it meets the core "
            "functions of the service as set out in legislation, and to consider how "
            "well it complies with the relevant regulations and meets the national "
            "minimum standards."
        )
    w.heading("Children's home details")
    w.labelled("Unique reference number", urn)
    w.labelled("Provision sub-type", "Children's home")
    w.labelled("Registered provider", report.get("registered_provider"))
    w.labelled("Registered provider address", report.get("registered_provider_address"))
    w.labelled("Responsible individual", report.get("responsible_individual"))
    w.labelled("Registered manager", report.get("registered_manager"))
    inspectors = report.get("inspectors") or []
    if inspectors:
        w.heading("Inspector" if len(inspectors) == 1 else "Inspectors", 11)
        for name in inspectors:
            w.line(f"{name}, Social Care Inspector")
    w.save()


# The label wraps of fragment A (2016), drawn so that text extraction gives the
# same line breaks as the real report.
_FRAGMENT_A_ROWS_2015 = (
    # (label lines, where the judgement goes: ("own", n) on its own line before
    # label line n, ("inline", n) at the end of label line n)
    (
        (
            "The overall experiences and",
            "progress of children and",
            "young people living in the",
            "home are",
        ),
        ("own", 2),
        "overall",
    ),
    (
        ("How well children and", "young people are helped", "and protected"),
        ("own", 2),
        "helped_and_protected",
    ),
    (
        ("The impact and", "effectiveness of leaders and", "managers"),
        ("inline", 1),
        "leaders_and_managers",
    ),
)

_ROWS_2014 = (
    ("Overall effectiveness", "overall"),
    ("Outcomes for children and young people", None),
    ("Quality of care", None),
    ("The safety of children and young people", "helped_and_protected"),
    ("Leadership and management", "leaders_and_managers"),
)


def _render_stacked(report: dict, path: Path, urn: str, layout: str) -> None:
    """The 2014-2017 layouts: a front page of stacked labels and values."""
    j = _judgements(report)
    start = _date(report.get("inspection_date"))
    end = _date(report.get("inspection_end_date"))
    kind = (report.get("inspection_type") or "Full inspection").split()[0]
    w = _Writer(path, header=urn, footer="")
    w.line(f"Children's homes inspection - {kind}", size=16, bold=True)
    if end and end != start:
        w.stacked(["Inspection dates"], [f"{_slash_date(start)} to {_slash_date(end)}"])
    else:
        w.stacked(["Inspection date"], [_slash_date(start)])
    w.stacked(["Unique reference number"], [urn])
    w.stacked(["Type of inspection"], [kind])
    w.stacked(["Provision subtype"], ["Children's home"])
    w.stacked(["Registered person"], [report.get("registered_provider") or ""])
    address = report.get("registered_provider_address") or ""
    w.stacked(["Registered person address"], w.wrap(address, 150))
    w.stacked(["Responsible individual"], [report.get("responsible_individual") or ""])
    w.stacked(["Registered manager"], [report.get("registered_manager") or ""])
    inspectors = report.get("inspectors") or []
    w.stacked(["Inspector" if len(inspectors) < 2 else "Inspectors"], inspectors)
    w.new_page()
    w.stacked(["Inspection date"], [_slash_date(start)])
    w.stacked(
        ["Previous inspection judgement"], [report.get("previous_judgement") or ""]
    )
    w.stacked(
        ["Enforcement action since last", "inspection"],
        [report.get("enforcement_action_since_last") or "None"],
    )
    w.line("This inspection", bold=True)
    widths = (240, 120)
    if layout == "2015":
        for label_lines, (where, position), key in _FRAGMENT_A_ROWS_2015:
            value = j.get(key) or ""
            w.need(14 * 6)
            for number, part in enumerate(label_lines):
                if value and where == "own" and number == position:
                    w.line(value, x=MARGIN + widths[0])
                if value and where == "inline" and number == position:
                    w.canvas.setFont(FONT, 10)
                    w.canvas.drawString(MARGIN + widths[0], w.y, value)
                w.line(part)
            if key == "overall":
                sentence = STANDARD_SENTENCES.get(value)
                if sentence:
                    w.paragraph(sentence)
    else:
        for label_text, key in _ROWS_2014:
            value = j.get(key) if key else j.get("overall")
            w.row([[label_text], [value or ""]], widths)
    w.heading("Summary of findings")
    paragraphs = _narrative(report)
    for paragraph in paragraphs:
        w.paragraph(paragraph)
    _render_requirements(w, report, intro=STATUTORY_INTRO)
    w.heading("Full report")
    w.heading("Information about this children's home", 11)
    places = report.get("places")
    if places:
        w.paragraph(
            "The home is registered to provide care for up to "
            f"{_places_words(places)} children and young people."
        )
    w.save()


def _render_nms2010(report: dict, path: Path, urn: str) -> None:
    """The National Minimum Standards report (to March 2014): labels first,
    then their values, as in fragment C."""
    j = _judgements(report)
    start = _date(report.get("inspection_date"))
    inspectors = report.get("inspectors") or []
    w = _Writer(path, header="", footer=f"Inspection report for children's home {urn}")
    w.line("Inspection report for children's home", size=16, bold=True)
    labels = ["Unique reference number", "Inspection date", "Inspector"]
    labels += ["Type of Inspection"]
    values = [
        urn,
        _long_date(start),
        ", ".join(inspectors),
        report.get("inspection_type_as_published") or "Key",
    ]
    # the label column is drawn first, then the value column
    y = w.y
    for label_text in labels:
        w.line(label_text, bold=True)
    w.y = y
    for value in values:
        w.line(value, x=MARGIN + 200)
    w.line("Date of last inspection", bold=True)
    w.line(_long_date(_date(report.get("previous_inspection_date"))), x=MARGIN + 200)
    w.y -= 8
    w.paragraph("The inspection was carried out under the Care Standards Act 2000.")
    w.heading("The inspection judgements and what they mean", 11)
    for word, meaning in (
        (
            "Outstanding:",
            "this aspect of the provision is of exceptionally high quality",
        ),
        ("Good:", "this aspect of the provision is strong"),
        ("Satisfactory:", "this aspect of the provision is sound"),
        ("Inadequate:", "this aspect of the provision is not good enough"),
    ):
        w.row([[word], [meaning]], (100, 300))
    w.new_page()
    w.heading("Service information")
    w.line("Brief description of the service", bold=True)
    places = report.get("places")
    w.paragraph(
        "The home provides care for children aged between 7 and 16 years old"
        + (
            f" and is registered for a maximum of {_places_words(places)} children."
            if places
            else "."
        )
    )
    w.stacked(["Registered person"], [report.get("registered_provider") or ""])
    w.stacked(["Registered manager"], [report.get("registered_manager") or ""])
    w.heading("Overall effectiveness")
    if j.get("overall"):
        w.paragraph(
            f"The overall effectiveness is judged to be {_lower(j.get('overall'))}."
        )
    for paragraph in _narrative(report):
        w.paragraph(paragraph)
    _render_requirements(
        w,
        report,
        intro=(
            "This section sets out the actions that the registered person must take "
            "to meet the Care Standards Act 2000, the Children's Homes Regulations "
            "2001 and the National Minimum Standards."
        ),
    )
    w.save()


# ----------------------------------------------------------- sample content

_FIRST = ["Amira", "Ben", "Chloe", "Daniel", "Elif", "Farah", "Gareth", "Hannah"]
_LAST = ["Okafor", "Williams", "Nowak", "Patel", "Hughes", "Stephens", "Oates", "Khan"]
_PROVIDERS = [
    "ROC Northwest Limited",
    "Horizon Care and Education Group Limited",
    "Keys Pathways Children and Young People's Services Limited",
    "Bluebell Residential Care Ltd",
    "Northamptonshire County Council",
]
_ADDRESSES = [
    "Heyes House, 41 Silverdale Road, Arnside, Carnforth, Lancashire LA5 0AL",
    "Suite 4, Kingsway Business Park, 12 Mill Lane, Rochdale OL16 4NG",
    "Unit 7, The Courtyard, Station Road, Bromsgrove B60 1AA",
]
_MISSING = [
    "Since the last inspection, one child went missing from the home {n} times.",
    "There have been {w} missing episodes since the last inspection.",
    "Staff follow the local protocol when children go missing, and a return home "
    "interview is offered every time.",
    "A significant reduction in missing episodes shows that children feel safer "
    "and more settled.",
    "On {w} occasions a child was away from the home without permission for a "
    "short time.",
]
_OTHER = [
    "Leaders work closely with the police and the local authority to reduce the risk "
    "of child criminal exploitation.",
    "Children enjoy a range of activities and are making good progress in education.",
    "Staff know the children well and relationships are warm and nurturing.",
    "Records of restraint are detailed and are reviewed by the manager.",
]


def sample_report(
    urn: str,
    *,
    seed: int = 0,
    layout: str = "sccif",
    inspection_date: str | None = None,
    overall: str | None = None,
) -> dict:
    """A realistic report dict for ``render_report`` (deterministic per seed)."""
    rng = random.Random(f"{urn}-{seed}-{layout}")
    if inspection_date is None:
        year = {"nms2010": 2010, "2014": 2014, "2015": 2016}.get(layout, 2019)
        day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(0, 330))
        if layout not in ("nms2010", "2014", "2015"):
            day = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(0, 2500))
    else:
        day = dt.date.fromisoformat(inspection_date)
    end = day + dt.timedelta(days=1) if rng.random() < 0.6 else None
    judgements: dict[str, str | None] = {
        "overall": None,
        "helped_and_protected": None,
        "leaders_and_managers": None,
    }
    scale = ["Outstanding", "Good", "Requires improvement to be good", "Inadequate"]
    if layout == "nms2010":
        scale = ["Outstanding", "Good", "Satisfactory", "Inadequate"]
    elif layout == "2014":
        scale = ["Outstanding", "Good", "Adequate", "Inadequate"]
    elif layout == "2015":
        scale = ["Outstanding", "Good", "Requires improvement", "Inadequate"]
    kind = "Full inspection"
    if layout in ("nms2010", "2014", "2015", "sccif"):
        main = overall or rng.choices(scale, weights=[2, 6, 2, 1])[0]
        judgements = {
            "overall": main,
            "helped_and_protected": rng.choice([main, scale[1]]),
            "leaders_and_managers": rng.choice([main, scale[1]]),
        }
        if layout == "nms2010":
            judgements["helped_and_protected"] = None
            judgements["leaders_and_managers"] = None
    elif layout == "interim":
        kind = "Interim inspection"
        judgements["overall"] = overall or rng.choice(
            [
                "Improved effectiveness",
                "Sustained effectiveness",
                "Declined in effectiveness",
            ]
        )
    elif layout == "monitoring":
        kind = "Monitoring inspection"
    else:
        kind = "Assurance visit"
    if layout in ("monitoring", "assurance"):
        end = None
    n = rng.randrange(2, 15)
    narrative = [
        rng.choice(_OTHER),
        rng.choice(_MISSING).format(n=n, w=_NUMBER_WORDS[n % 13]),
        " ".join(rng.sample(_OTHER, 2)),
    ]
    people = [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(4)]
    requirements = []
    if judgements["overall"] in ("Requires improvement to be good", "Inadequate"):
        requirements.append(
            {
                "text": "The registered person must ensure that staff follow the "
                "home's missing from care procedures and that every episode is "
                "reviewed.",
                "regulation": "Regulation 12 (1)(2)(a)(v)",
                "due_date": (day + dt.timedelta(days=30)).isoformat(),
            }
        )
    return {
        "urn": urn,
        "inspection_date": day.isoformat(),
        "inspection_end_date": end.isoformat() if end else None,
        "inspection_type": kind,
        "judgements": judgements,
        "previous_judgement": rng.choice(["Good", "Requires improvement to be good"])
        if layout in ("sccif", "interim")
        else None,
        "previous_inspection_date": (day - dt.timedelta(days=200)).isoformat()
        if layout in ("sccif", "interim", "nms2010")
        else None,
        "enforcement_action_since_last": "None" if layout in ("2014", "2015") else None,
        "registered_provider": rng.choice(_PROVIDERS),
        "registered_provider_address": rng.choice(_ADDRESSES),
        "responsible_individual": people[0],
        "registered_manager": people[1],
        "inspectors": people[2:3] if rng.random() < 0.5 else people[2:],
        "places": rng.randrange(1, 7),
        "requirements": requirements,
        "recommendations": [
            {
                "text": "The registered person should ensure that risk assessments "
                "are updated after every incident.",
                "regulation": "'Guide to the Children's Homes Regulations, including "
                "the quality standards', page 42, paragraph 9.5",
            }
        ]
        if layout in ("sccif", "interim", "2015")
        else [],
        "narrative": narrative,
    }


def render_many(
    reports: Iterable[tuple[dict, Path, str]],
) -> int:
    """Render many reports; returns how many were written."""
    count = 0
    for report, path, layout in reports:
        render_report(report, path, layout=layout)
        count += 1
    return count
