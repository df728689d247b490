"""Paper targets, comparison tables, figures, claims, results index and provenance."""
