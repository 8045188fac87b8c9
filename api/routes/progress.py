"""The Progress Service: a player's report (seed) and where a learner stands (seed, plus the
whole course and each module)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.base import RowId
from api.schemas.learning import ModuleProgressView, ProgressUpdate, ProgressUpdated, ProgressView
from core.clock import utcnow
from services import progress

router = APIRouter(prefix="/api/progress", tags=["progress"])


@router.post(
    "/update",
    response_model=Envelope[ProgressUpdated],
    responses=error_responses(400, 401, 404, 409),
    summary="Record a module's progress (players send it every few seconds): the furthest "
    "point is kept and timeSpent is added to the module's total",
)
async def update_progress(
    body: ProgressUpdate, user: CurrentUser, session: SessionDep, state: StateDep
) -> Envelope[ProgressUpdated]:
    base_url = state.settings.frontend_base
    recorded = await session.run_sync(
        lambda s: progress.record_progress(
            s,
            learner=user,
            enrollment_id=body.enrollment_id,
            module_id=body.module_id,
            fraction=body.progress,
            seconds=body.time_spent,
            now=utcnow(),
            base_url=base_url,
        )
    )
    return ok(
        ProgressUpdated(
            progress_id=recorded.progress_id,
            message="Progress updated successfully",
            course_completed=recorded.completed,
        )
    )


@router.get(
    "/{enrollmentId}",
    response_model=Envelope[ProgressView],
    responses=error_responses(401, 404),
    summary="Where the learner resumes (the module accessed last), the whole course's "
    "progress and each module's (to the learner, the course's instructor, or an admin)",
)
async def get_progress(
    enrollment_id: Annotated[RowId, Path(alias="enrollmentId")],
    user: CurrentUser,
    session: SessionDep,
) -> Envelope[ProgressView]:
    found = await session.run_sync(
        lambda s: progress.progress_of(s, viewer=user, enrollment_id=enrollment_id)
    )
    resume = found.resume
    assert resume.progress_id is not None
    assert resume.last_accessed is not None
    return ok(
        ProgressView(
            progress_id=resume.progress_id,
            enrollment_id=found.enrollment_id,
            module_id=resume.module_id,
            progress=resume.progress,
            last_accessed=resume.last_accessed,
            time_spent=resume.time_spent,
            course_progress=found.course_progress,
            modules=[
                ModuleProgressView(
                    module_id=module.module_id,
                    title=module.title,
                    position=module.position,
                    progress=module.progress,
                    time_spent=module.time_spent,
                    last_accessed=module.last_accessed,
                )
                for module in found.modules
            ],
        )
    )
