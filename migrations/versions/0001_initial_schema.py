"""Initial schema: every table of the platform.

The seed's tables (users, user_accounts, courses, course_catalog, enrollments,
progress_tracking, certificates, payment_gateway, notifications, notification_log,
media_repository, analytics) plus course_modules, which progress_tracking points to.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "student",
                "instructor",
                "admin",
                name="user_role",
                create_constraint=True,
                length=20,
            ),
            server_default="student",
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("avatar_url", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "courses",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Numeric(precision=3, scale=2), nullable=True),
        sa.Column("duration", sa.Integer(), server_default="0", nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("cover_image_url", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("price", sa.Numeric(precision=10, scale=2), server_default="0", nullable=False),
        sa.Column(
            "difficulty",
            sa.Enum(
                "Beginner",
                "Intermediate",
                "Advanced",
                name="course_difficulty",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("duration >= 0", name=op.f("ck_courses_duration_not_negative")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_courses_price_not_negative")),
        sa.CheckConstraint(
            "rating IS NULL OR (rating >= 0 AND rating <= 5)", name=op.f("ck_courses_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["instructor_id"],
            ["users.user_id"],
            name=op.f("fk_courses_instructor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_courses")),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courses_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_courses_difficulty"), ["difficulty"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_courses_instructor_id"), ["instructor_id"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "email",
                "in_app",
                "push",
                name="notification_type",
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                name="notification_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_accounts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("provider_user_id", sa.String(length=100), nullable=False),
        sa.Column("access_token", sa.String(length=1024), nullable=True),
        sa.Column("refresh_token", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_user_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_user_accounts")),
        sa.UniqueConstraint(
            "provider", "provider_user_id", name=op.f("uq_user_accounts_provider_provider_user_id")
        ),
    )
    with op.batch_alter_table("user_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_accounts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "analytics",
        sa.Column("analytic_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column(
            "event_data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_analytics_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_analytics_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("analytic_id", name=op.f("pk_analytics")),
    )
    with op.batch_alter_table("analytics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_course_id_recorded_at", ["course_id", "recorded_at"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_event_type_recorded_at", ["event_type", "recorded_at"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_user_id_recorded_at", ["user_id", "recorded_at"], unique=False
        )

    op.create_table(
        "certificates",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("certificate_url", sa.String(length=255), nullable=True),
        sa.Column(
            "issue_date", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("unique_id", sa.String(length=50), nullable=False),
        sa.Column("verification_url", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_certificates_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_certificates_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("certificate_id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("unique_id", name=op.f("uq_certificates_unique_id")),
        sa.UniqueConstraint("user_id", "course_id", name=op.f("uq_certificates_user_id_course_id")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_course_id"), ["course_id"], unique=False)

    op.create_table(
        "course_catalog",
        sa.Column("catalog_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_course_catalog_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("catalog_id", name=op.f("pk_course_catalog")),
        sa.UniqueConstraint("course_id", name=op.f("uq_course_catalog_course_id")),
    )
    op.create_table(
        "course_modules",
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("duration >= 0", name=op.f("ck_course_modules_duration_not_negative")),
        sa.CheckConstraint("position >= 0", name=op.f("ck_course_modules_position_not_negative")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_course_modules_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("module_id", name=op.f("pk_course_modules")),
        sa.UniqueConstraint(
            "course_id", "position", name=op.f("uq_course_modules_course_id_position")
        ),
    )
    op.create_table(
        "media_repository",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column(
            "media_type",
            sa.Enum(
                "video", "image", "document", name="media_type", create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("media_url", sa.String(length=255), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint('"index" >= 0', name=op.f("ck_media_repository_index_not_negative")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_media_repository_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instructor_id"],
            ["users.user_id"],
            name=op.f("fk_media_repository_instructor_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("media_id", name=op.f("pk_media_repository")),
    )
    with op.batch_alter_table("media_repository", schema=None) as batch_op:
        batch_op.create_index(
            "ix_media_repository_course_id_index", ["course_id", "index"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_media_repository_instructor_id"), ["instructor_id"], unique=False
        )

    op.create_table(
        "notification_log",
        sa.Column("log_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column(
            "delivery_status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                name="delivery_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.notification_id"],
            name=op.f("fk_notification_log_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("log_id", name=op.f("pk_notification_log")),
    )
    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_log_notification_id"), ["notification_id"], unique=False
        )

    op.create_table(
        "payment_gateway",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="NGN", nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=False),
        sa.Column(
            "payment_status",
            sa.Enum(
                "pending",
                "success",
                "failed",
                "refunded",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("payment_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "method",
            sa.Enum(
                "card",
                "paystack",
                name="payment_method",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "card_details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("paystack_reference", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_gateway_amount_positive")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_payment_gateway_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_payment_gateway_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_payment_gateway")),
        sa.UniqueConstraint(
            "paystack_reference", name=op.f("uq_payment_gateway_paystack_reference")
        ),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_payment_gateway_transaction_id")),
    )
    with op.batch_alter_table("payment_gateway", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_gateway_course_id"), ["course_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payment_gateway_user_id"), ["user_id"], unique=False)

    op.create_table(
        "enrollments",
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column(
            "enrollment_date",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "in_progress",
                "completed",
                "dropped",
                name="enrollment_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="in_progress",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_enrollments_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payment_gateway.payment_id"],
            name=op.f("fk_enrollments_payment_id_payment_gateway"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_enrollments_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("enrollment_id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint("user_id", "course_id", name=op.f("uq_enrollments_user_id_course_id")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrollments_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollments_payment_id"), ["payment_id"], unique=False)

    op.create_table(
        "progress_tracking",
        sa.Column("progress_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column(
            "last_accessed",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("time_spent", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 100", name=op.f("ck_progress_tracking_progress_range")
        ),
        sa.CheckConstraint(
            "time_spent >= 0", name=op.f("ck_progress_tracking_time_spent_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.enrollment_id"],
            name=op.f("fk_progress_tracking_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["course_modules.module_id"],
            name=op.f("fk_progress_tracking_module_id_course_modules"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("progress_id", name=op.f("pk_progress_tracking")),
        sa.UniqueConstraint(
            "enrollment_id", "module_id", name=op.f("uq_progress_tracking_enrollment_id_module_id")
        ),
    )
    with op.batch_alter_table("progress_tracking", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_tracking_module_id"), ["module_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_tracking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_tracking_module_id"))

    op.drop_table("progress_tracking")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_payment_id"))
        batch_op.drop_index(batch_op.f("ix_enrollments_course_id"))

    op.drop_table("enrollments")
    with op.batch_alter_table("payment_gateway", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_gateway_user_id"))
        batch_op.drop_index(batch_op.f("ix_payment_gateway_course_id"))

    op.drop_table("payment_gateway")
    with op.batch_alter_table("notification_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_log_notification_id"))

    op.drop_table("notification_log")
    with op.batch_alter_table("media_repository", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_repository_instructor_id"))
        batch_op.drop_index("ix_media_repository_course_id_index")

    op.drop_table("media_repository")
    op.drop_table("course_modules")
    op.drop_table("course_catalog")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_course_id"))

    op.drop_table("certificates")
    with op.batch_alter_table("analytics", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_user_id_recorded_at")
        batch_op.drop_index("ix_analytics_event_type_recorded_at")
        batch_op.drop_index("ix_analytics_course_id_recorded_at")

    op.drop_table("analytics")
    with op.batch_alter_table("user_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_accounts_user_id"))

    op.drop_table("user_accounts")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courses_instructor_id"))
        batch_op.drop_index(batch_op.f("ix_courses_difficulty"))
        batch_op.drop_index(batch_op.f("ix_courses_category"))

    op.drop_table("courses")
    op.drop_table("users")
    # Native enum types outlive their tables on PostgreSQL; drop them explicitly.
    for name in ("user_role", "notification_type", "media_type"):
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
