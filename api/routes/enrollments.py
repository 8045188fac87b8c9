"""The Enrollment Service: enroll (seed), an enrollment (seed), the learner's courses, and
dropping a course.

Enrolling may ask Paystack about a pending payment first, so it writes through short units
of work (``UnitsDep``), never holding a transaction open across the call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep, UnitsDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.base import Offset, RowId
from api.schemas.learning import (
    DropResult,
    EnrollmentItem,
    EnrollmentPage,
    EnrollmentView,
    EnrollRequest,
    EnrollResult,
    ResumePoint,
)
from core.clock import utcnow
from models import Enrollment, EnrollmentStatus
from services import enrollment_flows, enrollments

router = APIRouter(prefix="/api/enrollments", tags=["enrollments"])

EnrollmentId = Annotated[RowId, Path(alias="id")]


@router.post(
    "/enroll",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[EnrollResult],
    responses=error_responses(400, 401, 402, 403, 404, 409)
    | {
        200: {
            "description": "Already enrolled with this very payment (a successful payment "
            "enrolls its learner): the same enrollment, nothing written"
        }
    },
    summary="Enroll in a published course: free, or with the learner's successful payment",
)
async def enroll(
    body: EnrollRequest, user: CurrentUser, units: UnitsDep, state: StateDep
) -> JSONResponse:
    enrolled = await enrollment_flows.enroll(
        units,
        state.payment_gateways,
        actor=user,
        user_id=body.user_id or user.user_id,
        course_id=body.course_id,
        payment_id=body.payment_id,
    )
    data = EnrollResult(enrollment_id=enrolled.enrollment_id, message="Enrollment successful")
    code = status.HTTP_201_CREATED if enrolled.created else status.HTTP_200_OK
    return JSONResponse(ok(data).model_dump(mode="json", by_alias=True), status_code=code)


def _view(enrollment: Enrollment) -> EnrollmentView:
    return EnrollmentView(
        enrollment_id=enrollment.enrollment_id,
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        enrollment_date=enrollment.enrollment_date,
        status=enrollment.status,
        completed_at=enrollment.completed_at,
    )


@router.get(
    "",
    response_model=Envelope[EnrollmentPage],
    responses=error_responses(400, 401),
    summary="The caller's enrollments, newest first, with each course's progress and where "
    "to resume",
)
async def my_enrollments(
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    enrollment_status: Annotated[EnrollmentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int | None, Query(ge=1, description="Page size, at most 100")] = None,
    offset: Annotated[Offset, Query()] = 0,
) -> Envelope[EnrollmentPage]:
    size = state.settings.api.page_size(limit)
    rows, total = await session.run_sync(
        lambda s: enrollments.my_enrollments(
            s, learner=user, status=enrollment_status, limit=size, offset=offset
        )
    )
    items = [
        EnrollmentItem(
            enrollment_id=row.enrollment.enrollment_id,
            course_id=row.enrollment.course_id,
            course_title=row.course_title,
            cover_image_url=row.cover_image_url,
            enrollment_date=row.enrollment.enrollment_date,
            status=row.enrollment.status,
            completed_at=row.enrollment.completed_at,
            progress=row.progress,
            resume=ResumePoint(
                module_id=row.resume.module_id,
                title=row.resume.title,
                last_accessed=row.resume.last_accessed,
            )
            if row.resume
            else None,
        )
        for row in rows
    ]
    return ok(EnrollmentPage(enrollments=items, total=total, limit=size, offset=offset))


@router.get(
    "/{id}",
    response_model=Envelope[EnrollmentView],
    responses=error_responses(401, 404),
    summary="An enrollment (to its learner, the course's instructor, or an admin)",
)
async def get_enrollment(
    enrollment_id: EnrollmentId, user: CurrentUser, session: SessionDep
) -> Envelope[EnrollmentView]:
    enrollment = await session.run_sync(
        lambda s: enrollments.enrollment_for(s, viewer=user, enrollment_id=enrollment_id)
    )
    return ok(_view(enrollment))


@router.post(
    "/{id}/drop",
    response_model=Envelope[DropResult],
    responses=error_responses(401, 403, 404, 409),
    summary="Leave a course (the learner, or an admin): reminders stop, progress is kept "
    "for a return",
)
async def drop(
    enrollment_id: EnrollmentId, user: CurrentUser, session: SessionDep
) -> Envelope[DropResult]:
    enrollment = await session.run_sync(
        lambda s: enrollments.drop(s, actor=user, enrollment_id=enrollment_id, now=utcnow())
    )
    return ok(
        DropResult(
            enrollment_id=enrollment.enrollment_id,
            status=enrollment.status,
            message="Enrollment dropped",
        )
    )
