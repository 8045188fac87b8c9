"""Learning: completion, one enrollment per payment, quiz attempts, course reviews.

``enrollments`` gains ``completed_at`` and a unique index on ``payment_id`` (one payment pays
for one enrollment); ``quizzes`` a per-quiz ``max_attempts`` (null: no limit). New tables:
``quiz_attempts`` (numbered per learner and quiz, so the limit holds under concurrency) and
``course_reviews`` (one per enrollment; ``courses.rating`` is their average).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_MAX_ATTEMPTS_CHECK = "max_attempts IS NULL OR max_attempts >= 1"

enrollments = sa.table(
    "enrollments",
    sa.column("enrollment_id", sa.Integer),
    sa.column("payment_id", sa.Integer),
)


def _sqlite() -> bool:
    # Plain ALTER TABLE on SQLite (see 0010: a batch rebuild would drop referenced tables).
    return op.get_bind().dialect.name == "sqlite"


def _unlink_reused_payments() -> None:
    """Before the unique index: a payment linked to several enrollments stays with the
    first of them (no flow made such links before this revision)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(enrollments.c.enrollment_id, enrollments.c.payment_id)
        .where(enrollments.c.payment_id.is_not(None))
        .order_by(enrollments.c.enrollment_id)
    ).all()
    seen: set[int] = set()
    for enrollment_id, payment_id in rows:
        if payment_id in seen:
            bind.execute(
                enrollments.update()
                .where(enrollments.c.enrollment_id == enrollment_id)
                .values(payment_id=None)
            )
        seen.add(payment_id)


def upgrade() -> None:
    op.add_column("enrollments", sa.Column("completed_at", sa.DateTime(timezone=True)))
    _unlink_reused_payments()
    op.drop_index(op.f("ix_enrollments_payment_id"), table_name="enrollments")
    op.create_index(op.f("ix_enrollments_payment_id"), "enrollments", ["payment_id"], unique=True)
    if _sqlite():
        op.execute(
            "ALTER TABLE quizzes ADD COLUMN max_attempts INTEGER DEFAULT '3' "
            f"CONSTRAINT ck_quizzes_max_attempts_positive CHECK ({_MAX_ATTEMPTS_CHECK})"
        )
    else:
        op.add_column("quizzes", sa.Column("max_attempts", sa.Integer(), server_default="3"))
        op.create_check_constraint(
            op.f("ck_quizzes_max_attempts_positive"), "quizzes", sa.text(_MAX_ATTEMPTS_CHECK)
        )
    op.create_table(
        "quiz_attempts",
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("quiz_id", sa.Integer(), nullable=False),
        sa.Column("attempt_number", sa.Integer(), nullable=False),
        sa.Column("answers", _JSON, nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(5, 2), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column(
            "submitted_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "attempt_number >= 1", name=op.f("ck_quiz_attempts_attempt_number_positive")
        ),
        sa.CheckConstraint(
            "score >= 0 AND score <= 100", name=op.f("ck_quiz_attempts_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.enrollment_id"],
            name=op.f("fk_quiz_attempts_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.quiz_id"],
            name=op.f("fk_quiz_attempts_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_quiz_attempts")),
        sa.UniqueConstraint(
            "enrollment_id",
            "quiz_id",
            "attempt_number",
            name=op.f("uq_quiz_attempts_enrollment_id_quiz_id_attempt_number"),
        ),
    )
    op.create_index(op.f("ix_quiz_attempts_quiz_id"), "quiz_attempts", ["quiz_id"])
    op.create_table(
        "course_reviews",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(2000).with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "rating >= 1 AND rating <= 5", name=op.f("ck_course_reviews_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.course_id"],
            name=op.f("fk_course_reviews_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.enrollment_id"],
            name=op.f("fk_course_reviews_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_course_reviews_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", name=op.f("pk_course_reviews")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_course_reviews_enrollment_id")),
    )
    op.create_index(
        "ix_course_reviews_course_id_created_at", "course_reviews", ["course_id", "created_at"]
    )
    op.create_index(op.f("ix_course_reviews_user_id"), "course_reviews", ["user_id"])


def downgrade() -> None:
    op.drop_table("course_reviews")
    op.drop_table("quiz_attempts")
    if not _sqlite():
        op.drop_constraint(op.f("ck_quizzes_max_attempts_positive"), "quizzes", type_="check")
    op.drop_column("quizzes", "max_attempts")
    op.drop_index(op.f("ix_enrollments_payment_id"), table_name="enrollments")
    op.create_index(op.f("ix_enrollments_payment_id"), "enrollments", ["payment_id"])
    op.drop_column("enrollments", "completed_at")
