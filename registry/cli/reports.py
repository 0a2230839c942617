"""``ofsted-homes extract-report`` and ``ofsted-homes load-reports``: parse
the options and call ``extract.reports`` / ``registry.reports.reports``."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path

import click

from extract.report_explain import explain_text
from extract.reports import ReportError, extract_report
from extract.sandbox import Limits, Outcome, run_sandboxed, start_server
from registry.logs import configure_logging
from registry.reports.reports import load_reports
from registry.writes import writer


@click.command(name="extract-report")
@click.argument("pdf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--text/--no-text", default=False, help="Include the text of every page")
@click.option(
    "--explain",
    is_flag=True,
    help="For each field, show the page and the printed text it came from "
    "(and why an empty field is empty) instead of JSON",
)
@click.option(
    "--sandbox/--no-sandbox",
    default=True,
    help="Parse in a child process with memory and time limits (default)",
)
@click.option("--timeout", type=float, default=90.0, help="Wall-clock limit in seconds")
@click.option("--memory-mb", type=int, default=1024, help="Memory limit in MB")
def extract_report_command(
    pdf: Path, text: bool, explain: bool, sandbox: bool, timeout: float, memory_mb: int
) -> None:
    """Print what a report PDF says, as JSON (a debugging aid).

    A PDF that cannot be read prints a JSON error with its class
    (not_pdf, truncated, encrypted, too_large, too_many_pages, timeout,
    memory, parse_error, empty_text, unrecognised_layout) and exits 1.

    Example:

    \b
        ofsted-homes extract-report report.pdf
        ofsted-homes extract-report --explain report.pdf
    """
    limits = Limits(memory_bytes=memory_mb << 20, wall_seconds=timeout)
    if not pdf.exists():
        _print_error(pdf, "not_pdf", f"{pdf}: no such file")
        sys.exit(1)
    if sandbox:
        outcome = run_sandboxed(pdf, limits=limits)
        report, kind, message = outcome.report, outcome.error_kind, outcome.message
    else:
        try:
            report, kind, message = extract_report(pdf), None, None
        except ReportError as error:
            report, kind, message = None, error.kind, str(error)
    if report is None:
        _print_error(pdf, kind or "parse_error", message or "")
        sys.exit(1)
    if explain:
        click.echo(explain_text(report, pdf.name))
        return
    data = dataclasses.asdict(report)
    if not text:
        data.pop("page_texts", None)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _print_error(pdf: Path, kind: str, message: str) -> None:
    click.echo(
        json.dumps(
            {"file": str(pdf), "error": kind, "message": message}, ensure_ascii=False
        )
    )


@click.command(name="load-reports")
@click.argument("db_path", type=click.Path(dir_okay=False, path_type=Path))
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--workers", type=int, default=2, help="Parallel worker processes")
@click.option("--sample", is_flag=True, help="Mark the loaded files as sample data")
@click.option(
    "--strict", is_flag=True, help="Stop at the first PDF that cannot be read"
)
@click.option("--silent", is_flag=True, help="No progress bar or summary")
@click.option("-v", "--verbose", is_flag=True, help="Log every problem as it is found")
def load_reports_command(
    db_path: Path,
    files: tuple[Path, ...],
    workers: int,
    sample: bool,
    strict: bool,
    silent: bool,
    verbose: bool,
) -> None:
    """Load many inspection report PDFs in parallel, with a progress bar.

    Each PDF is parsed in a child process with memory and time limits and
    written in its own transaction; a bad PDF becomes a row in `pdf_errors`
    and never stops the batch. Files already read by this extractor version
    are skipped.

    Example:

    \b
        ofsted-homes load-reports registry.db raw/report/*.pdf
    """

    configure_logging(verbose, silent)
    start_server()  # the workers' server starts while the registry is copied
    bar_context = (
        contextlib.nullcontext(None)
        if silent
        else click.progressbar(
            length=len(files), label="Reading reports", file=sys.stderr, show_pos=True
        )
    )
    with writer(db_path, "load-reports", per_file=True) as db, bar_context as bar:

        def progress(_done: int, _total: int, _outcome: Outcome) -> None:
            if bar is not None:
                bar.update(1)

        results = load_reports(
            db,
            files,
            workers=workers,
            progress=progress,
            is_sample=sample,
            strict=strict,
        )
        totals = {t: db[t].count for t in ("reports", "report_mentions")}
    loaded = sum(1 for r in results if r.ok and not r.skipped)
    skipped = sum(1 for r in results if r.skipped)
    failed = [r for r in results if not r.ok]
    if verbose:
        for result in failed:
            click.echo(f"Error: {result.summary}", err=True)
    if not silent:
        click.echo(
            f"Loaded {loaded:,} reports into {db_path.name}, {skipped:,} already "
            f"loaded, {len(failed):,} could not be read (see the pdf_errors table); "
            f"{totals['reports']:,} reports, "
            f"{totals['report_mentions']:,} mentions in all",
            err=True,
        )
    if failed:
        sys.exit(1)
