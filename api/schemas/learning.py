"""The Enrollment and Progress Services' request and answer shapes (the seed's contract, plus
a learner's list of courses, dropping, and the whole course's progress)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, field_serializer

from api.schemas.base import CamelModel, RowId
from core.clock import isoformat_z
from models import EnrollmentStatus
from services.progress import MAX_SECONDS_PER_UPDATE

Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Timestamped(CamelModel):
    @field_serializer("*", when_used="json")
    def _iso(self, value: object) -> object:
        # The contract's timestamps: UTC, "Z", whole seconds.
        return isoformat_z(value) if isinstance(value, datetime) else value


class EnrollRequest(CamelModel):
    course_id: RowId
    user_id: Annotated[
        RowId | None, Field(description="The learner; the caller when omitted (admins: anyone)")
    ] = None
    payment_id: Annotated[
        RowId | None,
        Field(
            description="The learner's successful payment for a paid course (a pending "
            "Paystack payment is verified first); omitted or null for a free course"
        ),
    ] = None


class EnrollResult(CamelModel):
    enrollment_id: int
    message: str


class EnrollmentView(Timestamped):
    enrollment_id: int
    user_id: int
    course_id: int
    enrollment_date: datetime
    status: EnrollmentStatus
    completed_at: datetime | None = None


class ResumePoint(Timestamped):
    module_id: int
    title: str
    last_accessed: datetime


class EnrollmentItem(Timestamped):
    enrollment_id: int
    course_id: int
    course_title: str
    cover_image_url: str | None
    enrollment_date: datetime
    status: EnrollmentStatus
    completed_at: datetime | None
    progress: float = Field(description="The course's progress, a fraction 0-1")
    resume: ResumePoint | None = Field(description="The module accessed last; null before any")


class EnrollmentPage(CamelModel):
    enrollments: list[EnrollmentItem]
    total: int
    limit: int
    offset: int


class DropResult(CamelModel):
    enrollment_id: int
    status: EnrollmentStatus
    message: str


class ProgressUpdate(CamelModel):
    enrollment_id: RowId
    module_id: RowId
    progress: Annotated[
        Fraction,
        Field(
            description="How far the learner is in the module, a fraction 0-1 (0.75 is 75%). "
            "Never lowers what is stored: a replayed or late report keeps the furthest point."
        ),
    ]
    time_spent: Annotated[
        int,
        Field(
            ge=0,
            le=MAX_SECONDS_PER_UPDATE,
            description="Seconds spent in the module since the previous update (not a "
            f"total): added to the stored total. At most {MAX_SECONDS_PER_UPDATE} per update.",
        ),
    ] = 0


class ProgressUpdated(CamelModel):
    progress_id: int
    message: str
    course_completed: bool = Field(description="This update completed the course")


class ModuleProgressView(Timestamped):
    module_id: int
    title: str
    position: int
    progress: float
    time_spent: int
    last_accessed: datetime | None


class ProgressView(Timestamped):
    """The seed's shape for the module accessed last (where to resume), plus the course."""

    progress_id: int
    enrollment_id: int
    module_id: int
    progress: float
    last_accessed: datetime
    time_spent: int
    course_progress: float = Field(
        description="The whole course, a fraction 0-1: modules weighted by their duration "
        "when every module has one, equally otherwise"
    )
    modules: list[ModuleProgressView] = Field(description="Every module, in course order")
