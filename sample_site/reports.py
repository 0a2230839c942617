"""Report PDFs for the sample site.

Uses the report reader's fixture generator
(``sample_site.report_pdfs.render_report(report, path, *, layout="sccif")``);
if it fails on a report, a short placeholder PDF that says what it is.
"""

from __future__ import annotations

import logging
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from sample_site.files import SAMPLE_MARK
from sample_site.population import Home, Inspection
from sample_site.report_pdfs import render_report, sample_report

logger = logging.getLogger(__name__)


_LAYOUTS = {
    "Full inspection": "sccif",
    "Monitoring inspection": "monitoring",
    "Assurance visit": "assurance",
    "Interim inspection": "interim",
}


def layout_for(inspection: Inspection) -> str:
    return _LAYOUTS.get(inspection.event_type, "sccif")


def report_dict(home: Home, inspection: Inspection, *, seed: int = 0) -> dict:
    """The report's content, in the shape ``render_report`` takes: the report
    reader's ``sample_report`` narrative, with this inspection's facts."""
    layout = layout_for(inspection)
    report = sample_report(
        home.urn,
        seed=seed + int(inspection.event_number),
        layout=layout,
        inspection_date=inspection.inspection_date.isoformat(),
        overall=inspection.overall,
    )
    report["inspection_type"] = inspection.event_type
    report["judgements"] = {
        "overall": inspection.overall,
        "helped_and_protected": inspection.helped_and_protected,
        "leaders_and_managers": inspection.leaders_and_managers,
    }
    report["registered_provider"] = home.owner
    report["places"] = home.places
    if inspection.event_type != "Full inspection":
        report["inspection_end_date"] = None
    return report


def write_report(
    home: Home, inspection: Inspection, path: Path, *, seed: int = 0
) -> None:
    tmp = path.with_suffix(".part")
    try:
        render_report(
            report_dict(home, inspection, seed=seed),
            tmp,
            layout=layout_for(inspection),
        )
        tmp.replace(path)
        return
    except Exception:  # the generator is another area's; fall back, loudly
        logger.exception("render_report failed for %s; using a placeholder", home.urn)
    _placeholder(home, inspection, tmp)
    tmp.replace(path)


def _placeholder(home: Home, inspection: Inspection, path: Path) -> None:
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    y = 800
    lines = [
        f"{SAMPLE_MARK}: placeholder inspection report",
        f"Children's home: {home.urn}",
        f"Inspection dates: {inspection.inspection_date:%d %B %Y}",
        f"Inspection type: {inspection.event_type}",
    ]
    if inspection.overall:
        lines += [
            f"Overall experiences and progress of children and young people: {inspection.overall}",
            f"How well children and young people are helped and protected: {inspection.helped_and_protected}",
            f"The effectiveness of leaders and managers: {inspection.leaders_and_managers}",
        ]
    lines += [
        f"Registered provider: {home.owner}",
        f"Published: {inspection.publication_date:%d %B %Y}",
    ]
    for line in lines:
        pdf.drawString(50, y, line)
        y -= 18
    pdf.showPage()
    pdf.save()
