"""Migrations: empty -> head -> base -> head on both databases, and they agree with the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

import models
from core import migrations
from core.database import make_sync_engine
from tests.conftest import base_settings, fresh_database_url

SEED_TABLES = {
    "users",
    "user_accounts",
    "courses",
    "course_catalog",
    "course_modules",
    "enrollments",
    "progress_tracking",
    "certificates",
    "payment_gateway",
    "notifications",
    "notification_log",
    "media_repository",
    "analytics",
}


# Tables the platform adds for its own workings.
PLATFORM_TABLES = {
    "refresh_tokens",
    "quizzes",
    "outbox_events",
    "push_subscriptions",
    "notification_preferences",
    "audit_log",
    "payment_events",
    "idempotency_keys",
    "quiz_attempts",
    "course_reviews",
}


def test_models_cover_every_table_of_the_schema() -> None:
    assert set(models.Base.metadata.tables) == SEED_TABLES | PLATFORM_TABLES


def test_upgrade_downgrade_upgrade_and_models_agree(
    backend: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> None:
    url = fresh_database_url(backend, tmp_path_factory, request)
    engine = make_sync_engine(base_settings(tmp_path, url))
    try:
        assert migrations.current_revision(engine) is None

        migrations.upgrade(engine)
        assert migrations.current_revision(engine) == migrations.head_revision()
        assert set(inspect(engine).get_table_names()) >= SEED_TABLES
        assert migrations.schema_differences(engine, models.Base.metadata) == []

        migrations.downgrade(engine)
        assert migrations.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        if backend == "postgresql":
            with engine.connect() as conn:
                leftover = conn.exec_driver_sql("SELECT typname FROM pg_type WHERE typtype = 'e'")
                assert leftover.scalars().all() == []

        migrations.upgrade(engine)
        assert migrations.schema_differences(engine, models.Base.metadata) == []
    finally:
        engine.dispose()
