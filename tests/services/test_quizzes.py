"""Quizzes as learners take them, on a real database: who sees a course's quizzes (never
their answers), the answers an attempt must carry, scoring and the pass mark, the per-quiz
limit on attempts (also under concurrency), the best attempt counting, and the pass that
completes a course."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import sync_session_factory
from core.errors import DomainError, InvalidInput
from core.events import EventType
from models import (
    Analytics,
    Course,
    CourseModule,
    Enrollment,
    EnrollmentStatus,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    Role,
    User,
)
from services.access import CourseNotFound
from services.progress import EnrollmentDropped, complete_if_done
from services.quizzes import (
    AttemptRaced,
    NoAttemptsLeft,
    NoQuestionsYet,
    NotALearner,
    QuizNotFound,
    Submitted,
    attempts_of,
    passes,
    quiz_for_learner,
    quizzes_for,
    score_of,
    submit_attempt,
)
from tests.models.factories import make_course, make_enrollment, make_module, make_user

BASE_URL = "https://learn.example.com"


def questions(answers: list[int], choices: int = 4) -> list[dict[str, Any]]:
    """One question per answer: ``choices`` choices, the right one at that index."""
    return [
        {
            "question": f"Question {n}?",
            "choices": [f"Choice {c}" for c in range(choices)],
            "answer": answer,
        }
        for n, answer in enumerate(answers, start=1)
    ]


def make_quiz(session: Session, course: Course, **values: Any) -> Quiz:
    defaults: dict[str, Any] = {
        "course_id": course.course_id,
        "title": "Check-in",
        "questions": questions([0, 1, 2, 3]),
        "pass_mark": 70,
    }
    values = defaults | values
    # An INSERT leaves out a None whose column has a default (3): unlimited is an update.
    unlimited = "max_attempts" in values and values.pop("max_attempts") is None
    quiz = Quiz(**values)
    session.add(quiz)
    session.flush()
    if unlimited:
        quiz.max_attempts = None
        session.flush()
    return quiz


def finish_modules(session: Session, enrollment: Enrollment, *modules: CourseModule) -> None:
    for module in modules:
        session.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=module.module_id,
                progress=Decimal(100),
            )
        )
    session.flush()


def submit(session: Session, learner: User, quiz: Quiz, answers: list[int]) -> Submitted:
    return submit_attempt(
        session,
        learner=learner,
        quiz_id=quiz.quiz_id,
        answers=answers,
        now=utcnow(),
        base_url=BASE_URL,
    )


def has_key(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(has_key(item, key) for item in value.values())
    if isinstance(value, list | tuple):
        return any(has_key(item, key) for item in value)
    if hasattr(value, "__dataclass_fields__"):
        return key in value.__dataclass_fields__ or any(
            has_key(getattr(value, name), key) for name in value.__dataclass_fields__
        )
    return False


class School:
    """A course (one module) taught by ``teacher``, ``learner`` enrolled in it, a quiz of
    four questions (the right answers 0, 1, 2, 3; pass mark 70; three attempts)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.teacher = make_user(session, role=Role.INSTRUCTOR)
        self.other_teacher = make_user(session, role=Role.INSTRUCTOR)
        self.admin = make_user(session, role=Role.ADMIN)
        self.learner = make_user(session)
        self.stranger = make_user(session)
        self.course = make_course(session, instructor=self.teacher)
        self.module = make_module(session, self.course)
        self.enrollment = make_enrollment(session, self.learner, self.course)
        self.quiz = make_quiz(session, self.course, module_id=self.module.module_id)

    def attempts(self, quiz: Quiz | None = None) -> list[QuizAttempt]:
        quiz = quiz or self.quiz
        return list(
            self.session.scalars(
                select(QuizAttempt)
                .where(QuizAttempt.quiz_id == quiz.quiz_id)
                .order_by(QuizAttempt.attempt_number)
            )
        )

    def drop(self) -> None:
        self.enrollment.status = EnrollmentStatus.DROPPED
        self.session.flush()


