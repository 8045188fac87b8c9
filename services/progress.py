"""Progress: how far a learner is in each module of a course, where they resume, how far
they are in the course as a whole, and the rule that completes an enrollment.

The API speaks fractions (0-1, as the contract's examples); the database keeps percentages
(0-100, as its schema says): :func:`to_percent` and :func:`to_fraction` are the one place
that converts. Recording progress is the platform's hottest write (players send it every
few seconds): one upsert that also checks the enrollment and the module, and one analytics
row; only a module reaching 100% costs more (the completion check).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, NoReturn

from sqlalchemy import Float, and_, case, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.database import rows_changed
from core.errors import Conflict, InvalidInput, NotFound
from core.events import EventType
from core.sql import json_array_length
from models import (
    Course,
    CourseModule,
    Enrollment,
    EnrollmentStatus,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    User,
)
from services.access import visible_enrollment
from services.analytics import record, record_in_module
from services.notifications import notify

FULL = Decimal(100)
_CENTS = Decimal("0.01")
# The most one update may add to a module's time: players report every few seconds; an
# hour covers a long pause between reports, anything more is a client's bug.
MAX_SECONDS_PER_UPDATE = 3600


class EnrollmentNotFound(NotFound):
    message = "Enrollment not found"


class ProgressNotFound(NotFound):
    message = "Progress not found"


class EnrollmentDropped(Conflict):
    message = "This enrollment was dropped: enroll again to continue the course"


def to_percent(fraction: float) -> Decimal:
    """A fraction (0-1) as the stored percentage, cut (never rounded up) to two decimals: a
    module at 0.99999 is not complete."""
    return (Decimal(str(fraction)) * FULL).quantize(_CENTS, rounding=ROUND_DOWN)


def to_fraction(percent: Decimal | float | None) -> float:
    return round(float(percent or 0) / 100, 4)


# -- recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    progress_id: int
    percent: Decimal
    # This update completed the enrollment.
    completed: bool


def record_progress(
    session: Session,
    *,
    learner: User,
    enrollment_id: int,
    module_id: int,
    fraction: float,
    seconds: int,
    now: datetime,
    base_url: str,
) -> Recorded:
    """Record what the learner's player reports: the module's progress (kept if lower than
    what is stored: progress never goes backwards), ``seconds`` more time spent in it, and
    the moment. The enrollment must be the learner's, not dropped; the module its course's."""
    if not 0 <= fraction <= 1:
        raise InvalidInput("must be a fraction between 0 and 1", field="progress")
    if not 0 <= seconds <= MAX_SECONDS_PER_UPDATE:
        raise InvalidInput(
            f"must be between 0 and {MAX_SECONDS_PER_UPDATE} seconds", field="time_spent"
        )
    percent = to_percent(fraction)
    row = session.execute(
        _upsert(session, learner.user_id, enrollment_id, module_id, percent, seconds, now)
    ).one_or_none()
    if row is None:
        _refuse(session, learner=learner, enrollment_id=enrollment_id)
    progress_id, stored = row
    record_in_module(
        session,
        EventType.MODULE_PROGRESS,
        user_id=learner.user_id,
        module_id=module_id,
        data={"enrollmentId": enrollment_id, "moduleId": module_id, "progress": fraction}
        | {"timeSpent": seconds},
    )
    completed = Decimal(stored) >= FULL and complete_if_done(
        session, enrollment_id=enrollment_id, now=now, base_url=base_url
    )
    return Recorded(progress_id=progress_id, percent=Decimal(stored), completed=completed)


def _upsert(
    session: Session,
    learner_id: int,
    enrollment_id: int,
    module_id: int,
    percent: Decimal,
    seconds: int,
    now: datetime,
) -> Any:
    """INSERT ... SELECT ... ON CONFLICT DO UPDATE: the SELECT yields a row only for the
    learner's own live enrollment and a module of its course, so the checks and the write
    are one statement; concurrent updates of one row queue on its lock and each adds its
    seconds (none is lost)."""
    table = ProgressTracking.__table__
    source = (
        select(
            literal(enrollment_id),
            literal(module_id),
            literal(percent, table.c.progress.type),
            literal(now, table.c.last_accessed.type),
            literal(seconds),
        )
        .select_from(Enrollment)
        .join(CourseModule, CourseModule.course_id == Enrollment.course_id)
        .where(
            Enrollment.enrollment_id == enrollment_id,
            Enrollment.user_id == learner_id,
            Enrollment.status != EnrollmentStatus.DROPPED,
            CourseModule.module_id == module_id,
        )
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ProgressTracking).from_select(
        ["enrollment_id", "module_id", "progress", "last_accessed", "time_spent"], source
    )
    incoming = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["enrollment_id", "module_id"],
        set_={
            "progress": case(
                (incoming.progress > ProgressTracking.progress, incoming.progress),
                else_=ProgressTracking.progress,
            ),
            "time_spent": ProgressTracking.time_spent + incoming.time_spent,
            "last_accessed": incoming.last_accessed,
        },
    ).returning(ProgressTracking.progress_id, ProgressTracking.progress)


def _refuse(session: Session, *, learner: User, enrollment_id: int) -> NoReturn:
    """Why the upsert wrote nothing (the rare path: one more query to say which rule)."""
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.user_id != learner.user_id:
        raise EnrollmentNotFound()
    if enrollment.status is EnrollmentStatus.DROPPED:
        raise EnrollmentDropped()
    raise InvalidInput("is not a module of this enrollment's course", field="module_id")


# -- completing -------------------------------------------------------------------------------


def complete_if_done(session: Session, *, enrollment_id: int, now: datetime, base_url: str) -> bool:
    """Complete the enrollment if every module of its course is at 100% and every quiz (with
    questions) is passed: once, with its analytics record and a ``course.completed`` event.

    Callers run it after writing a module at 100% or a passed quiz. The enrollment's row is
    locked first, so of two final updates racing the second waits, then sees the first's
    write (PostgreSQL's READ COMMITTED reads anew per statement): never zero completions;
    the status condition makes it never two."""
    course_id = session.scalar(
        select(Enrollment.course_id)
        .where(Enrollment.enrollment_id == enrollment_id)
        # FOR NO KEY UPDATE: the progress rows just written hold KEY SHARE locks on the
        # enrollment (their foreign key), which FOR UPDATE would wait on: a deadlock.
        .with_for_update(key_share=True)
    )
    if course_id is None:
        return False
    module_done = exists().where(
        ProgressTracking.enrollment_id == enrollment_id,
        ProgressTracking.module_id == CourseModule.module_id,
        ProgressTracking.progress >= FULL,
    )
    quiz_passed = exists().where(
        QuizAttempt.enrollment_id == enrollment_id,
        QuizAttempt.quiz_id == Quiz.quiz_id,
        QuizAttempt.passed.is_(True),
    )
    modules = select(CourseModule.module_id).where(CourseModule.course_id == course_id)
    # A quiz without questions is a draft: it neither counts nor blocks.
    quizzes = select(Quiz.quiz_id).where(
        Quiz.course_id == course_id, json_array_length(session, Quiz.questions) > 0
    )
    changed = rows_changed(
        session,
        update(Enrollment)
        .where(
            Enrollment.enrollment_id == enrollment_id,
            Enrollment.status == EnrollmentStatus.IN_PROGRESS,
            or_(exists(modules), exists(quizzes)),
            ~exists(modules.where(~module_done)),
            ~exists(quizzes.where(~quiz_passed)),
        )
        .values(status=EnrollmentStatus.COMPLETED, completed_at=now),
    )
    if not changed:
        return False
    _completed(session, enrollment_id=enrollment_id, course_id=course_id, base_url=base_url)
    return True


def _completed(session: Session, *, enrollment_id: int, course_id: int, base_url: str) -> None:
    learner_id, title = session.execute(
        select(Enrollment.user_id, Course.title)
        .join(Course, Course.course_id == Enrollment.course_id)
        .where(Enrollment.enrollment_id == enrollment_id)
    ).one()
    data = {"enrollmentId": enrollment_id}
    record(session, EventType.COURSE_COMPLETED, user_id=learner_id, course_id=course_id, data=data)
    notify(
        session,
        EventType.COURSE_COMPLETED,
        user_id=learner_id,
        subject=f"You completed {title}",
        message=f"Congratulations: you finished every module and quiz of {title}.",
        link=f"{base_url}/courses/{course_id}",
        dedupe_key=f"course-completed:{enrollment_id}",
        enrollment_id=enrollment_id,
        course_id=course_id,
    )


# -- reading ------------------------------------------------------------------------------------


def course_progress(session: Session, enrollment_ids: list[int]) -> dict[int, float]:
    """Each enrollment's progress in its course as a fraction: the average of its modules'
    progress, weighted by their duration when every module of the course has one (equal
    weights otherwise); a course without modules is at 0. One query for any number."""
    if not enrollment_ids:
        return {}
    done = cast(func.coalesce(ProgressTracking.progress, 0), Float)
    rows = (
        select(
            Enrollment.enrollment_id.label("enrollment_id"),
            done.label("done"),
            CourseModule.duration.label("duration"),
            func.min(CourseModule.duration)
            .over(partition_by=Enrollment.enrollment_id)
            .label("shortest"),
        )
        .join(CourseModule, CourseModule.course_id == Enrollment.course_id)
        .outerjoin(
            ProgressTracking,
            and_(
                ProgressTracking.enrollment_id == Enrollment.enrollment_id,
                ProgressTracking.module_id == CourseModule.module_id,
            ),
        )
        .where(Enrollment.enrollment_id.in_(enrollment_ids))
        .subquery()
    )
    weight = case((rows.c.shortest > 0, rows.c.duration), else_=1)
    percent = func.sum(rows.c.done * weight) / func.sum(weight)
    found = session.execute(
        select(rows.c.enrollment_id, percent).group_by(rows.c.enrollment_id)
    ).all()
    by_id = {enrollment_id: to_fraction(value) for enrollment_id, value in found}
    return {enrollment_id: by_id.get(enrollment_id, 0.0) for enrollment_id in enrollment_ids}


@dataclass(frozen=True)
class ModuleProgress:
    module_id: int
    title: str
    position: int
    progress: float
    time_spent: int
    last_accessed: datetime | None
    progress_id: int | None


@dataclass(frozen=True)
class Progress:
    """Where the learner resumes (the module accessed last), and the whole course."""

    enrollment_id: int
    resume: ModuleProgress
    course_progress: float
    modules: list[ModuleProgress]


def progress_of(session: Session, *, viewer: User, enrollment_id: int) -> Progress:
    """An enrollment's progress, to its learner, the course's instructor or an admin."""
    enrollment = visible_enrollment(session, viewer=viewer, enrollment_id=enrollment_id)
    if enrollment is None:
        raise ProgressNotFound()
    modules = module_progress(session, enrollment)
    started = [module for module in modules if module.last_accessed is not None]
    if not started:
        raise ProgressNotFound()
    resume = max(started, key=lambda module: (module.last_accessed, module.position))
    overall = course_progress(session, [enrollment_id])[enrollment_id]
    return Progress(
        enrollment_id=enrollment_id, resume=resume, course_progress=overall, modules=modules
    )


def module_progress(session: Session, enrollment: Enrollment) -> list[ModuleProgress]:
    """Every module of the enrollment's course, in course order, with the learner's progress."""
    rows = session.execute(
        select(
            CourseModule.module_id,
            CourseModule.title,
            CourseModule.position,
            ProgressTracking.progress_id,
            ProgressTracking.progress,
            ProgressTracking.time_spent,
            ProgressTracking.last_accessed,
        )
        .outerjoin(
            ProgressTracking,
            and_(
                ProgressTracking.module_id == CourseModule.module_id,
                ProgressTracking.enrollment_id == enrollment.enrollment_id,
            ),
        )
        .where(CourseModule.course_id == enrollment.course_id)
        .order_by(CourseModule.position)
    ).all()
    return [
        ModuleProgress(
            module_id=module_id,
            title=title,
            position=position,
            progress=to_fraction(percent),
            time_spent=time_spent or 0,
            last_accessed=last_accessed,
            progress_id=progress_id,
        )
        for module_id, title, position, progress_id, percent, time_spent, last_accessed in rows
    ]
