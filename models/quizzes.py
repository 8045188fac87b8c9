"""Quizzes: questions attached to a course (optionally to one of its modules), with the
mark a learner needs to pass. Attempts and the completion rule come with enrollment."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONDocument, TimestampMixin


class Quiz(TimestampMixin, Base):
    __tablename__ = "quizzes"
    __table_args__ = (
        CheckConstraint("pass_mark >= 0 AND pass_mark <= 100", name="pass_mark_range"),
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
