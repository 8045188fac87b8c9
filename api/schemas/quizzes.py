"""Quizzes as learners take them: a quiz without its answers, an attempt, its score."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict, field_serializer

from api.schemas.base import CamelModel
from core.clock import isoformat_z
from services.quizzes import MAX_QUESTIONS

# Strict: "1", 1.0 and true are not a choice the learner made. Ranges are the quiz's own
# (each question has its number of choices): the service checks them and names the answer.
ChoiceIndex = Annotated[int, Strict()]


class QuestionRead(CamelModel):
    """A question and its choices; never its answer."""

    question: str
    choices: list[str]


class QuizRead(CamelModel):
    quiz_id: int
    course_id: int
    module_id: int | None
    title: str
    # Percent of correct answers needed to pass.
    pass_mark: int
    # Null: as many attempts as the learner likes.
    max_attempts: int | None
    questions: list[QuestionRead]
    # The caller's own attempts.
    attempts_used: int
    attempts_left: int | None
    # The best attempt's score (percent), null before the first.
    best_score: float | None
    # Any attempt passed: the best attempt counts.
    passed: bool


class QuizList(CamelModel):
    quizzes: list[QuizRead]


class AttemptSubmit(CamelModel):
    answers: list[ChoiceIndex] = Field(
        max_length=MAX_QUESTIONS,
        description="The index of the chosen choice, one per question, in the quiz's order",
    )


class AttemptResult(CamelModel):
    attempt_id: int
    attempt_number: int
    score: float
    correct: int
    total: int
    passed: bool
    pass_mark: int
    attempts_left: int | None
    best_score: float
    # This pass was the last thing left: the course is completed.
    course_completed: bool


class AttemptRead(CamelModel):
    attempt_id: int
    attempt_number: int
    # The caller's own choices, per question.
    answers: list[int]
    correct: int
    total: int
    score: float
    passed: bool
    submitted_at: datetime

    @field_serializer("submitted_at")
    def _iso(self, value: datetime) -> str:
        return isoformat_z(value)


class AttemptList(CamelModel):
    attempts: list[AttemptRead]
