"""Course reviews: the learner's own (PUT, DELETE) and the public listing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict, StringConstraints, field_serializer

from api.schemas.base import CamelModel
from core.clock import isoformat_z
from models.reviews import COMMENT_MAX
from services.reviews import MAX_RATING, MIN_RATING

# Strict: 2.5, "5" and true are not a number of stars the learner chose.
Rating = Annotated[int, Strict(), Field(ge=MIN_RATING, le=MAX_RATING)]
# Blanks around a comment are not counted against its length (they are not stored).
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=COMMENT_MAX)]


class ReviewWrite(CamelModel):
    """The caller's review, whole: a comment left out is no comment."""

    rating: Rating
    comment: Comment | None = None


class ReviewSaved(CamelModel):
    review_id: int
    course_id: int
    rating: int
    comment: str | None
    # The course's average rating, this review counted (unless a moderator hid it).
    course_rating: float | None
    message: str


class ReviewDeleted(CamelModel):
    course_rating: float | None
    message: str


class ReviewItem(CamelModel):
    review_id: int
    rating: int
    comment: str | None
    reviewer_name: str
    created_at: datetime
    updated_at: datetime

    @field_serializer("created_at", "updated_at")
    def _iso(self, value: datetime) -> str:
        return isoformat_z(value)


class ReviewPage(CamelModel):
    reviews: list[ReviewItem]
    total: int
    limit: int
    offset: int
    # The course's average rating (null: no visible review yet).
    rating: float | None
