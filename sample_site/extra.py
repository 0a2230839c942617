"""The sample site writes report PDFs (reportlab) and XLSX workbooks
(openpyxl): the ``demo`` extra, which only ``ofsted-homes demo`` and
``ofsted-homes sample-site`` need."""

from __future__ import annotations

INSTALL_HINT = (
    "install the demo extra: pip install 'ofsted-homes[demo]' "
    "(in a checkout: make demo, or pip install -e '.[demo]')"
)


def missing_writers() -> list[str]:
    """The sample site's writers that are not installed."""
    missing = []
    try:
        import reportlab  # noqa: F401
    except ImportError:
        missing.append("reportlab")
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        missing.append("openpyxl")
    return missing


def demo_extra_problem(command: str) -> str | None:
    """One line saying what to install, or None when the writers are there."""
    missing = missing_writers()
    if not missing:
        return None
    return (
        f"ofsted-homes {command} needs the sample site's PDF and XLSX writers "
        f"({', '.join(missing)} not installed): {INSTALL_HINT}"
    )