@pytest.fixture
def school(db: Session) -> School:
    return School(db)


ALL_RIGHT = [0, 1, 2, 3]
THREE_RIGHT = [0, 1, 2, 0]  # 75%: a pass at 70
TWO_RIGHT = [0, 1, 0, 0]  # 50%: a fail


# -- seeing quizzes ---------------------------------------------------------------------------


class TestQuizzesFor:
    def test_lists_the_course_quizzes_without_answers_to_an_enrolled_learner(
        self, school: School, db: Session
    ) -> None:
        second = make_quiz(db, school.course, title="Final", questions=questions([1, 1]))
        make_quiz(db, make_course(db), title="Another course's")

        views = quizzes_for(db, viewer=school.learner, course_id=school.course.course_id)

        assert [view.quiz_id for view in views] == [school.quiz.quiz_id, second.quiz_id]
        assert not has_key(views, "answer")
        assert views[1].questions[0].question == "Question 1?"
        assert views[1].questions[0].choices == ["Choice 0", "Choice 1", "Choice 2", "Choice 3"]

    def test_gives_each_quiz_the_learners_standing(self, school: School, db: Session) -> None:
        untouched = make_quiz(db, school.course, title="Untouched", max_attempts=None)
        submit(db, school.learner, school.quiz, TWO_RIGHT)

        first, second = quizzes_for(db, viewer=school.learner, course_id=school.course.course_id)

        assert (first.attempts_used, first.attempts_left, first.best_score, first.passed) == (
            1,
            2,
            Decimal("50.00"),
            False,
        )
        assert second.quiz_id == untouched.quiz_id
        assert (second.attempts_used, second.attempts_left, second.best_score) == (0, None, None)

    @pytest.mark.parametrize("who", ["teacher", "admin"])
    def test_shows_the_course_staff_the_quizzes(
        self, who: str, school: School, db: Session
    ) -> None:
        views = quizzes_for(db, viewer=getattr(school, who), course_id=school.course.course_id)

        assert [view.quiz_id for view in views] == [school.quiz.quiz_id]
        assert views[0].attempts_used == 0

    @pytest.mark.parametrize("who", ["stranger", "other_teacher"])
    def test_hides_the_course_from_anyone_else(self, who: str, school: School, db: Session) -> None:
        with pytest.raises(CourseNotFound):
            quizzes_for(db, viewer=getattr(school, who), course_id=school.course.course_id)

    def test_refuses_a_course_that_does_not_exist(self, school: School, db: Session) -> None:
        with pytest.raises(CourseNotFound):
            quizzes_for(db, viewer=school.admin, course_id=school.course.course_id + 1000)

    def test_refuses_a_dropped_learner(self, school: School, db: Session) -> None:
        school.drop()

        with pytest.raises(EnrollmentDropped):
            quizzes_for(db, viewer=school.learner, course_id=school.course.course_id)


class TestQuizForLearner:
    def test_shows_the_quiz_without_answers(self, school: School, db: Session) -> None:
        view = quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)

        assert not has_key(view, "answer")
        assert (view.quiz_id, view.course_id, view.module_id) == (
            school.quiz.quiz_id,
            school.course.course_id,
            school.module.module_id,
        )
        assert (view.title, view.pass_mark, view.max_attempts) == ("Check-in", 70, 3)
        assert [q.question for q in view.questions] == [f"Question {n}?" for n in range(1, 5)]
        assert (view.attempts_used, view.attempts_left, view.best_score, view.passed) == (
            0,
            3,
            None,
            False,
        )

    def test_says_unlimited_attempts_with_no_count_left(self, school: School, db: Session) -> None:
        school.quiz.max_attempts = None
        submit(db, school.learner, school.quiz, TWO_RIGHT)

        view = quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)

        assert (view.max_attempts, view.attempts_used, view.attempts_left) == (None, 1, None)

    @pytest.mark.parametrize("who", ["stranger", "other_teacher"])
    def test_hides_the_quiz_from_anyone_outside_the_course(
        self, who: str, school: School, db: Session
    ) -> None:
        with pytest.raises(QuizNotFound, match=r"^Quiz not found$"):
            quiz_for_learner(db, viewer=getattr(school, who), quiz_id=school.quiz.quiz_id)

    def test_refuses_a_quiz_that_does_not_exist(self, school: School, db: Session) -> None:
        with pytest.raises(QuizNotFound):
            quiz_for_learner(db, viewer=school.admin, quiz_id=school.quiz.quiz_id + 1000)

    def test_refuses_a_dropped_learner(self, school: School, db: Session) -> None:
        school.drop()

        with pytest.raises(EnrollmentDropped):
            quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)

    def test_shows_the_teacher_without_a_standing(self, school: School, db: Session) -> None:
        submit(db, school.learner, school.quiz, ALL_RIGHT)

        view = quiz_for_learner(db, viewer=school.teacher, quiz_id=school.quiz.quiz_id)

        # The teacher's own standing (they took nothing), not a learner's.
        assert (view.attempts_used, view.best_score, view.passed) == (0, None, False)


