"""Certificates: issued to learners who complete a course, verifiable by anyone.

The Certificate Service arrives with its issue; the event an issued certificate causes is
emitted here, in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.events import EventType
from models import Certificate, Course
from services.notifications import notify


def certificate_issued(session: Session, certificate: Certificate) -> None:
    course = session.get(Course, certificate.course_id)
    title = course.title if course else "your course"
    notify(
        session,
        EventType.CERTIFICATE_ISSUED,
        user_id=certificate.user_id,
        subject=f"Your certificate for {title}",
        message=(
            f"Congratulations on completing {title}! Download your certificate: "
            f"{certificate.certificate_url}. Anyone can verify it at "
            f"{certificate.verification_url}."
        ),
        link=certificate.certificate_url,
    )
