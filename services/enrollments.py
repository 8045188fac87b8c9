"""Enrollments: who may join a course and with which payment, leaving it and coming back,
a learner's list of courses, the welcome, and the nudges when they go quiet.

"A student may not enroll twice" is decided by the unique (user_id, course_id) constraint:
the insert races to it, so of concurrent requests exactly one enrolls. A dropped enrollment
is the same row, made live again by a conditional UPDATE (one winner there too): progress,
attempts and the review stay with it. "One payment pays for one enrollment" is the unique
index on payment_id. The API (``services.enrollment_flows``), the admin panel and the
payments domain (a successful payment enrolls its learner) all come here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from core.database import rows_changed
from core.errors import Conflict, Forbidden, InvalidInput, PaymentRequired
from core.events import EventType
from core.sql import insert_unless_present
from models import (
    Course,
    CourseModule,
    Enrollment,
    EnrollmentStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    ProgressTracking,
    Role,
    User,
)
from services.access import published_course, visible_enrollment
from services.analytics import record
from services.notifications import notify
from services.progress import EnrollmentNotFound, course_progress

IN_PROGRESS, COMPLETED, DROPPED = (
    EnrollmentStatus.IN_PROGRESS,
    EnrollmentStatus.COMPLETED,
    EnrollmentStatus.DROPPED,
)

__all__ = ["EnrollmentNotFound"]


class AlreadyEnrolled(Conflict):
    message = "User already enrolled"


class PaymentNeeded(PaymentRequired):
    message = "This course is paid: pay for it, then enroll with the payment's id"


class PaymentNotSettled(PaymentRequired):
    message = "The payment has not succeeded"


class NotDroppable(Conflict):
    message = "A completed course cannot be dropped"


# -- enrolling ----------------------------------------------------------------------------------


class Admission(StrEnum):
    """What an attempt to enroll came to."""

    ENROLLED = "enrolled"
    # A dropped enrollment made live again.
    RETURNED = "returned"
    # Already enrolled with this very payment (a successful payment enrolls its learner).
    SAME_PAYMENT = "same_payment"
    ALREADY = "already"


@dataclass(frozen=True)
class Enrolled:
    enrollment_id: int
    admission: Admission

    @property
    def created(self) -> bool:
        return self.admission in (Admission.ENROLLED, Admission.RETURNED)


def enroll(
    session: Session,
    *,
    actor: User,
    user_id: int,
    course_id: int,
    payment_id: int | None,
    now: datetime,
    base_url: str,
) -> Enrolled:
    """Enroll ``user_id`` in a published course: a student enrolls themselves, an admin
    anyone; a paid course needs the learner's successful payment for it, a free one none.
    Enrolling again with the payment that already enrolled them answers with that enrollment
    (idempotent); any other second enrollment is refused."""
    learner = _learner(session, actor=actor, user_id=user_id)
    course = published_course(session, course_id)
    if course.price > 0:
        _check_payment(session, learner_id=learner.user_id, course_id=course_id, id_=payment_id)
    elif payment_id is not None:
        raise InvalidInput("must be null: this course is free", field="payment_id")
    enrolled = admit(
        session,
        user_id=learner.user_id,
        course_id=course_id,
        payment_id=payment_id,
        now=now,
        base_url=base_url,
    )
    if enrolled.admission is Admission.ALREADY:
        raise AlreadyEnrolled()
    return enrolled


def _learner(session: Session, *, actor: User, user_id: int) -> User:
    if actor.user_id == user_id:
        return actor
    if actor.role is not Role.ADMIN:
        raise Forbidden()
    learner = session.get(User, user_id)
    if learner is None:
        raise InvalidInput("is not a user of the platform", field="user_id")
    return learner


def _check_payment(session: Session, *, learner_id: int, course_id: int, id_: int | None) -> None:
    if id_ is None:
        raise PaymentNeeded()
    payment = session.get(Payment, id_)
    if payment is None:
        raise InvalidInput("is not a payment", field="payment_id")
    if payment.user_id != learner_id:
        raise InvalidInput("was made by another user", field="payment_id")
    if payment.course_id != course_id:
        raise InvalidInput("is for another course", field="payment_id")
    if payment.payment_status is not PaymentStatus.SUCCESS:
        raise PaymentNotSettled(f"The payment has not succeeded (it is {payment.payment_status})")
    # The learner's own enrollment in this course may hold it (enrolling again with it is
    # answered with that enrollment); any other holder is another enrollment (the unique
    # index on payment_id would refuse the write anyway, with less to say).
    used_elsewhere = session.scalar(
        select(Enrollment.enrollment_id).where(
            Enrollment.payment_id == id_,
            (Enrollment.user_id != learner_id) | (Enrollment.course_id != course_id),
        )
    )
    if used_elsewhere is not None:
        raise InvalidInput("is already used by another enrollment", field="payment_id")


def payment_to_verify(
    session: Session, *, actor: User, user_id: int, course_id: int, payment_id: int
) -> Payment | None:
    """The payment to ask Paystack about before enrolling with it: the learner's own
    pending checkout for this course. None otherwise (``enroll`` then says what is wrong)."""
    if actor.user_id != user_id and actor.role is not Role.ADMIN:
        return None
    payment = session.get(Payment, payment_id)
    if (
        payment is None
        or payment.user_id != user_id
        or payment.course_id != course_id
        or payment.method is not PaymentMethod.PAYSTACK
        or payment.payment_status is not PaymentStatus.PENDING
    ):
        return None
    return payment


def admit(
    session: Session,
    *,
    user_id: int,
    course_id: int,
    payment_id: int | None,
    now: datetime,
    base_url: str,
) -> Enrolled:
    """Write the enrollment, once, whatever the number of concurrent callers: with its
    analytics record and its welcome, in the caller's transaction. The rules are the
    caller's (``enroll``; or a payment that has just succeeded)."""
    values = {
        "user_id": user_id,
        "course_id": course_id,
        "payment_id": payment_id,
        "enrollment_date": now,
        "status": IN_PROGRESS,
    }
    new_id = insert_unless_present(session, Enrollment, values, unique=["user_id", "course_id"])
    if new_id is not None:
        return _welcomed(session, new_id, Admission.ENROLLED, base_url=base_url)
    existing = session.scalars(
        select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)
    ).one()
    returned = rows_changed(
        session,
        update(Enrollment)
        .where(Enrollment.enrollment_id == existing.enrollment_id, Enrollment.status == DROPPED)
        .values(status=IN_PROGRESS, payment_id=payment_id, enrollment_date=now),
    )
    if returned:
        session.refresh(existing)
        return _welcomed(session, existing.enrollment_id, Admission.RETURNED, base_url=base_url)
    session.refresh(existing)
    if payment_id is not None and existing.payment_id == payment_id:
        return Enrolled(existing.enrollment_id, Admission.SAME_PAYMENT)
    return Enrolled(existing.enrollment_id, Admission.ALREADY)


