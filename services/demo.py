"""A realistic demo platform for ``lms run`` and ``lms seed-demo``.

Instructors with published and draft courses, modules and media; students with paid and free
enrollments, progress, certificates, notifications and analytics events. Deterministic (a
fixed random seed) and loaded once: a second call finds the demo admin and does nothing.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import isoformat_z, utcnow
from core.crypto import TokenCipher
from core.events import EventType
from core.money import to_minor_units
from core.passwords import hash_password
from models import (
    Analytics,
    Certificate,
    CertificateStatus,
    Course,
    CourseCatalog,
    CourseModule,
    CourseReview,
    DeliveryStatus,
    Difficulty,
    Enrollment,
    EnrollmentStatus,
    MediaFile,
    MediaType,
    Notification,
    NotificationLog,
    NotificationStatus,
    NotificationType,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
    ProgressTracking,
    Quiz,
    QuizAttempt,
    RefundStatus,
    Role,
    User,
)
from services.audit import record
from services.cards import CardSummary, seal_card
from services.certificates import new_unique_id, verification_url
from services.quizzes import mark
from services.reviews import refresh_rating

# Obviously demo-only credentials, printed by `lms run`; never used outside the embedded default.
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (public demo login)
ADMIN_EMAIL = "admin@learn.example.com"
# A test card's summary: what a card payment keeps (sealed), never a card number.
DEMO_CARD = CardSummary(brand="visa", last4="4081", expiry="12/29")
# Covers and media of the demo are external links (the reserved example.com domain), never
# files of ours: a row names a stored file only when an upload stored it.
DEMO_MEDIA = "https://media.example.com/demo"


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    password: str = DEMO_PASSWORD


DEMO_LOGINS = (
    DemoLogin(Role.ADMIN, ADMIN_EMAIL),
    DemoLogin(Role.INSTRUCTOR, "jane.smith@learn.example.com"),
    DemoLogin(Role.STUDENT, "ada.obi@learn.example.com"),
)

_INSTRUCTORS = [
    ("Jane Smith", "jane.smith"),
    ("John Doe", "john.doe"),
    ("Amara Nwosu", "amara.nwosu"),
]
_STUDENTS = [
    ("Ada Obi", "ada.obi"),
    ("Tunde Bakare", "tunde.bakare"),
    ("Chioma Eze", "chioma.eze"),
    ("Kwame Mensah", "kwame.mensah"),
    ("Fatima Bello", "fatima.bello"),
    ("Lena Fischer", "lena.fischer"),
    ("Ravi Patel", "ravi.patel"),
    ("Sofia Rossi", "sofia.rossi"),
    ("Yusuf Adeyemi", "yusuf.adeyemi"),
    ("Mei Chen", "mei.chen"),
]
# (title, category, difficulty, price, description, module titles)
_COURSES = [
    (
        "Introduction to Python",
        "Programming",
        Difficulty.BEGINNER,
        "49.99",
        "Learn Python basics: values, control flow, functions and files.",
        ["Getting started", "Values and types", "Control flow", "Functions", "Working with files"],
    ),
    (
        "Advanced JavaScript",
        "Programming",
        Difficulty.ADVANCED,
        "79.99",
        "Master JavaScript: closures, the event loop, modules and performance.",
        ["Closures in depth", "The event loop", "Modules and bundling", "Performance"],
    ),
    (
        "SQL for Analysts",
        "Data Science",
        Difficulty.BEGINNER,
        "39.00",
        "Query real data with SQL: joins, grouping and window functions.",
        ["SELECT and WHERE", "Joins", "Grouping", "Window functions"],
    ),
    (
        "Machine Learning Foundations",
        "Data Science",
        Difficulty.INTERMEDIATE,
        "99.00",
        "From linear models to gradient boosting, with honest evaluation.",
        ["Framing a problem", "Linear models", "Trees and ensembles", "Evaluation", "Deployment"],
    ),
    (
        "UI Design Principles",
        "Design",
        Difficulty.BEGINNER,
        "29.99",
        "Layout, typography and colour for interfaces people enjoy.",
        ["Layout and grids", "Typography", "Colour", "Accessibility"],
    ),
    (
        "Figma for Teams",
        "Design",
        Difficulty.INTERMEDIATE,
        "0.00",
        "Components, variants and shared libraries in Figma.",
        ["Components", "Variants", "Libraries"],
    ),
    (
        "Starting a Small Business",
        "Business",
        Difficulty.BEGINNER,
        "0.00",
        "Validate an idea, price it and keep the books straight.",
        ["Validating an idea", "Pricing", "Bookkeeping basics"],
    ),
    (
        "Digital Marketing Essentials",
        "Marketing",
        Difficulty.BEGINNER,
        "35.00",
        "Search, social and email marketing that respects your audience.",
        ["Search", "Social media", "Email campaigns", "Measuring results"],
    ),
    (
        "Cloud Architecture on a Budget",
        "Programming",
        Difficulty.ADVANCED,
        "120.00",
        "Design resilient systems without an enterprise budget.",
        ["Principles", "Storage choices", "Scaling out", "Observability", "Cost control"],
    ),
    (
        "Data Visualisation with Plotly",
        "Data Science",
        Difficulty.INTERMEDIATE,
        "45.00",
        "Charts that tell the truth, built with Plotly and Dash.",
        ["Choosing a chart", "Plotly basics", "Dash apps"],
    ),
    (
        "Negotiation Skills",
        "Business",
        Difficulty.INTERMEDIATE,
        "25.00",
        "Prepare, anchor and close: negotiation as a learnable skill.",
        ["Preparation", "Anchoring", "Closing"],
    ),
    (
        "Brand Storytelling",
        "Marketing",
        Difficulty.ADVANCED,
        "59.00",
        "Draft course: building a brand narrative that lasts.",
        ["Your story", "Your audience"],
    ),
]
# The last course is a draft (catalog entry inactive), as instructors' work in progress is.
_DRAFTS = {"Brand Storytelling"}


def demo_present(session: Session) -> bool:
    return session.scalar(select(User.user_id).where(User.email == ADMIN_EMAIL)) is not None


def _user(name: str, handle: str, role: Role, password_hash: str, rng: random.Random) -> User:
    return User(
        username=handle.replace(".", "_"),
        email=f"{handle}@learn.example.com",
        name=name,
        role=role,
        password_hash=password_hash,
        phone=f"+23480{rng.randint(10_000_000, 99_999_999)}",
        is_verified=True,
    )


def seed_demo(
    session: Session, *, cipher: TokenCipher, public_url: str = "http://127.0.0.1:8000"
) -> bool:
    """Load the demo data; returns False (and changes nothing) when it is already there.

    ``cipher`` (the platform's key) seals the card payments' card details."""
    if demo_present(session):
        return False
    rng = random.Random(2025)  # noqa: S311 (reproducible demo data, not security)
    now = utcnow()
    # One Argon2 hash for every demo account: hashing is deliberately slow.
    password_hash = hash_password(DEMO_PASSWORD)

    admin = User(
        username="admin",
        email=ADMIN_EMAIL,
        name="Platform Admin",
        role=Role.ADMIN,
        password_hash=password_hash,
        is_verified=True,
    )
    instructors = [_user(n, h, Role.INSTRUCTOR, password_hash, rng) for n, h in _INSTRUCTORS]
    students = [_user(n, h, Role.STUDENT, password_hash, rng) for n, h in _STUDENTS]
    session.add_all([admin, *instructors, *students])
    session.flush()

    courses: list[tuple[Course, list[CourseModule]]] = []
    for number, (title, category, difficulty, price, description, module_titles) in enumerate(
        _COURSES
    ):
        instructor = instructors[number % len(instructors)]
        modules = [
            CourseModule(
                title=module_title, position=position, duration=rng.choice([15, 20, 30, 45])
            )
            for position, module_title in enumerate(module_titles)
        ]
        course = Course(
            title=title,
            instructor_id=instructor.user_id,
            duration=sum(module.duration for module in modules),
            category=category,
            cover_image_url=f"{DEMO_MEDIA}/course-{number + 1}/cover.jpg",
            description=description,
            price=Decimal(price),
            difficulty=difficulty,
            created_at=now - timedelta(days=120 - number * 5),
        )
        course.modules = modules
        course.catalog_entry = CourseCatalog(is_active=title not in _DRAFTS)
        session.add(course)
        courses.append((course, modules))
    session.flush()

    for number, (course, _) in enumerate(courses):
        kinds = [MediaType.IMAGE, MediaType.VIDEO, MediaType.DOCUMENT]
        extensions = {MediaType.IMAGE: "jpg", MediaType.VIDEO: "mp4", MediaType.DOCUMENT: "pdf"}
        session.add_all(
            MediaFile(
                course_id=course.course_id,
                instructor_id=course.instructor_id,
                media_type=kind,
                media_url=f"{DEMO_MEDIA}/course-{number + 1}/{index}.{extensions[kind]}",
                index=index,
                uploaded_at=course.created_at + timedelta(hours=index + 1),
            )
            for index, kind in enumerate(kinds)
        )

    quizzes: dict[int, Quiz] = {}
    for course, modules in courses:
        quizzes[course.course_id] = Quiz(
            course_id=course.course_id,
            module_id=modules[-1].module_id,
            title=f"{course.title}: final check",
            pass_mark=70,
            questions=[
                {
                    "question": f"Which module closes {course.title}?",
                    "choices": [m.title for m in modules[-3:]],
                    "answer": min(2, len(modules) - 1),
                },
                {
                    "question": "Is practice part of learning?",
                    "choices": ["Yes", "No"],
                    "answer": 0,
                },
            ],
        )
        session.add(quizzes[course.course_id])
    session.flush()

    published = [(c, m) for c, m in courses if c.title not in _DRAFTS]
    # The admin published them from the panel: the audit log has a history to show.
    for course, _ in published:
        entry = record(
            session, actor=admin, action="publish", table_name="courses", row_id=course.course_id
        )
        entry.created_at = course.created_at + timedelta(days=1)
    for student in students:
        for course, modules in rng.sample(published, k=rng.randint(1, 4)):
            enrollment = _enroll_demo(session, rng, student, course, modules, public_url, cipher)
            _learner_feedback(session, rng, enrollment, quizzes[course.course_id])
    _payment_history(session, cipher, students, [c for c, _ in published if c.price > 0], now)
    session.flush()
    for course, _ in courses:
        refresh_rating(session, course.course_id)
    return True


_REVIEWS = (
    (5, "Clear explanations and exercises that build on each other."),
    (4, "Good pace; I would have liked one more worked example."),
    (5, None),
    (3, "Useful, though the middle modules felt rushed."),
    (4, "Exactly what I needed to get started."),
)


def _learner_feedback(
    session: Session, rng: random.Random, enrollment: Enrollment, quiz: Quiz
) -> None:
    """The quiz attempts and the review of a demo learner: a completed course's quiz was
    passed (after a miss, now and then); half the learners who got going rated the course."""
    right = [question["answer"] for question in quiz.questions]
    wrong = [
        (answer + 1) % len(q["choices"]) for answer, q in zip(right, quiz.questions, strict=True)
    ]
    tries: list[list[int]] = []
    if enrollment.status is EnrollmentStatus.COMPLETED:
        tries = [wrong, right] if rng.random() < 0.3 else [right]
    elif rng.random() < 0.25:
        tries = [wrong]
    for number, answers in enumerate(tries, start=1):
        marked = mark(quiz, answers)
        session.add(
            QuizAttempt(
                enrollment_id=enrollment.enrollment_id,
                quiz_id=quiz.quiz_id,
                attempt_number=number,
                answers=answers,
                correct=marked.correct,
                total=marked.total,
                score=marked.score,
                passed=marked.passed,
                submitted_at=enrollment.enrollment_date + timedelta(days=number + 1),
            )
        )
    started = enrollment.status is EnrollmentStatus.COMPLETED or rng.random() < 0.5
    if started and rng.random() < 0.6:
        rating, comment = rng.choice(_REVIEWS)
        session.add(
            CourseReview(
                enrollment_id=enrollment.enrollment_id,
                course_id=enrollment.course_id,
                user_id=enrollment.user_id,
                rating=rating,
                comment=comment,
                created_at=enrollment.enrollment_date + timedelta(days=3),
                updated_at=enrollment.enrollment_date + timedelta(days=3),
            )
        )


def _demo_payment(
    session: Session,
    cipher: TokenCipher,
    student: User,
    course: Course,
    *,
    method: PaymentMethod,
    status: PaymentStatus,
    at: datetime,
    gateway_response: str | None = None,
) -> Payment:
    # Our references, as the payment flows make them (Paystack knows the payment by it).
    reference = f"tx-demo-{secrets.token_hex(8)}"
    settled = status is not PaymentStatus.PENDING
    payment = Payment(
        user_id=student.user_id,
        course_id=course.course_id,
        amount=course.price,
        currency="NGN",
        transaction_id=reference,
        paystack_reference=reference,
        payment_status=status,
        payment_date=at + timedelta(minutes=1) if settled else None,
        method=method,
        gateway_response=gateway_response or ("Approved" if settled else None),
        created_at=at,
    )
    if method is PaymentMethod.CARD:
        payment.card_details = seal_card(cipher, DEMO_CARD)
    session.add(payment)
    session.flush()
    return payment


def _payment_history(
    session: Session,
    cipher: TokenCipher,
    students: list[User],
    paid_courses: list[Course],
    now: datetime,
) -> None:
    """Payments of every kind for the panel and the dashboards: declined cards, abandoned
    and open checkouts, and refunds (whose learners were dropped from the course)."""
    card, paystack = PaymentMethod.CARD, PaymentMethod.PAYSTACK
    enrolled = {(e.user_id, e.course_id) for e in session.scalars(select(Enrollment))}
    history = (
        (card, PaymentStatus.FAILED, "Declined", 9),
        (card, PaymentStatus.FAILED, "Insufficient Funds", 4),
        (paystack, PaymentStatus.FAILED, "Paystack: abandoned", 12),
        (paystack, PaymentStatus.PENDING, None, 0),
        (card, PaymentStatus.PENDING, None, 0),
    )
    for number, (method, status, response, days) in enumerate(history):
        student = students[number % len(students)]
        course = next(c for c in paid_courses if (student.user_id, c.course_id) not in enrolled)
        enrolled.add((student.user_id, course.course_id))
        at = now - timedelta(days=days, minutes=30)
        _demo_payment(
            session,
            cipher,
            student,
            course,
            method=method,
            status=status,
            at=at,
            gateway_response=response,
        )
    refunds = session.scalars(
        select(Enrollment)
        .where(Enrollment.payment_id.is_not(None))
        .order_by(Enrollment.enrollment_id)
        .limit(2)
    ).all()
    for enrollment, method in zip(refunds, (paystack, card), strict=False):
        payment = session.get(Payment, enrollment.payment_id)
        assert payment is not None
        payment.method = method
        payment.card_details = seal_card(cipher, DEMO_CARD) if method is card else None
        payment.payment_status = PaymentStatus.REFUNDED
        payment.refund_status = RefundStatus.PROCESSED
        payment.refund_reference = f"rf-demo-{secrets.token_hex(4)}"
        payment.refunded_at = enrollment.enrollment_date + timedelta(days=2)
        enrollment.status = EnrollmentStatus.DROPPED
    _webhook_history(session)


def _webhook_history(session: Session) -> None:
    """The webhooks Paystack sent for the demo's settled Paystack payments, as the webhook
    route keeps them (raw, once, with what processing made of them)."""
    settled = session.scalars(
        select(Payment).where(
            Payment.method == PaymentMethod.PAYSTACK,
            Payment.payment_status.in_([PaymentStatus.SUCCESS, PaymentStatus.REFUNDED]),
        )
    ).all()
    for number, payment in enumerate(settled, start=1):
        events = [("charge.success", "success", payment.payment_date)]
        if payment.payment_status is PaymentStatus.REFUNDED:
            events.append(("refund.processed", "processed", payment.refunded_at))
        for event, state, at in events:
            data = {
                "id": 4_000_000 + number,
                "status": state,
                "reference" if event == "charge.success" else "transaction_reference": (
                    payment.transaction_id
                ),
                "amount": to_minor_units(payment.amount, payment.currency),
                "currency": payment.currency,
                "paid_at": isoformat_z(at or payment.created_at),
                "channel": "card",
                "gateway_response": "Approved",
            }
            session.add(
                PaymentEvent(
                    dedupe_key=f"{event}:{data['id']}:{state}",
                    event_type=event,
                    reference=payment.transaction_id,
                    body=json.dumps({"event": event, "data": data}, separators=(",", ":")),
                    received_at=at or payment.created_at,
                    outcome="refunded" if event == "refund.processed" else "settled",
                )
            )


def _enroll_demo(
    session: Session,
    rng: random.Random,
    student: User,
    course: Course,
    modules: list[CourseModule],
    public_url: str,
    cipher: TokenCipher,
) -> Enrollment:
    enrolled_at = utcnow() - timedelta(days=rng.randint(3, 60))
    payment = None
    if course.price > 0:
        payment = _demo_payment(
            session,
            cipher,
            student,
            course,
            method=rng.choice([PaymentMethod.PAYSTACK, PaymentMethod.CARD]),
            status=PaymentStatus.SUCCESS,
            at=enrolled_at - timedelta(minutes=6),
        )

    done = rng.randint(0, len(modules))
    status = EnrollmentStatus.COMPLETED if done == len(modules) else EnrollmentStatus.IN_PROGRESS
    enrollment = Enrollment(
        user_id=student.user_id,
        course_id=course.course_id,
        payment_id=payment.payment_id if payment else None,
        enrollment_date=enrolled_at,
        status=status,
        completed_at=enrolled_at + timedelta(days=len(modules))
        if status is EnrollmentStatus.COMPLETED
        else None,
    )
    session.add(enrollment)
    session.flush()

    for position, module in enumerate(modules[: done + 1]):
        complete = position < done
        session.add(
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=module.module_id,
                progress=Decimal("100") if complete else Decimal(rng.choice([10, 35, 60, 80])),
                last_accessed=enrolled_at + timedelta(days=position + 1),
                time_spent=module.duration * 60 + rng.randint(-120, 600),
            )
        )

    welcome = Notification(
        user_id=student.user_id,
        type=NotificationType.EMAIL,
        message=f"Welcome to {course.title}! Your first module is ready.",
        status=NotificationStatus.SENT,
        created_at=enrolled_at,
    )
    session.add(welcome)
    session.flush()
    session.add(
        NotificationLog(
            notification_id=welcome.notification_id,
            delivery_status=DeliveryStatus.SENT,
            delivered_at=enrolled_at + timedelta(seconds=3),
        )
    )

    events: list[tuple[EventType, dict[str, object]]] = [
        (EventType.ENROLLMENT_CREATED, {"enrollmentId": enrollment.enrollment_id})
    ]
    if payment is not None:
        events.append(
            (
                EventType.PAYMENT_SUCCEEDED,
                {"paymentId": payment.payment_id, "amount": str(payment.amount)},
            )
        )
    events.extend((EventType.MODULE_PROGRESS, {"moduleId": m.module_id}) for m in modules[:done])
    if status is EnrollmentStatus.COMPLETED:
        events.append((EventType.COURSE_COMPLETED, {"enrollmentId": enrollment.enrollment_id}))
    session.add_all(
        Analytics(
            course_id=course.course_id,
            user_id=student.user_id,
            event_type=event_type,
            event_data=data,
            recorded_at=enrolled_at + timedelta(hours=offset),
        )
        for offset, (event_type, data) in enumerate(events)
    )

    if status is EnrollmentStatus.COMPLETED:
        # Reserved as the Certificate Service reserves one: ``issue_owed`` then renders and
        # stores its PDF, as the certificate job would have the day the course was completed.
        unique_id = new_unique_id()
        session.add(
            Certificate(
                user_id=student.user_id,
                course_id=course.course_id,
                unique_id=unique_id,
                status=CertificateStatus.ISSUING,
                learner_name=student.name,
                course_title=course.title,
                issue_date=enrolled_at + timedelta(days=len(modules) + 1),
                verification_url=verification_url(public_url, unique_id),
            )
        )
    return enrollment
