"""Quizzes for learners: a course's quizzes and one quiz without their answers, attempts,
scores. The rules (who sees a quiz, the attempt limit, scoring) are ``services.quizzes``'."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.base import RowId
from api.schemas.quizzes import (
    AttemptList,
    AttemptRead,
    AttemptResult,
    AttemptSubmit,
    QuestionRead,
    QuizList,
    QuizRead,
)
from core.clock import utcnow
from services import quizzes as service

router = APIRouter(prefix="/api/quizzes", tags=["quizzes"])

QuizId = Annotated[RowId, Path(alias="quizId")]


def _read(view: service.QuizView) -> QuizRead:
    return QuizRead(
        quiz_id=view.quiz_id,
        course_id=view.course_id,
        module_id=view.module_id,
        title=view.title,
        pass_mark=view.pass_mark,
        max_attempts=view.max_attempts,
        questions=[QuestionRead(question=q.question, choices=q.choices) for q in view.questions],
        attempts_used=view.attempts_used,
        attempts_left=view.attempts_left,
        best_score=None if view.best_score is None else float(view.best_score),
        passed=view.passed,
    )


@router.get(
    "",
    response_model=Envelope[QuizList],
    responses=error_responses(400, 401, 404, 409),
    summary="A course's quizzes, without their answers, with the caller's standing in each",
)
async def list_quizzes(
    user: CurrentUser,
    session: SessionDep,
    course_id: Annotated[RowId, Query(alias="courseId")],
) -> Envelope[QuizList]:
    views = await session.run_sync(
        lambda s: service.quizzes_for(s, viewer=user, course_id=course_id)
    )
    return ok(QuizList(quizzes=[_read(view) for view in views]))


@router.get(
    "/{quizId}",
    response_model=Envelope[QuizRead],
    responses=error_responses(400, 401, 404, 409),
    summary="One quiz, without its answers, with the caller's attempts used and best score",
)
async def get_quiz(quiz_id: QuizId, user: CurrentUser, session: SessionDep) -> Envelope[QuizRead]:
    view = await session.run_sync(
        lambda s: service.quiz_for_learner(s, viewer=user, quiz_id=quiz_id)
    )
    return ok(_read(view))


@router.post(
    "/{quizId}/attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[AttemptResult],
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Submit an attempt (one choice index per question): its score and pass or fail",
)
async def submit_attempt(
    quiz_id: QuizId, body: AttemptSubmit, user: CurrentUser, session: SessionDep, state: StateDep
) -> Envelope[AttemptResult]:
    base_url = state.settings.frontend_base
    result = await session.run_sync(
        lambda s: service.submit_attempt(
            s, learner=user, quiz_id=quiz_id, answers=body.answers, now=utcnow(), base_url=base_url
        )
    )
    return ok(
        AttemptResult(
            attempt_id=result.attempt_id,
            attempt_number=result.attempt_number,
            score=float(result.score),
            correct=result.correct,
            total=result.total,
            passed=result.passed,
            pass_mark=result.pass_mark,
            attempts_left=result.attempts_left,
            best_score=float(result.best_score),
            course_completed=result.course_completed,
        )
    )


@router.get(
    "/{quizId}/attempts",
    response_model=Envelope[AttemptList],
    responses=error_responses(400, 401, 404, 409),
    summary="The caller's own attempts at a quiz, newest first",
)
async def my_attempts(
    quiz_id: QuizId, user: CurrentUser, session: SessionDep
) -> Envelope[AttemptList]:
    rows = await session.run_sync(lambda s: service.attempts_of(s, viewer=user, quiz_id=quiz_id))
    return ok(AttemptList(attempts=[AttemptRead.model_validate(row) for row in rows]))