class TestAttemptsOf:
    def test_lists_the_learners_own_attempts_newest_first(
        self, school: School, db: Session
    ) -> None:
        other = make_user(db)
        make_enrollment(db, other, school.course)
        submit(db, school.learner, school.quiz, TWO_RIGHT)
        submit(db, other, school.quiz, ALL_RIGHT)
        submit(db, school.learner, school.quiz, THREE_RIGHT)

        attempts = attempts_of(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)

        assert [(a.attempt_number, a.answers) for a in attempts] == [
            (2, THREE_RIGHT),
            (1, TWO_RIGHT),
        ]

    def test_gives_the_teacher_none_of_their_learners(self, school: School, db: Session) -> None:
        submit(db, school.learner, school.quiz, TWO_RIGHT)

        assert attempts_of(db, viewer=school.teacher, quiz_id=school.quiz.quiz_id) == []

    def test_hides_the_quiz_from_a_stranger(self, school: School, db: Session) -> None:
        with pytest.raises(QuizNotFound):
            attempts_of(db, viewer=school.stranger, quiz_id=school.quiz.quiz_id)


# -- scoring ----------------------------------------------------------------------------------


class TestScoring:
    @pytest.mark.parametrize(
        ("correct", "total", "score"),
        [
            (3, 4, "75.00"),
            (2, 3, "66.66"),  # cut, never rounded up
            (1, 3, "33.33"),
            (0, 5, "0.00"),
            (7, 7, "100.00"),
            (29, 100, "29.00"),
        ],
    )
    def test_score_is_the_percent_correct_to_two_decimals(
        self, correct: int, total: int, score: str
    ) -> None:
        assert score_of(correct, total) == Decimal(score)

    @pytest.mark.parametrize(
        ("correct", "total", "pass_mark", "passed"),
        [
            (1, 2, 50, True),  # exactly at the mark
            (2, 3, 67, False),  # 66.67% is below 67
            (2, 3, 66, True),
            # 29 / 100 * 100 is 28.999999999999996 in floating point: still a pass.
            (29, 100, 29, True),
            (57, 100, 57, True),
            (0, 4, 0, True),  # a mark of 0 passes anyone who submits
            (3, 4, 100, False),
            (4, 4, 100, True),
        ],
    )
    def test_pass_is_decided_in_integers(
        self, correct: int, total: int, pass_mark: int, passed: bool
    ) -> None:
        assert passes(correct, total, pass_mark) is passed


# -- submitting -------------------------------------------------------------------------------


def analytics(session: Session, learner: User) -> list[tuple[str, dict[str, Any]]]:
    rows = session.execute(
        select(Analytics.event_type, Analytics.event_data)
        .where(Analytics.user_id == learner.user_id)
        .order_by(Analytics.analytic_id)
    ).all()
    return [(event_type, data) for event_type, data in rows]


