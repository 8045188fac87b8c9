"""Cross-cutting foundations: settings, database engines, errors, logging, time."""
