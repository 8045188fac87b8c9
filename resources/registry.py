"""The declarations of every model: the data API and the admin panel are built from these.

Catalog tables (courses, their catalog entries, modules, media, quizzes, and users for
admins) are writable here. Workflow tables (enrollments, progress, payments, certificates,
notifications and their log, analytics, OAuth links) are read-only: they change only
through their own endpoints and the domain functions behind them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from sqlalchemy import and_, select

from models import (
    Analytics,
    AuditEntry,
    Certificate,
    CertificateStatus,
    Course,
    CourseCatalog,
    CourseModule,
    CourseReview,
    Enrollment,
    MediaFile,
    Notification,
    NotificationLog,
    Payment,
    PaymentEvent,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    Role,
    User,
    UserAccount,
)
from resources.declaration import (
    EVERYTHING,
    READ,
    Condition,
    Resource,
    Scope,
    all_rows,
    as_clause,
    ops,
)
from services.access import (
    enrolled_courses,
    enrollments_in_own_courses,
    own_courses,
    own_enrollments,
    published_courses,
)
from services.catalog import (
    check_course_instructor_change,
    check_quiz_module,
    create_catalog_entry,
    create_course,
    delete_course,
    delete_module,
    update_catalog_entry,
)
from services.media import add_media, change_media, delete_media
from services.quizzes import Questions
from services.users import create_user_as_admin, delete_user, hash_password_field, update_user

STUDENT, INSTRUCTOR, ADMIN = Role.STUDENT, Role.INSTRUCTOR, Role.ADMIN
EVERYONE_READS = {STUDENT: READ, INSTRUCTOR: READ, ADMIN: READ}


# Columns are typed Any: they are mapped attributes of different models.
def is_self(column: Any) -> Scope:
    return lambda user: column == user.user_id


def self_for_everyone(column: Any) -> dict[Role, Scope]:
    return {STUDENT: is_self(column), INSTRUCTOR: is_self(column), ADMIN: all_rows}


def learners_and_their_teachers(user_column: Any, course_column: Any) -> dict[Role, Scope]:
    """A learner's own records; an instructor's own and those of the learners in their
    courses; everything for admins."""
    return {
        STUDENT: is_self(user_column),
        INSTRUCTOR: lambda user: (
            (user_column == user.user_id) | course_column.in_(own_courses(user))
        ),
        ADMIN: all_rows,
    }


def issued_certificates() -> dict[Role, Scope]:
    """Certificates as ``learners_and_their_teachers`` reach them, once issued: a row still
    issuing (its PDF being rendered) is no learner's or instructor's to see. Admins see it,
    as issuing (a reservation stuck while the store is down is theirs to notice)."""
    reach = learners_and_their_teachers(Certificate.user_id, Certificate.course_id)
    issued = Certificate.status != CertificateStatus.ISSUING

    def only_issued(scope: Scope) -> Scope:
        return lambda user: and_(as_clause(scope(user)), issued)

    return {role: scope if role is ADMIN else only_issued(scope) for role, scope in reach.items()}


def of_enrollments(enrollment_column: Any) -> dict[Role, Scope]:
    """Records of an enrollment (progress, quiz attempts): a learner's own; an instructor's
    own and their learners'; everything for admins."""
    return {
        STUDENT: lambda user: enrollment_column.in_(own_enrollments(user)),
        INSTRUCTOR: lambda user: (
            enrollment_column.in_(own_enrollments(user))
            | enrollment_column.in_(enrollments_in_own_courses(user))
        ),
        ADMIN: all_rows,
    }


def of_enrollments_taught(enrollment_column: Any) -> dict[Role, Scope]:
    """In the panel: the records of the learners in an instructor's courses; all for admins."""
    return {
        INSTRUCTOR: lambda user: enrollment_column.in_(enrollments_in_own_courses(user)),
        ADMIN: all_rows,
    }


def owned_courses(column: Any) -> dict[Role, Scope]:
    """Rows of the instructor's own courses (for writing); admins reach all."""
    return {INSTRUCTOR: lambda user: column.in_(own_courses(user)), ADMIN: all_rows}


