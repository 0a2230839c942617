"""Logging for every command: one format, chatter to stderr, noisy libraries
kept at WARNING unless ``-v``."""

from __future__ import annotations

import logging


def configure_logging(verbose: bool, silent: bool) -> None:
    # Progress and summaries are printed, not logged: log lines (INFO and
    # below) only with -v, so they never interleave with a load's progress.
    level = logging.DEBUG if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("pdfminer", "pdfplumber", "scrapy", "twisted", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