def _welcomed(
    session: Session, enrollment_id: int, admission: Admission, *, base_url: str
) -> Enrolled:
    enrollment = session.get(Enrollment, enrollment_id)
    assert enrollment is not None
    record(
        session,
        EventType.ENROLLMENT_CREATED,
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        data={
            "enrollmentId": enrollment_id,
            "paymentId": enrollment.payment_id,
            "returning": admission is Admission.RETURNED,
        },
    )
    enrollment_created(session, enrollment, base_url=base_url)
    return Enrolled(enrollment_id, admission)


def enroll_paid(session: Session, payment: Payment, *, now: datetime, base_url: str) -> Enrolled:
    """A payment has just succeeded: its learner is enrolled in its course (or back in it),
    unless they already are (then nothing changes: a course paid twice is flagged for a
    refund by the payments domain)."""
    return admit(
        session,
        user_id=payment.user_id,
        course_id=payment.course_id,
        payment_id=payment.payment_id,
        now=now,
        base_url=base_url,
    )


def enrollment_created(session: Session, enrollment: Enrollment, *, base_url: str) -> None:
    course = session.get(Course, enrollment.course_id)
    assert course is not None
    notify(
        session,
        EventType.ENROLLMENT_CREATED,
        user_id=enrollment.user_id,
        subject=f"Welcome to {course.title}",
        message=f"You are enrolled in {course.title}. Your first module is ready when you are.",
        link=f"{base_url}/courses/{course.course_id}",
    )


