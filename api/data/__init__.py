"""The generated data API: every declared model as a secured REST resource under /api/data."""
