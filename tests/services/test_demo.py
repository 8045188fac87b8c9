"""The demo platform: every table populated, consistent with the rules, loaded once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import models
from core.passwords import verify_password
from models import (
    Certificate,
    CourseCatalog,
    Enrollment,
    EnrollmentStatus,
    PaymentGateway,
    PaymentStatus,
    Role,
    User,
)
from services.demo import DEMO_LOGINS, seed_demo

# Made by people using the platform (sign-ins, browsers, settings, deliveries), not by demo data.
MADE_BY_USE = {
    "user_accounts",
    "refresh_tokens",
    "push_subscriptions",
    "notification_preferences",
    "outbox_events",
}


def count(session: Session, model: type[models.Base]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_fills_every_table(session: Session) -> None:
    assert seed_demo(session) is True
    for table in models.Base.metadata.sorted_tables:
        if table.name in MADE_BY_USE:
            continue
        rows = session.execute(select(func.count()).select_from(table)).scalar()
        assert rows, f"no demo rows in {table.name}"


def test_demo_is_loaded_only_once(session: Session) -> None:
    assert seed_demo(session) is True
    users = count(session, User)
    assert seed_demo(session) is False
    assert count(session, User) == users


def test_demo_logins_work_with_their_printed_passwords(session: Session) -> None:
    seed_demo(session)
    for login in DEMO_LOGINS:
        user = session.scalars(select(User).where(User.email == login.email)).one()
        assert user.role is login.role
        assert verify_password(login.password, user.password_hash)


def test_demo_data_follows_the_platform_rules(session: Session) -> None:
    seed_demo(session)
    # Every enrollment in a paid course is backed by a successful payment of its price.
    paid = session.execute(
        select(Enrollment, PaymentGateway).join(
            PaymentGateway, Enrollment.payment_id == PaymentGateway.payment_id
        )
    ).all()
    assert paid
    for enrollment, payment in paid:
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert (payment.user_id, payment.course_id) == (enrollment.user_id, enrollment.course_id)
    # Certificates exist exactly for completed enrollments.
    completed = session.execute(
        select(Enrollment.user_id, Enrollment.course_id).where(
            Enrollment.status == EnrollmentStatus.COMPLETED
        )
    ).all()
    certified = session.execute(select(Certificate.user_id, Certificate.course_id)).all()
    assert sorted(completed) == sorted(certified)
    # Some courses are published, at least one is a draft.
    states = set(session.scalars(select(CourseCatalog.is_active)).all())
    assert states == {True, False}
    roles = set(session.scalars(select(User.role)).all())
    assert roles == {Role.ADMIN, Role.INSTRUCTOR, Role.STUDENT}
