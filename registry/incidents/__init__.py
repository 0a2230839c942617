"""Per-home incident evidence: loading, matching rows to homes, review decisions, police tables."""
