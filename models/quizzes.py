"""Quizzes: questions attached to a course (optionally to one of its modules), with the
mark a learner needs to pass and how many attempts they have; and learners' attempts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from models.base import Base, JSONDocument, TimestampMixin


class Quiz(TimestampMixin, Base):
    __tablename__ = "quizzes"
    __table_args__ = (
        CheckConstraint("pass_mark >= 0 AND pass_mark <= 100", name="pass_mark_range"),
        CheckConstraint("max_attempts IS NULL OR max_attempts >= 1", name="max_attempts_positive"),
    )

    quiz_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.course_id", ondelete="CASCADE"), index=True
    )
    # SET NULL: deleting a module keeps its quiz on the course.
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_modules.module_id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(100))
    # [{"question": str, "choices": [str, ...], "answer": int}, ...]
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    # Percent of correct answers needed to pass.
    pass_mark: Mapped[int] = mapped_column(Integer, default=70, server_default="70")
    # Attempts a learner has; null for as many as they like.
    max_attempts: Mapped[int | None] = mapped_column(Integer, default=3, server_default="3")


class QuizAttempt(Base):
    """One submission of a quiz by a learner: their answers and how they scored."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        # Numbered per learner and quiz: two submissions racing for the same number meet
        # here, so the per-quiz maximum holds under concurrency.
        UniqueConstraint("enrollment_id", "quiz_id", "attempt_number"),
        CheckConstraint("attempt_number >= 1", name="attempt_number_positive"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )

    attempt_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # CASCADE: attempts belong to their enrollment and quiz (a completion, once recorded on
    # the enrollment, stays).
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.enrollment_id", ondelete="CASCADE")
    )
    quiz_id: Mapped[int] = mapped_column(
        ForeignKey("quizzes.quiz_id", ondelete="CASCADE"), index=True
    )
    attempt_number: Mapped[int] = mapped_column(Integer)
    # The index of the chosen choice, per question, in the quiz's order.
    answers: Mapped[list[int]] = mapped_column(JSONDocument, default=list)
    correct: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    # Percent of correct answers.
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    passed: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
