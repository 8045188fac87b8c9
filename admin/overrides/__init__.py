"""The models whose panel view does more than its declaration: actions and uploads, one
module per domain.

Each action calls the domain function the API calls, inside one unit of work with its audit
entry. A domain that needs more than its generated view adds a module here and a line to
``OVERRIDES``.
"""

from __future__ import annotations

from typing import Any

from admin.overrides.certificates import CertificateView
from admin.overrides.courses import CourseView
from admin.overrides.enrollments import EnrollmentView
from admin.overrides.media import MediaView
from admin.overrides.notifications import NotificationView
from admin.overrides.payments import PaymentView
from admin.overrides.reviews import ReviewView
from admin.overrides.users import UserView
from admin.views import ResourceView
from models import (
    Certificate,
    Course,
    CourseReview,
    Enrollment,
    MediaFile,
    Notification,
    Payment,
    User,
)

OVERRIDES: dict[type[Any], type[ResourceView]] = {
    Course: CourseView,
    User: UserView,
    Notification: NotificationView,
    MediaFile: MediaView,
    Payment: PaymentView,
    Enrollment: EnrollmentView,
    CourseReview: ReviewView,
    Certificate: CertificateView,
}

__all__ = ["OVERRIDES"]
