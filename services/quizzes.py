"""Quizzes: the shape of their questions, a quiz as a learner sees it, and attempts.

A quiz's ``questions`` is a JSON document, so nothing in the database bounds it: this is
where its shape is defined, for the data API's schema and the write pipeline alike (the
panel's writes go through the same check). Learners take quizzes through the functions
below; the answers are never shown to them.

Attempts are numbered per learner and quiz; the unique (enrollment, quiz, number) is what
holds the per-quiz maximum under concurrency: two submissions that read the same count
race for the same number, and the second inserts nothing (ON CONFLICT DO NOTHING) and is
told to try again. The best attempt counts: its score is the learner's, and a quiz once
passed stays passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import EventType
from core.sql import insert_unless_present
from models import Course, Enrollment, EnrollmentStatus, Quiz, QuizAttempt, Role, User
from services.access import CourseNotFound
from services.analytics import record
from services.progress import EnrollmentDropped, complete_if_done

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


_CENTS = Decimal("0.01")


class QuizNotFound(NotFound):
    message = "Quiz not found"


class NotALearner(Forbidden):
    message = "Only learners enrolled in the course take its quizzes"


class NoQuestionsYet(Conflict):
    message = "This quiz has no questions yet"


class NoAttemptsLeft(Conflict):
    message = "No attempts left for this quiz"


class AttemptRaced(Conflict):
    message = "Another attempt was submitted at the same time; try again"


# -- who sees a quiz ----------------------------------------------------------------------------


def _admit(
    viewer: User, *, instructor_id: int, enrollment: Enrollment | None, not_found: NotFound
) -> Enrollment | None:
    """The viewer's enrollment when they may see the course's quizzes: a learner enrolled
    (not dropped), the course's instructor or an admin (their enrollment, if any). Anyone
    else hears ``not_found``: whether a course or quiz exists is not theirs to learn."""
    staff = viewer.role is Role.ADMIN or instructor_id == viewer.user_id
    if enrollment is None and not staff:
        raise not_found
    if enrollment is not None and enrollment.status is EnrollmentStatus.DROPPED and not staff:
        raise EnrollmentDropped()
    return enrollment


def _viewer_enrollment(viewer: User) -> Any:
    return and_(Enrollment.course_id == Course.course_id, Enrollment.user_id == viewer.user_id)


def _quiz_row(session: Session, viewer: User, quiz_id: int) -> tuple[Quiz, int, Enrollment | None]:
    """The quiz, its course's instructor and the viewer's enrollment there: one query."""
    row = session.execute(
        select(Quiz, Course.instructor_id, Enrollment)
        .join(Course, Course.course_id == Quiz.course_id)
        .outerjoin(Enrollment, _viewer_enrollment(viewer))
        .where(Quiz.quiz_id == quiz_id)
    ).one_or_none()
    if row is None:
        raise QuizNotFound()
    quiz, instructor_id, enrollment = row
    return quiz, instructor_id, enrollment


def _visible_quiz(session: Session, viewer: User, quiz_id: int) -> tuple[Quiz, Enrollment | None]:
    quiz, instructor_id, enrollment = _quiz_row(session, viewer, quiz_id)
    admitted = _admit(
        viewer, instructor_id=instructor_id, enrollment=enrollment, not_found=QuizNotFound()
    )
    return quiz, admitted


# -- a learner's standing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """A learner's attempts at one quiz: how many (the last attempt's number: attempts are
    numbered from 1 and never deleted alone), the best score, whether any passed."""

    attempts_used: int = 0
    best_score: Decimal | None = None
    passed: bool = False


NO_ATTEMPTS = Standing()


def _standings(
    session: Session, enrollment: Enrollment | None, quiz_ids: list[int]
) -> dict[int, Standing]:
    """Each quiz's standing for the enrollment, in one query whatever the number of quizzes."""
    if enrollment is None or not quiz_ids:
        return {}
    rows = session.execute(
        select(
            QuizAttempt.quiz_id,
            func.max(QuizAttempt.attempt_number),
            func.max(QuizAttempt.score),
            func.max(case((QuizAttempt.passed, 1), else_=0)),
        )
        .where(
            QuizAttempt.enrollment_id == enrollment.enrollment_id,
            QuizAttempt.quiz_id.in_(quiz_ids),
        )
        .group_by(QuizAttempt.quiz_id)
    ).all()
    return {
        quiz_id: Standing(
            attempts_used=used, best_score=Decimal(best).quantize(_CENTS), passed=bool(passed)
        )
        for quiz_id, used, best, passed in rows
    }


