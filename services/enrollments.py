"""Enrollments: a learner in a course, their welcome, and the nudges when they go quiet.

The Enrollment Service's endpoints arrive with their issue; the events an enrollment causes
are emitted here, in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.events import EventType
from models import Course, Enrollment, EnrollmentStatus, ProgressTracking, User
from services.notifications import notify


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
    one reminder per enrollment per period of ``period_days``."""
    latest = last_activity()
    cutoff = now - timedelta(days=idle_days)
    activity = func.coalesce(latest.c.last_accessed, Enrollment.enrollment_date)
    rows = session.execute(
        select(Enrollment.enrollment_id, Enrollment.user_id, Course.course_id, Course.title)
        .join(Course, Course.course_id == Enrollment.course_id)
        .join(User, User.user_id == Enrollment.user_id)
        .outerjoin(latest, latest.c.enrollment_id == Enrollment.enrollment_id)
        .where(
            and_(
                Enrollment.status == EnrollmentStatus.IN_PROGRESS,
                User.is_active.is_(True),
                activity < cutoff,
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
