"""The closed vocabularies of the schema, shared by models, schemas and services."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


class Difficulty(enum.StrEnum):
    BEGINNER = "Beginner"
    INTERMEDIATE = "Intermediate"
    ADVANCED = "Advanced"


class EnrollmentStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    DROPPED = "dropped"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    PAYSTACK = "paystack"


class PaymentStatus(enum.StrEnum):
    # The API contract answers "success" (not the schema note's "completed"); one word
    # everywhere avoids translating between the database and the frontend.
    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"
    REFUNDED = "refunded"


class RefundStatus(enum.StrEnum):
    # Asked of Paystack, then confirmed (processed) or refused (failed) by it.
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class NotificationType(enum.StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"
    PUSH = "push"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class CertificateStatus(enum.StrEnum):
    # Issuing: the row reserves the learner's certificate and its unique id while the PDF is
    # rendered and stored; nobody but the issuer sees it. Valid once its file is stored (in
    # the transaction that names the file); revoked by an admin, still verifiable as such.
    ISSUING = "issuing"
    VALID = "valid"
    REVOKED = "revoked"


class MediaType(enum.StrEnum):
    VIDEO = "video"
    IMAGE = "image"
    DOCUMENT = "document"