class TestSubmitAttempt:
    def test_scores_a_pass(self, school: School, db: Session) -> None:
        result = submit(db, school.learner, school.quiz, THREE_RIGHT)

        (attempt,) = school.attempts()
        assert result == Submitted(
            attempt_id=attempt.attempt_id,
            attempt_number=1,
            score=Decimal("75.00"),
            correct=3,
            total=4,
            passed=True,
            pass_mark=70,
            attempts_left=2,
            best_score=Decimal("75.00"),
            course_completed=False,  # the module is not done yet
        )
        assert (attempt.enrollment_id, attempt.answers, attempt.correct, attempt.total) == (
            school.enrollment.enrollment_id,
            THREE_RIGHT,
            3,
            4,
        )
        assert (attempt.score, attempt.passed) == (Decimal("75.00"), True)

    def test_scores_a_fail_below_the_pass_mark(self, school: School, db: Session) -> None:
        result = submit(db, school.learner, school.quiz, TWO_RIGHT)

        assert (result.score, result.correct, result.passed) == (Decimal("50.00"), 2, False)
        assert school.attempts()[0].passed is False

    def test_records_the_outcome_for_analytics(self, school: School, db: Session) -> None:
        failed = submit(db, school.learner, school.quiz, TWO_RIGHT)
        passed = submit(db, school.learner, school.quiz, ALL_RIGHT)

        quiz_id = school.quiz.quiz_id
        assert analytics(db, school.learner) == [
            (
                EventType.QUIZ_FAILED.value,
                {"quizId": quiz_id, "attemptId": failed.attempt_id, "score": 50.0}
                | {"attemptNumber": 1},
            ),
            (
                EventType.QUIZ_PASSED.value,
                {"quizId": quiz_id, "attemptId": passed.attempt_id, "score": 100.0}
                | {"attemptNumber": 2},
            ),
        ]
        course_ids = db.scalars(
            select(Analytics.course_id).where(Analytics.user_id == school.learner.user_id)
        ).all()
        assert set(course_ids) == {school.course.course_id}

    def test_decides_the_pass_in_integers_on_a_long_quiz(self, school: School, db: Session) -> None:
        quiz = make_quiz(db, school.course, questions=questions([0] * 100), pass_mark=29)

        result = submit(db, school.learner, quiz, [0] * 29 + [1] * 71)

        assert (result.score, result.passed) == (Decimal("29.00"), True)


