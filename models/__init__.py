"""Every table of the platform. Importing this package registers them all on ``Base.metadata``."""

from models.analytics import Analytics
from models.audit import AuditEntry
from models.auth import RefreshToken
from models.base import Base
from models.certificates import Certificate
from models.courses import Course, CourseCatalog, CourseModule
from models.enrollments import Enrollment, ProgressTracking
from models.enums import (
    CertificateStatus,
    DeliveryStatus,
    Difficulty,
    EnrollmentStatus,
    MediaType,
    NotificationStatus,
    NotificationType,
    PaymentMethod,
    PaymentStatus,
    RefundStatus,
    Role,
)
from models.idempotency import IdempotencyKey
from models.media import MediaFile
from models.notifications import (
    Notification,
    NotificationLog,
    NotificationPreference,
    PushSubscription,
)
from models.outbox import OutboxEvent
from models.payments import Payment, PaymentEvent
from models.quizzes import Quiz, QuizAttempt
from models.reviews import CourseReview
from models.users import User, UserAccount

__all__ = [
    "Analytics",
    "AuditEntry",
    "Base",
    "Certificate",
    "CertificateStatus",
    "Course",
    "CourseCatalog",
    "CourseModule",
    "CourseReview",
    "DeliveryStatus",
    "Difficulty",
    "Enrollment",
    "EnrollmentStatus",
    "IdempotencyKey",
    "MediaFile",
    "MediaType",
    "Notification",
    "NotificationLog",
    "NotificationPreference",
    "NotificationStatus",
    "NotificationType",
    "OutboxEvent",
    "Payment",
    "PaymentEvent",
    "PaymentMethod",
    "PaymentStatus",
    "ProgressTracking",
    "PushSubscription",
    "Quiz",
    "QuizAttempt",
    "RefreshToken",
    "RefundStatus",
    "Role",
    "User",
    "UserAccount",
]
