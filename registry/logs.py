"""Logging for every command: one format, chatter to stderr, noisy libraries
kept at WARNING unless ``-v``."""

from __future__ import annotations

import logging


def configure_logging(verbose: bool, silent: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if silent else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("pdfminer", "pdfplumber", "scrapy", "twisted", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