class TestAnswersRefused:
    @pytest.mark.parametrize(
        ("answers", "problem"),
        [
            ([0, 1, 2], "expected 4 answers, got 3"),
            ([0, 1, 2, 3, 0], "expected 4 answers, got 5"),
            ([], "expected 4 answers, got 0"),
            ([0, 4, 2, 3], "answer 2 is not one of the question's choices (0 to 3)"),
            ([0, 1, 2, -1], "answer 4 is not one of the question's choices (0 to 3)"),
            ([True, 1, 2, 3], "answer 1 is not one of the question's choices (0 to 3)"),
            ([0, 1, 2**40, 3], "answer 3 is not one of the question's choices (0 to 3)"),
        ],
    )
    def test_refuses_answers_that_do_not_fit_the_questions(
        self, answers: list[int], problem: str, school: School, db: Session
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            submit(db, school.learner, school.quiz, answers)

        assert (refused.value.field, refused.value.problem) == ("answers", problem)
        assert school.attempts() == []

    def test_counts_each_questions_own_choices(self, school: School, db: Session) -> None:
        quiz = make_quiz(
            db, school.course, questions=questions([1], choices=2) + questions([2], choices=3)
        )

        with pytest.raises(InvalidInput, match=r"answer 1 .* \(0 to 1\)"):
            submit(db, school.learner, quiz, [2, 2])
        assert submit(db, school.learner, quiz, [1, 2]).correct == 2

    def test_says_one_answer_for_one_question(self, school: School, db: Session) -> None:
        quiz = make_quiz(db, school.course, questions=questions([0]))

        with pytest.raises(InvalidInput) as refused:
            submit(db, school.learner, quiz, [0, 0])

        assert refused.value.problem == "expected 1 answer, got 2"


class TestWhoSubmits:
    def test_refuses_a_quiz_without_questions(self, school: School, db: Session) -> None:
        draft = make_quiz(db, school.course, questions=[])

        with pytest.raises(NoQuestionsYet, match=r"^This quiz has no questions yet$"):
            submit(db, school.learner, draft, [])

    def test_hides_the_quiz_from_someone_not_enrolled(self, school: School, db: Session) -> None:
        with pytest.raises(QuizNotFound):
            submit(db, school.stranger, school.quiz, ALL_RIGHT)

    def test_refuses_a_quiz_that_does_not_exist(self, school: School, db: Session) -> None:
        with pytest.raises(QuizNotFound):
            submit_attempt(
                db,
                learner=school.learner,
                quiz_id=school.quiz.quiz_id + 1000,
                answers=ALL_RIGHT,
                now=utcnow(),
                base_url=BASE_URL,
            )

    def test_refuses_a_dropped_learner(self, school: School, db: Session) -> None:
        school.drop()

        with pytest.raises(EnrollmentDropped):
            submit(db, school.learner, school.quiz, ALL_RIGHT)
        assert school.attempts() == []

    @pytest.mark.parametrize("who", ["teacher", "admin"])
    def test_tells_the_course_staff_only_learners_take_quizzes(
        self, who: str, school: School, db: Session
    ) -> None:
        with pytest.raises(NotALearner) as refused:
            submit(db, getattr(school, who), school.quiz, ALL_RIGHT)

        assert refused.value.status_code == 403

    def test_lets_a_learner_who_completed_the_course_try_again(
        self, school: School, db: Session
    ) -> None:
        school.enrollment.status = EnrollmentStatus.COMPLETED
        db.flush()

        assert submit(db, school.learner, school.quiz, ALL_RIGHT).attempt_number == 1


class TestAttemptLimit:
    def test_refuses_an_attempt_beyond_the_quizs_maximum(self, school: School, db: Session) -> None:
        school.quiz.max_attempts = 2
        first = submit(db, school.learner, school.quiz, TWO_RIGHT)
        second = submit(db, school.learner, school.quiz, TWO_RIGHT)

        with pytest.raises(NoAttemptsLeft, match=r"^No attempts left for this quiz$"):
            submit(db, school.learner, school.quiz, ALL_RIGHT)

        assert [(first.attempt_number, first.attempts_left)] == [(1, 1)]
        assert [(second.attempt_number, second.attempts_left)] == [(2, 0)]
        assert [a.attempt_number for a in school.attempts()] == [1, 2]
        view = quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)
        assert (view.attempts_used, view.attempts_left) == (2, 0)

    def test_counts_attempts_per_learner(self, school: School, db: Session) -> None:
        school.quiz.max_attempts = 1
        other = make_user(db)
        make_enrollment(db, other, school.course)
        submit(db, school.learner, school.quiz, TWO_RIGHT)

        assert submit(db, other, school.quiz, TWO_RIGHT).attempt_number == 1

    def test_counts_attempts_per_quiz(self, school: School, db: Session) -> None:
        school.quiz.max_attempts = 1
        other = make_quiz(db, school.course, max_attempts=1)
        submit(db, school.learner, school.quiz, TWO_RIGHT)

        assert submit(db, school.learner, other, TWO_RIGHT).attempt_number == 1

    def test_allows_any_number_when_unlimited(self, school: School, db: Session) -> None:
        school.quiz.max_attempts = None

        results = [submit(db, school.learner, school.quiz, TWO_RIGHT) for _ in range(5)]

        assert [(r.attempt_number, r.attempts_left) for r in results] == [
            (n, None) for n in range(1, 6)
        ]

    def test_keeps_a_lowered_maximum(self, school: School, db: Session) -> None:
        submit(db, school.learner, school.quiz, TWO_RIGHT)
        submit(db, school.learner, school.quiz, TWO_RIGHT)
        school.quiz.max_attempts = 1

        with pytest.raises(NoAttemptsLeft):
            submit(db, school.learner, school.quiz, ALL_RIGHT)
        view = quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)
        assert view.attempts_left == 0