def catalog_visible(column: Any, *, student: Literal["published", "enrolled"]) -> dict[Role, Scope]:
    """What each role reads of the catalog side: students the published courses (or, for
    paid content, the courses they are enrolled in); instructors their own courses (and
    the published ones, when students see those too); admins everything."""

    def learner(user: User) -> Condition:
        if student == "published":
            return column.in_(published_courses())  # type: ignore[no-any-return]
        return column.in_(enrolled_courses(user))  # type: ignore[no-any-return]

    def instructor(user: User) -> Condition:
        own = column.in_(own_courses(user))
        if student == "enrolled":
            return own  # type: ignore[no-any-return]
        return own | column.in_(published_courses())  # type: ignore[no-any-return]

    return {STUDENT: learner, INSTRUCTOR: instructor, ADMIN: all_rows}


CATALOG_WRITERS = {STUDENT: READ, INSTRUCTOR: EVERYTHING, ADMIN: EVERYTHING}

RESOURCES: tuple[Resource, ...] = (
    Resource(
        User,
        label="User",
        permissions={STUDENT: READ, INSTRUCTOR: READ, ADMIN: EVERYTHING},
        rows=self_for_everyone(User.user_id),
        hidden=frozenset({"password_hash"}),
        derived=frozenset({"username"}),
        create_with=create_user_as_admin,
        # The last active admin stays; nobody deletes or deactivates their own account.
        update_with=update_user,
        delete_with=delete_user,
        # The new password is hashed in a worker thread, before the unit of work's SQL.
        prepare=hash_password_field,
        extra_create_fields={
            "password": (str | None, Field(default=None, min_length=8, max_length=128)),
        },
        field_rules={"email": {"min_length": 3}, "name": {"min_length": 1}},
    ),
    Resource(
        UserAccount,
        label="OAuth link",
        permissions=EVERYONE_READS,
        rows=self_for_everyone(UserAccount.user_id),
        hidden=frozenset({"access_token", "refresh_token"}),
    ),
    Resource(
        Course,
        permissions=CATALOG_WRITERS,
        rows=catalog_visible(Course.course_id, student="published"),
        writable_rows=owned_courses(Course.course_id),
        panel_rows=owned_courses(Course.course_id),
        owner="instructor_id",
        # Ratings come from learners, not from the course's author.
        read_only=frozenset({"rating"}),
        create_with=create_course,
        delete_with=delete_course,
        validate=check_course_instructor_change,
        field_rules={
            "rating": {"ge": 0, "le": 5},
            "price": {"ge": 0},
            "duration": {"ge": 0},
            "title": {"min_length": 1},
        },
    ),
    Resource(
        CourseCatalog,
        label="Catalog entry",
        name="course-catalog",
        permissions={STUDENT: READ, INSTRUCTOR: ops("list", "read", "update"), ADMIN: EVERYTHING},
        rows=catalog_visible(CourseCatalog.course_id, student="published"),
        writable_rows=owned_courses(CourseCatalog.course_id),
        panel_rows=owned_courses(CourseCatalog.course_id),
        immutable=frozenset({"course_id"}),
        # Publishing has its rule: every side goes through services.catalog.set_published.
        create_with=create_catalog_entry,
        update_with=update_catalog_entry,
    ),
    Resource(
        CourseModule,
        label="Course module",
        permissions=CATALOG_WRITERS,
        rows=catalog_visible(CourseModule.course_id, student="published"),
        writable_rows=owned_courses(CourseModule.course_id),
        panel_rows=owned_courses(CourseModule.course_id),
        immutable=frozenset({"course_id"}),
        delete_with=delete_module,
        field_rules={"position": {"ge": 0}, "duration": {"ge": 0}, "title": {"min_length": 1}},
    ),
    Resource(
        MediaFile,
        label="Media file",
        name="media-repository",
        permissions=CATALOG_WRITERS,
        rows=catalog_visible(MediaFile.course_id, student="enrolled"),
        writable_rows=owned_courses(MediaFile.course_id),
        panel_rows=owned_courses(MediaFile.course_id),
        # The key of the file an upload stored is ours alone: set by the upload, never
        # shown or written (files are served by it, at the row's URL).
        hidden=frozenset({"storage_key"}),
        read_only=frozenset({"index", "instructor_id", "uploaded_at"}),
        immutable=frozenset({"course_id"}),
        # A typed URL is an external link; an upload's type and URL are fixed; a deleted
        # row takes its own file with it.
        create_with=add_media,
        update_with=change_media,
        delete_with=delete_media,
        field_rules={"media_url": {"min_length": 1}},
    ),
    Resource(
        Quiz,
        # Questions carry their answers: learners will take quizzes through their own
        # endpoints, never by reading this table.
        permissions={INSTRUCTOR: EVERYTHING, ADMIN: EVERYTHING},
        rows=catalog_visible(Quiz.course_id, student="enrolled"),
        writable_rows=owned_courses(Quiz.course_id),
        panel_rows=owned_courses(Quiz.course_id),
        immutable=frozenset({"course_id"}),
        validate=check_quiz_module,
        documents={"questions": Questions},
        field_rules={"pass_mark": {"ge": 0, "le": 100}, "title": {"min_length": 1}},
    ),
    Resource(
        Enrollment,
        permissions=EVERYONE_READS,
        rows=learners_and_their_teachers(Enrollment.user_id, Enrollment.course_id),
        panel_rows=owned_courses(Enrollment.course_id),
    ),
    Resource(
        ProgressTracking,
        label="Progress record",
        permissions=EVERYONE_READS,
        rows=of_enrollments(ProgressTracking.enrollment_id),
        panel_rows=of_enrollments_taught(ProgressTracking.enrollment_id),
    ),
    Resource(
        QuizAttempt,
        label="Quiz attempt",
        name="quiz-attempts",
        # Submitted through the quiz endpoints only; a learner's own, their teachers', all.
        permissions=EVERYONE_READS,
        rows=of_enrollments(QuizAttempt.enrollment_id),
        panel_rows=of_enrollments_taught(QuizAttempt.enrollment_id),
    ),
    Resource(
        CourseReview,
        label="Course review",
        name="course-reviews",
        # Written through the review endpoints (they keep the course's rating), moderated by
        # admins in the panel; the public listing is GET /api/courses/{id}/reviews.
        permissions=EVERYONE_READS,
        rows=learners_and_their_teachers(CourseReview.user_id, CourseReview.course_id),
        panel_rows=owned_courses(CourseReview.course_id),
    ),
    Resource(
        Payment,
        label="Payment",
        name="payment-gateway",
        permissions=EVERYONE_READS,
        rows=self_for_everyone(Payment.user_id),
        hidden=frozenset({"card_details"}),
    ),
    Resource(
        PaymentEvent,
        label="Payment event",
        name="payment-events",
        # Paystack's webhooks as they arrived (signature checked), never edited.
        permissions={ADMIN: READ},
        rows={ADMIN: all_rows},
    ),
    Resource(
        Certificate,
        permissions=EVERYONE_READS,
        rows=issued_certificates(),
        panel_rows=owned_courses(Certificate.course_id),
        # Where the PDF is kept is the store's business: clients download it through
        # certificate_url, which checks who asks.
        hidden=frozenset({"file_key"}),
    ),
    Resource(
        Notification,
        permissions=EVERYONE_READS,
        rows=self_for_everyone(Notification.user_id),
    ),
    Resource(
        NotificationLog,
        label="Notification log entry",
        name="notification-log",
        permissions=EVERYONE_READS,
        rows={
            role: (
                lambda user: NotificationLog.notification_id.in_(
                    select(Notification.notification_id).where(Notification.user_id == user.user_id)
                )
            )
            for role in (STUDENT, INSTRUCTOR)
        }
        | {ADMIN: all_rows},
    ),
    Resource(
        Analytics,
        label="Analytics event",
        name="analytics",
        permissions={ADMIN: READ},
        rows={ADMIN: all_rows},
    ),
    Resource(
        AuditEntry,
        label="Audit entry",
        name="audit-log",
        # Written by the admin panel with each change it makes, never edited.
        permissions={ADMIN: READ},
        rows={ADMIN: all_rows},
    ),
)

# Tables the data API leaves out: credentials, and workings with endpoints of their own.
INTERNAL_TABLES = frozenset(
    {
        "refresh_tokens",
        "outbox_events",
        "push_subscriptions",
        "notification_preferences",
        "idempotency_keys",
    }
)