def _attempts_left(quiz: Quiz, used: int) -> int | None:
    return None if quiz.max_attempts is None else max(quiz.max_attempts - used, 0)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicQuestion:
    question: str
    choices: list[str]


@dataclass(frozen=True)
class QuizView:
    """A quiz as a learner sees it: its questions without their answers, and their standing."""

    quiz_id: int
    course_id: int
    module_id: int | None
    title: str
    pass_mark: int
    max_attempts: int | None
    questions: list[PublicQuestion]
    attempts_used: int
    attempts_left: int | None
    best_score: Decimal | None
    passed: bool


def _view(quiz: Quiz, standing: Standing) -> QuizView:
    return QuizView(
        quiz_id=quiz.quiz_id,
        course_id=quiz.course_id,
        module_id=quiz.module_id,
        title=quiz.title,
        pass_mark=quiz.pass_mark,
        max_attempts=quiz.max_attempts,
        # Built field by field: the answer (and anything else in the document) stays out.
        questions=[
            PublicQuestion(question=item["question"], choices=list(item["choices"]))
            for item in quiz.questions
        ],
        attempts_used=standing.attempts_used,
        attempts_left=_attempts_left(quiz, standing.attempts_used),
        best_score=standing.best_score,
        passed=standing.passed,
    )


def quizzes_for(session: Session, *, viewer: User, course_id: int) -> list[QuizView]:
    """A course's quizzes, to a learner enrolled in it (not dropped: 409), its instructor or
    an admin; anyone else hears 404 "Course not found". Two queries."""
    row = session.execute(
        select(Course.instructor_id, Enrollment)
        .outerjoin(Enrollment, _viewer_enrollment(viewer))
        .where(Course.course_id == course_id)
    ).one_or_none()
    if row is None:
        raise CourseNotFound()
    instructor_id, enrollment = row
    enrollment = _admit(
        viewer, instructor_id=instructor_id, enrollment=enrollment, not_found=CourseNotFound()
    )
    quizzes = session.scalars(
        select(Quiz).where(Quiz.course_id == course_id).order_by(Quiz.quiz_id)
    ).all()
    standings = _standings(session, enrollment, [quiz.quiz_id for quiz in quizzes])
    return [_view(quiz, standings.get(quiz.quiz_id, NO_ATTEMPTS)) for quiz in quizzes]


def quiz_for_learner(session: Session, *, viewer: User, quiz_id: int) -> QuizView:
    """One quiz without its answers, with the viewer's standing; 404 "Quiz not found" for
    a quiz they may not see (as :func:`quizzes_for` decides)."""
    quiz, enrollment = _visible_quiz(session, viewer, quiz_id)
    standing = _standings(session, enrollment, [quiz_id]).get(quiz_id, NO_ATTEMPTS)
    return _view(quiz, standing)


def attempts_of(session: Session, *, viewer: User, quiz_id: int) -> list[QuizAttempt]:
    """The viewer's own attempts at a quiz they may see, newest first (none for an
    instructor or admin who is not a learner of the course)."""
    _, enrollment = _visible_quiz(session, viewer, quiz_id)
    if enrollment is None:
        return []
    return list(
        session.scalars(
            select(QuizAttempt)
            .where(
                QuizAttempt.enrollment_id == enrollment.enrollment_id,
                QuizAttempt.quiz_id == quiz_id,
            )
            .order_by(QuizAttempt.attempt_number.desc())
        )
    )


# -- attempting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    attempt_id: int
    attempt_number: int
    score: Decimal
    correct: int
    total: int
    passed: bool
    pass_mark: int
    attempts_left: int | None
    # The best attempt's score, this one counted.
    best_score: Decimal
    # This attempt completed the learner's enrollment.
    course_completed: bool


def score_of(correct: int, total: int) -> Decimal:
    """Percent correct, cut (never rounded up) to two decimals: with a whole-number pass
    mark, a displayed score at or above the mark is exactly a pass."""
    return (Decimal(correct * 100) / Decimal(total)).quantize(_CENTS, rounding=ROUND_DOWN)


def passes(correct: int, total: int, pass_mark: int) -> bool:
    """correct/total >= pass_mark%, in integers: no float lands a hair below the mark."""
    return correct * 100 >= pass_mark * total