# -- reading -----------------------------------------------------------------------------------


def enrollment_for(session: Session, *, viewer: User, enrollment_id: int) -> Enrollment:
    """The enrollment, to its learner, the course's instructor or an admin."""
    enrollment = visible_enrollment(session, viewer=viewer, enrollment_id=enrollment_id)
    if enrollment is None:
        raise EnrollmentNotFound()
    return enrollment


@dataclass(frozen=True)
class Resume:
    module_id: int
    title: str
    last_accessed: datetime


@dataclass(frozen=True)
class EnrollmentSummary:
    enrollment: Enrollment
    course_title: str
    cover_image_url: str | None
    progress: float
    resume: Resume | None


def my_enrollments(
    session: Session,
    *,
    learner: User,
    status: EnrollmentStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[EnrollmentSummary], int]:
    """The learner's enrollments, newest first, each with its course, its progress and where
    to resume: four queries whatever the page size."""
    conditions: list[Any] = [Enrollment.user_id == learner.user_id]
    if status is not None:
        conditions.append(Enrollment.status == status)
    total = session.scalar(select(func.count(Enrollment.enrollment_id)).where(*conditions)) or 0
    rows = session.execute(
        select(Enrollment, Course.title, Course.cover_image_url)
        .join(Course, Course.course_id == Enrollment.course_id)
        .where(*conditions)
        .order_by(Enrollment.enrollment_date.desc(), Enrollment.enrollment_id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [enrollment.enrollment_id for enrollment, _, _ in rows]
    progress = course_progress(session, ids)
    resume = _resume_points(session, ids)
    page = [
        EnrollmentSummary(
            enrollment=enrollment,
            course_title=title,
            cover_image_url=cover,
            progress=progress[enrollment.enrollment_id],
            resume=resume.get(enrollment.enrollment_id),
        )
        for enrollment, title, cover in rows
    ]
    return page, int(total)


def _resume_points(session: Session, enrollment_ids: list[int]) -> dict[int, Resume]:
    """Per enrollment, the module its learner accessed last."""
    if not enrollment_ids:
        return {}
    latest = (
        select(
            ProgressTracking.enrollment_id,
            ProgressTracking.module_id,
            ProgressTracking.last_accessed,
            func.row_number()
            .over(
                partition_by=ProgressTracking.enrollment_id,
                order_by=(ProgressTracking.last_accessed.desc(), ProgressTracking.progress_id),
            )
            .label("rank"),
        )
        .where(ProgressTracking.enrollment_id.in_(enrollment_ids))
        .subquery()
    )
    rows = session.execute(
        select(
            latest.c.enrollment_id, latest.c.module_id, CourseModule.title, latest.c.last_accessed
        )
        .join(CourseModule, CourseModule.module_id == latest.c.module_id)
        .where(latest.c.rank == 1)
    ).all()
    return {
        enrollment_id: Resume(module_id=module_id, title=title, last_accessed=accessed)
        for enrollment_id, module_id, title, accessed in rows
    }


# -- leaving -------------------------------------------------------------------------------------


def drop(session: Session, *, actor: User, enrollment_id: int, now: datetime) -> Enrollment:
    """The learner (or an admin) leaves the course: reminders stop; progress is kept for a
    return. Dropping a dropped enrollment changes nothing; a completed one stays completed."""
    enrollment = enrollment_for(session, viewer=actor, enrollment_id=enrollment_id)
    if actor.role is not Role.ADMIN and enrollment.user_id != actor.user_id:
        raise Forbidden()
    if enrollment.status is COMPLETED:
        raise NotDroppable()
    changed = rows_changed(
        session,
        update(Enrollment)
        .where(Enrollment.enrollment_id == enrollment_id, Enrollment.status == IN_PROGRESS)
        .values(status=DROPPED),
    )
    session.refresh(enrollment)
    if changed:
        _dropped(
            session,
            enrollment,
            reason="admin" if actor.user_id != enrollment.user_id else "learner",
        )
    elif enrollment.status is COMPLETED:
        # Completed by a concurrent final update after our read.
        raise NotDroppable()
    return enrollment


def drop_after_refund(session: Session, *, user_id: int, course_id: int) -> None:
    """The learner's money for the course is back with them: they leave it (a completed
    course stays completed: its certificate is a separate decision)."""
    enrollment = session.scalars(
        select(Enrollment).where(
            Enrollment.user_id == user_id,
            Enrollment.course_id == course_id,
            Enrollment.status == IN_PROGRESS,
        )
    ).one_or_none()
    if enrollment is None:
        return
    if rows_changed(
        session,
        update(Enrollment)
        .where(
            Enrollment.enrollment_id == enrollment.enrollment_id, Enrollment.status == IN_PROGRESS
        )
        .values(status=DROPPED),
    ):
        _dropped(session, enrollment, reason="refund")


def _dropped(session: Session, enrollment: Enrollment, *, reason: str) -> None:
    record(
        session,
        EventType.ENROLLMENT_DROPPED,
        user_id=enrollment.user_id,
        course_id=enrollment.course_id,
        data={"enrollmentId": enrollment.enrollment_id, "reason": reason},
    )


# -- reminders ---------------------------------------------------------------------------------


def last_activity() -> Any:
    """Per enrollment, the last time its learner did something (progress, or enrolling)."""
    return (
        select(
            ProgressTracking.enrollment_id.label("enrollment_id"),
            func.max(ProgressTracking.last_accessed).label("last_accessed"),
        )
        .group_by(ProgressTracking.enrollment_id)
        .subquery()
    )


def remind_idle_learners(
    session: Session, *, now: datetime, idle_days: int, period_days: int, base_url: str
) -> int:
    """Nudge learners whose in-progress enrollment has been idle for ``idle_days``: at most
    one reminder per enrollment per period of ``period_days``. Dropped and completed
    enrollments are never reminded."""
    latest = last_activity()
    cutoff = now - timedelta(days=idle_days)
    # Coming back to a course (a new enrollment date) counts as activity too.
    activity = func.coalesce(latest.c.last_accessed, Enrollment.enrollment_date)
    rows = session.execute(
        select(Enrollment.enrollment_id, Enrollment.user_id, Course.course_id, Course.title)
        .join(Course, Course.course_id == Enrollment.course_id)
        .join(User, User.user_id == Enrollment.user_id)
        .outerjoin(latest, latest.c.enrollment_id == Enrollment.enrollment_id)
        .where(
            and_(
                Enrollment.status == IN_PROGRESS,
                User.is_active.is_(True),
                activity < cutoff,
                Enrollment.enrollment_date < cutoff,
            )
        )
    ).all()
    period = int(now.timestamp() // (period_days * 86400))
    sent = 0
    for enrollment_id, user_id, course_id, title in rows:
        event = notify(
            session,
            EventType.COURSE_REMINDER,
            user_id=user_id,
            subject=f"Pick up {title} where you left off",
            message=f"It has been a while since you worked on {title}. Your place is saved.",
            link=f"{base_url}/courses/{course_id}",
            dedupe_key=f"reminder:{enrollment_id}:{period}",
        )
        sent += event is not None
    return sent
