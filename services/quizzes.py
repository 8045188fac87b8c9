"""Quizzes: the shape of their questions.

A quiz's ``questions`` is a JSON document, so nothing in the database bounds it: this is
where its shape is defined, for the data API's schema and the write pipeline alike (the
panel's writes go through the same check). Learners will take quizzes through endpoints of
their own; the answers are never shown to them.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_QUESTIONS = 100
MAX_CHOICES = 10
QUESTION_MAX = 1000
CHOICE_MAX = 300

Choice = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CHOICE_MAX)
]


class Question(BaseModel):
    """One multiple-choice question: its text, 2-10 choices and the index of the right one."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=QUESTION_MAX)
    ]
    choices: list[Choice] = Field(min_length=2, max_length=MAX_CHOICES)
    answer: int = Field(ge=0, description="Index of the right choice in `choices`")

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> Self:
        if self.answer >= len(self.choices):
            raise ValueError("answer must be the index of one of the choices")
        return self


Questions = Annotated[list[Question], Field(max_length=MAX_QUESTIONS)]