def _check_answers(questions: list[dict[str, Any]], answers: list[int]) -> None:
    if len(answers) != len(questions):
        expected = len(questions)
        noun = "answer" if expected == 1 else "answers"
        raise InvalidInput(f"expected {expected} {noun}, got {len(answers)}", field="answers")
    for number, (question, answer) in enumerate(zip(questions, answers, strict=True), start=1):
        last = len(question["choices"]) - 1
        # bool is an int to Python; True is not a choice a learner made.
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= last:
            raise InvalidInput(
                f"answer {number} is not one of the question's choices (0 to {last})",
                field="answers",
            )


def _taker(session: Session, learner: User, quiz_id: int) -> tuple[Quiz, Enrollment]:
    """The quiz and the learner's live enrollment in its course."""
    quiz, instructor_id, enrollment = _quiz_row(session, learner, quiz_id)
    if enrollment is None:
        staff = learner.role is Role.ADMIN or instructor_id == learner.user_id
        raise NotALearner() if staff else QuizNotFound()
    if enrollment.status is EnrollmentStatus.DROPPED:
        raise EnrollmentDropped()
    return quiz, enrollment


@dataclass(frozen=True)
class Marked:
    correct: int
    total: int
    score: Decimal
    passed: bool


def mark(quiz: Quiz, answers: list[int]) -> Marked:
    """Answers already checked against the quiz's questions, marked."""
    total = len(quiz.questions)
    correct = sum(a == q["answer"] for q, a in zip(quiz.questions, answers, strict=True))
    return Marked(
        correct=correct,
        total=total,
        score=score_of(correct, total),
        passed=passes(correct, total, quiz.pass_mark),
    )


def submit_attempt(
    session: Session,
    *,
    learner: User,
    quiz_id: int,
    answers: list[int],
    now: datetime,
    base_url: str,
) -> Submitted:
    """Score the learner's answers (one choice index per question, in order) as their next
    attempt, record it, and complete their enrollment if this pass was the last thing left."""
    quiz, enrollment = _taker(session, learner, quiz_id)
    if not quiz.questions:
        raise NoQuestionsYet()
    _check_answers(quiz.questions, answers)
    standing = _standings(session, enrollment, [quiz_id]).get(quiz_id, NO_ATTEMPTS)
    number = standing.attempts_used + 1
    if quiz.max_attempts is not None and number > quiz.max_attempts:
        raise NoAttemptsLeft()
    marked = mark(quiz, answers)
    attempt_id = _store(session, enrollment, quiz, number, answers, marked, now)
    _record(session, learner, quiz, attempt_id=attempt_id, number=number, marked=marked)
    completed = marked.passed and complete_if_done(
        session, enrollment_id=enrollment.enrollment_id, now=now, base_url=base_url
    )
    best = standing.best_score
    return Submitted(
        attempt_id=attempt_id,
        attempt_number=number,
        score=marked.score,
        correct=marked.correct,
        total=marked.total,
        passed=marked.passed,
        pass_mark=quiz.pass_mark,
        attempts_left=_attempts_left(quiz, number),
        best_score=marked.score if best is None else max(best, marked.score),
        course_completed=completed,
    )


def _store(
    session: Session,
    enrollment: Enrollment,
    quiz: Quiz,
    number: int,
    answers: list[int],
    marked: Marked,
    now: datetime,
) -> int:
    """INSERT the attempt unless its number is taken: a submission that read the same count
    as another waits for it at the unique index, then inserts nothing and is refused (the
    unit of work has written nothing else yet)."""
    values = {
        "enrollment_id": enrollment.enrollment_id,
        "quiz_id": quiz.quiz_id,
        "attempt_number": number,
        "answers": list(answers),
        "correct": marked.correct,
        "total": marked.total,
        "score": marked.score,
        "passed": marked.passed,
        "submitted_at": now,
    }
    attempt_id = insert_unless_present(
        session, QuizAttempt, values, unique=("enrollment_id", "quiz_id", "attempt_number")
    )
    if attempt_id is None:
        raise AttemptRaced()
    return int(attempt_id)


def _record(
    session: Session, learner: User, quiz: Quiz, *, attempt_id: int, number: int, marked: Marked
) -> None:
    event = EventType.QUIZ_PASSED if marked.passed else EventType.QUIZ_FAILED
    data = {"quizId": quiz.quiz_id, "attemptId": attempt_id, "score": float(marked.score)}
    record(
        session,
        event,
        user_id=learner.user_id,
        course_id=quiz.course_id,
        data=data | {"attemptNumber": number},
    )
