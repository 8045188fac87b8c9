"""The platform's events: one closed vocabulary for the outbox and the analytics table.

A domain change names what happened with one of these. The outbox carries it to the worker,
whose routing table (``jobs/events.py``) says which handlers run for it; the analytics table
keeps it as a usage record. Names are ``<domain>.<what happened>``, lower case, past tense
where they report a fact. Adding an event is a line here, a line in the routing table (or in
``ANALYTICS_ONLY``), and the code that emits it.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    # Accounts: the emails that carry a single-use token (always sent, by email only).
    ACCOUNT_PASSWORD_RESET = "account.password_reset"  # noqa: S105 (an event name)
    ACCOUNT_VERIFY_EMAIL = "account.verify_email"
    # Learning: a learner joined a course (or left it), made progress in a module, took a
    # quiz, finished the course, was reminded of it, reviewed it.
    ENROLLMENT_CREATED = "enrollment.created"
    ENROLLMENT_DROPPED = "enrollment.dropped"
    MODULE_PROGRESS = "module.progress"
    QUIZ_PASSED = "quiz.passed"
    QUIZ_FAILED = "quiz.failed"
    COURSE_COMPLETED = "course.completed"
    COURSE_REMINDER = "course.reminder"
    REVIEW_POSTED = "review.posted"
    # Money: a payment settled one way or the other, or was given back.
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_REFUNDED = "payment.refunded"
    # Certificates: issued to a learner, revoked or re-issued (a corrected name) by an admin.
    CERTIFICATE_ISSUED = "certificate.issued"
    CERTIFICATE_REVOKED = "certificate.revoked"
    CERTIFICATE_REISSUED = "certificate.reissued"
    # Someone asked for a notification to be sent (POST /api/notifications/send).
    NOTIFICATION_REQUESTED = "notification.requested"


# Recorded in the analytics table only: nothing is delivered for them.
ANALYTICS_ONLY: frozenset[EventType] = frozenset(
    {
        EventType.ENROLLMENT_DROPPED,
        EventType.MODULE_PROGRESS,
        EventType.QUIZ_PASSED,
        EventType.QUIZ_FAILED,
        EventType.REVIEW_POSTED,
        EventType.CERTIFICATE_REVOKED,
        EventType.CERTIFICATE_REISSUED,
    }
)

# Account emails go out whatever the user's preferences say, by email only; each names the
# email template that carries its link.
ACCOUNT_EMAILS: dict[EventType, str] = {
    EventType.ACCOUNT_PASSWORD_RESET: "password_reset",
    EventType.ACCOUNT_VERIFY_EMAIL: "verify_email",
}
