"""Derived tables: ``homes`` and ``inspections`` from observations, home status from crawls."""
