"""On PostgreSQL the constraints, indexes and enum types exist in the catalog itself."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def pg(engine: Engine) -> Engine:
    return engine


def constraints(engine: Engine, kind: str) -> dict[str, str]:
    query = text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = :kind AND connamespace = 'public'::regnamespace"
    )
    with engine.connect() as conn:
        return {name: definition for name, definition in conn.execute(query, {"kind": kind})}


def test_unique_constraints(pg: Engine) -> None:
    unique = constraints(pg, "u")
    expected = {
        "uq_users_email": "UNIQUE (email)",
        "uq_users_username": "UNIQUE (username)",
        "uq_enrollments_user_id_course_id": "UNIQUE (user_id, course_id)",
        "uq_payment_gateway_transaction_id": "UNIQUE (transaction_id)",
        "uq_certificates_unique_id": "UNIQUE (unique_id)",
        "uq_certificates_user_id_course_id": "UNIQUE (user_id, course_id)",
        "uq_progress_tracking_enrollment_id_module_id": "UNIQUE (enrollment_id, module_id)",
        "uq_course_modules_course_id_position": 'UNIQUE (course_id, "position")',
    }
    for name, definition in expected.items():
        assert unique.get(name) == definition, name


def test_check_constraints(pg: Engine) -> None:
    checks = constraints(pg, "c")
    assert "rating >= (0)" in checks["ck_courses_rating_range"]
    assert "rating <= (5)" in checks["ck_courses_rating_range"]
    assert "price >= (0)" in checks["ck_courses_price_not_negative"]
    assert "amount > (0)" in checks["ck_payment_gateway_amount_positive"]
    assert "progress >= (0)" in checks["ck_progress_tracking_progress_range"]
    assert "progress <= (100)" in checks["ck_progress_tracking_progress_range"]


def test_foreign_keys_have_deliberate_delete_rules(pg: Engine) -> None:
    foreign = constraints(pg, "f")
    expected = {
        "fk_user_accounts_user_id_users": "ON DELETE CASCADE",
        "fk_courses_instructor_id_users": "ON DELETE RESTRICT",
        "fk_course_catalog_course_id_courses": "ON DELETE CASCADE",
        "fk_enrollments_user_id_users": "ON DELETE RESTRICT",
        "fk_enrollments_course_id_courses": "ON DELETE RESTRICT",
        "fk_progress_tracking_enrollment_id_enrollments": "ON DELETE CASCADE",
        "fk_progress_tracking_module_id_course_modules": "ON DELETE RESTRICT",
        "fk_payment_gateway_user_id_users": "ON DELETE RESTRICT",
        "fk_notifications_user_id_users": "ON DELETE CASCADE",
        "fk_notification_log_notification_id_notifications": "ON DELETE CASCADE",
        "fk_media_repository_course_id_courses": "ON DELETE CASCADE",
        "fk_analytics_course_id_courses": "ON DELETE SET NULL",
        "fk_analytics_user_id_users": "ON DELETE SET NULL",
    }
    for name, rule in expected.items():
        assert rule in foreign[name], name


def test_media_has_a_btree_index_on_course_and_index(pg: Engine) -> None:
    query = text(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_media_repository_course_id_index'"
    )
    with pg.connect() as conn:
        definition = conn.execute(query).scalar_one()
    assert "USING btree (course_id, index)" in definition


def test_enum_types(pg: Engine) -> None:
    query = text(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) "
        "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname"
    )
    with pg.connect() as conn:
        enums = {name: labels for name, labels in conn.execute(query)}
    assert enums == {
        "user_role": ["student", "instructor", "admin"],
        "notification_type": ["email", "in_app", "push"],
        "media_type": ["video", "image", "document"],
    }


def test_every_timestamp_is_timezone_aware(pg: Engine) -> None:
    query = text(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type LIKE 'timestamp%'"
    )
    with pg.connect() as conn:
        columns = conn.execute(query).all()
    assert len(columns) >= 14
    assert {data_type for _, _, data_type in columns} == {"timestamp with time zone"}