class TestBestAttemptCounts:
    def test_a_later_fail_keeps_the_pass_and_the_best_score(
        self, school: School, db: Session
    ) -> None:
        submit(db, school.learner, school.quiz, THREE_RIGHT)
        later = submit(db, school.learner, school.quiz, TWO_RIGHT)

        assert (later.passed, later.score, later.best_score) == (
            False,
            Decimal("50.00"),
            Decimal("75.00"),
        )
        view = quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)
        assert (view.best_score, view.passed) == (Decimal("75.00"), True)

    def test_a_later_pass_lifts_the_standing(self, school: School, db: Session) -> None:
        submit(db, school.learner, school.quiz, TWO_RIGHT)
        later = submit(db, school.learner, school.quiz, ALL_RIGHT)

        assert later.best_score == Decimal("100.00")
        view = quiz_for_learner(db, viewer=school.learner, quiz_id=school.quiz.quiz_id)
        assert (view.best_score, view.passed) == (Decimal("100.00"), True)


# -- completing the course --------------------------------------------------------------------


class TestCompletion:
    def test_passing_the_last_quiz_completes_the_course(self, school: School, db: Session) -> None:
        finish_modules(db, school.enrollment, school.module)

        result = submit(db, school.learner, school.quiz, THREE_RIGHT)

        assert result.course_completed is True
        db.refresh(school.enrollment)
        assert school.enrollment.status is EnrollmentStatus.COMPLETED
        assert school.enrollment.completed_at is not None
        events = [event for event, _ in analytics(db, school.learner)]
        assert events == [EventType.QUIZ_PASSED.value, EventType.COURSE_COMPLETED.value]

    def test_a_fail_does_not_complete_it(self, school: School, db: Session) -> None:
        finish_modules(db, school.enrollment, school.module)

        assert submit(db, school.learner, school.quiz, TWO_RIGHT).course_completed is False
        db.refresh(school.enrollment)
        assert school.enrollment.status is EnrollmentStatus.IN_PROGRESS

    def test_a_pass_with_a_module_unfinished_does_not_complete_it(
        self, school: School, db: Session
    ) -> None:
        make_module(db, school.course, position=1)
        finish_modules(db, school.enrollment, school.module)

        assert submit(db, school.learner, school.quiz, ALL_RIGHT).course_completed is False

    def test_another_quiz_still_to_pass_blocks_it(self, school: School, db: Session) -> None:
        make_quiz(db, school.course, title="Final")
        finish_modules(db, school.enrollment, school.module)

        assert submit(db, school.learner, school.quiz, ALL_RIGHT).course_completed is False

    def test_a_draft_quiz_does_not_block_it(self, school: School, db: Session) -> None:
        make_quiz(db, school.course, title="Draft", questions=[])
        finish_modules(db, school.enrollment, school.module)

        assert submit(db, school.learner, school.quiz, ALL_RIGHT).course_completed is True

    def test_completes_it_once(self, school: School, db: Session) -> None:
        finish_modules(db, school.enrollment, school.module)
        submit(db, school.learner, school.quiz, ALL_RIGHT)

        assert submit(db, school.learner, school.quiz, ALL_RIGHT).course_completed is False
        completions = db.scalar(
            select(func.count())
            .select_from(Analytics)
            .where(Analytics.event_type == EventType.COURSE_COMPLETED.value)
        )
        assert completions == 1


# -- concurrency (PostgreSQL) -----------------------------------------------------------------


def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL's row locks are what is under test")


def committed_school(session: Session, *, max_attempts: int | None) -> tuple[int, int]:
    """A learner and a quiz, committed for other connections to see: (learner id, quiz id)."""
    school = School(session)
    school.quiz.max_attempts = max_attempts
    session.commit()
    return school.learner.user_id, school.quiz.quiz_id


