"""Inspection report PDFs in the registry."""
