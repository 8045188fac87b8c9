"""Alembic migrations: the schema's history, runnable on SQLite (batch mode) and PostgreSQL."""