def race(*contenders: Callable[[], Any]) -> list[Any]:
    start = threading.Barrier(len(contenders))

    def run(contender: Callable[[], Any]) -> Any:
        start.wait(timeout=10)
        return contender()

    with ThreadPoolExecutor(len(contenders)) as pool:
        return list(pool.map(run, contenders))


class TestConcurrentAttempts:
    def test_racing_submissions_store_at_most_the_maximum(
        self, engine: Engine, session: Session, backend: str
    ) -> None:
        postgresql_only(backend)
        learner_id, quiz_id = committed_school(session, max_attempts=2)
        sessions = sync_session_factory(engine)

        def learner_submits_until_refused() -> list[str]:
            """Submit as a learner does: again after "try again", until stored or out of
            attempts; what each try heard."""
            heard: list[str] = []
            for _ in range(50):
                with sessions() as own:
                    learner = own.get_one(User, learner_id)
                    try:
                        result = submit_attempt(
                            own,
                            learner=learner,
                            quiz_id=quiz_id,
                            answers=ALL_RIGHT,
                            now=utcnow(),
                            base_url=BASE_URL,
                        )
                        own.commit()
                    except (AttemptRaced, NoAttemptsLeft) as refused:
                        own.rollback()
                        heard.append(refused.message)
                        if isinstance(refused, NoAttemptsLeft):
                            return heard
                        continue
                    heard.append(f"stored {result.attempt_number}")
                    return heard
            raise AssertionError(f"never stored nor refused for good: {heard}")

        outcomes = race(*[learner_submits_until_refused] * 8)

        finals = sorted(heard[-1] for heard in outcomes)
        assert finals == ["No attempts left for this quiz"] * 6 + ["stored 1", "stored 2"]
        numbers = session.scalars(
            select(QuizAttempt.attempt_number).where(QuizAttempt.quiz_id == quiz_id)
        ).all()
        assert sorted(numbers) == [1, 2]
        # Every refusal was one of the two conflicts (never a 500 from the unique index).
        refusals = {message for heard in outcomes for message in heard[:-1]}
        assert refusals <= {"Another attempt was submitted at the same time; try again"}
        passes_recorded = session.scalar(
            select(func.count())
            .select_from(Analytics)
            .where(Analytics.event_type == EventType.QUIZ_PASSED.value)
        )
        assert passes_recorded == 2

    def test_each_racer_is_stored_or_told_why_not(
        self, engine: Engine, session: Session, backend: str
    ) -> None:
        postgresql_only(backend)
        learner_id, quiz_id = committed_school(session, max_attempts=2)
        sessions = sync_session_factory(engine)

        def once() -> str:
            with sessions() as own:
                try:
                    submit_attempt(
                        own,
                        learner=own.get_one(User, learner_id),
                        quiz_id=quiz_id,
                        answers=TWO_RIGHT,
                        now=utcnow(),
                        base_url=BASE_URL,
                    )
                    own.commit()
                except DomainError as refused:
                    own.rollback()
                    return f"{refused.status_code} {refused.message}"
                return "stored"

        outcomes = race(*[once] * 6)

        stored = outcomes.count("stored")
        assert 1 <= stored <= 2
        assert set(outcomes) - {"stored"} <= {
            "409 Another attempt was submitted at the same time; try again",
            "409 No attempts left for this quiz",
        }
        count = session.scalar(
            select(func.count()).select_from(QuizAttempt).where(QuizAttempt.quiz_id == quiz_id)
        )
        assert count == stored

    def test_the_loser_of_a_race_writes_nothing(
        self, engine: Engine, session: Session, backend: str
    ) -> None:
        """A submission that read "no attempts yet" while another was being stored meets
        that one's number at the unique index: it waits for it, then inserts nothing."""
        postgresql_only(backend)
        learner_id, quiz_id = committed_school(session, max_attempts=3)
        enrollment_id = session.scalar(
            select(Enrollment.enrollment_id).where(Enrollment.user_id == learner_id)
        )
        sessions = sync_session_factory(engine)
        with sessions() as winner:
            # The other submission: attempt 1, stored but not yet committed.
            winner.execute(
                insert(QuizAttempt).values(
                    enrollment_id=enrollment_id,
                    quiz_id=quiz_id,
                    attempt_number=1,
                    answers=ALL_RIGHT,
                    correct=4,
                    total=4,
                    score=Decimal(100),
                    passed=True,
                )
            )

            def loser() -> str:
                with sessions() as own:
                    try:
                        submit_attempt(
                            own,
                            learner=own.get_one(User, learner_id),
                            quiz_id=quiz_id,
                            answers=TWO_RIGHT,
                            now=utcnow(),
                            base_url=BASE_URL,
                        )
                    except AttemptRaced as refused:
                        own.rollback()
                        return refused.message
                    own.commit()
                    return "stored"

            with ThreadPoolExecutor(1) as pool:
                outcome = pool.submit(loser)
                wait_for(lambda: lock_waiting(session))
                winner.commit()
                heard = outcome.result(timeout=10)

        assert heard == "Another attempt was submitted at the same time; try again"
        rows = session.execute(
            select(QuizAttempt.attempt_number, QuizAttempt.passed).where(
                QuizAttempt.quiz_id == quiz_id
            )
        ).all()
        assert [tuple(row) for row in rows] == [(1, True)]
        assert session.scalar(select(func.count()).select_from(Analytics)) == 0


