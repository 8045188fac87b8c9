"""Course reviews: a learner's rating and comment, the public listing.

The rules (who may review, one review per enrollment, the course's average) are
``services.reviews``'; admins moderate in the panel (``admin.overrides.reviews``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.orm import Session

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.base import Offset, RowId
from api.schemas.reviews import ReviewDeleted, ReviewItem, ReviewPage, ReviewSaved, ReviewWrite
from models import CourseReview
from services import reviews as service

router = APIRouter(prefix="/api/courses", tags=["reviews"])

CourseId = Annotated[RowId, Path(alias="courseId")]


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


@router.put(
    "/{courseId}/review",
    response_model=Envelope[ReviewSaved],
    responses={
        status.HTTP_201_CREATED: {"model": Envelope[ReviewSaved], "description": "Created"},
        **error_responses(400, 401, 403, 404),
    },
    summary="Rate the course (1-5) with an optional comment: the caller's one review, "
    "created (201) or edited (200)",
)
async def put_review(
    course_id: CourseId,
    body: ReviewWrite,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
) -> Envelope[ReviewSaved]:
    def save(s: Session) -> tuple[CourseReview, bool, Decimal | None]:
        review, created = service.post_review(
            s, learner=user, course_id=course_id, rating=body.rating, comment=body.comment
        )
        return review, created, service.course_rating(s, course_id)

    review, created, rating = await session.run_sync(save)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return ok(
        ReviewSaved(
            review_id=review.review_id,
            course_id=review.course_id,
            rating=review.rating,
            comment=review.comment,
            course_rating=_number(rating),
            message="Review saved",
        )
    )


@router.delete(
    "/{courseId}/review",
    response_model=Envelope[ReviewDeleted],
    responses=error_responses(400, 401, 404),
    summary="Remove the caller's review of the course",
)
async def delete_review(
    course_id: CourseId, user: CurrentUser, session: SessionDep
) -> Envelope[ReviewDeleted]:
    rating = await session.run_sync(
        lambda s: service.delete_own_review(s, learner=user, course_id=course_id)
    )
    return ok(ReviewDeleted(course_rating=_number(rating), message="Review deleted"))


@router.get(
    "/{courseId}/reviews",
    response_model=Envelope[ReviewPage],
    responses=error_responses(400, 404),
    summary="A published course's reviews, newest first, and its rating (public)",
)
async def list_reviews(
    course_id: CourseId,
    session: SessionDep,
    state: StateDep,
    limit: Annotated[int | None, Query(ge=1, description="Page size, at most 100")] = None,
    offset: Annotated[Offset, Query()] = 0,
) -> Envelope[ReviewPage]:
    size = state.settings.api.page_size(limit)
    page = await session.run_sync(
        lambda s: service.reviews_page(s, course_id=course_id, limit=size, offset=offset)
    )
    items = [ReviewItem.model_validate(review) for review in page.reviews]
    return ok(
        ReviewPage(
            reviews=items, total=page.total, limit=size, offset=offset, rating=_number(page.rating)
        )
    )