def lock_waiting(session: Session) -> bool:
    """Whether another connection waits on a lock (the loser's insert on the winner's row)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    waiting = bool(session.scalar(query))
    session.rollback()
    return waiting


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("waited in vain")
        time.sleep(0.02)


class TestConcurrentPasses:
    def test_two_quizzes_passed_at_once_complete_the_course_once(
        self, engine: Engine, session: Session, backend: str
    ) -> None:
        """The learner passes the last two quizzes in two tabs: each submission has stored
        its attempt (its foreign key share-locks the enrollment) when both go on to the
        completion check, which locks the enrollment: neither may deadlock on the other."""
        postgresql_only(backend)
        school = School(session)
        second = make_quiz(session, school.course, title="Final")
        finish_modules(session, school.enrollment, school.module)
        session.commit()
        learner_id, enrollment_id = school.learner.user_id, school.enrollment.enrollment_id
        first_id, second_id = school.quiz.quiz_id, second.quiz_id
        sessions = sync_session_factory(engine)

        with sessions() as other_tab:
            # The second tab's submission, up to its completion check: its attempt stored.
            other_tab.execute(
                insert(QuizAttempt).values(
                    enrollment_id=enrollment_id,
                    quiz_id=second_id,
                    attempt_number=1,
                    answers=ALL_RIGHT,
                    correct=4,
                    total=4,
                    score=Decimal(100),
                    passed=True,
                )
            )

            def first_tab() -> bool:
                with sessions() as own:
                    result = submit_attempt(
                        own,
                        learner=own.get_one(User, learner_id),
                        quiz_id=first_id,
                        answers=ALL_RIGHT,
                        now=utcnow(),
                        base_url=BASE_URL,
                    )
                    own.commit()
                    return result.course_completed

            with ThreadPoolExecutor(1) as pool:
                first = pool.submit(first_tab)
                # The first tab has finished, or waits on the enrollment's lock.
                wait_for(lambda: first.done() or lock_waiting(session))
                completed_second = complete_if_done(
                    other_tab, enrollment_id=enrollment_id, now=utcnow(), base_url=BASE_URL
                )
                other_tab.commit()
                completed_first = first.result(timeout=10)

        # Whichever ran its check last saw both passes: the course is completed, once.
        assert [completed_first, completed_second].count(True) == 1
        status = session.scalar(
            select(Enrollment.status).where(Enrollment.enrollment_id == enrollment_id)
        )
        assert status is EnrollmentStatus.COMPLETED
