"""The demo platform: every table populated, consistent with the rules, loaded once."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import models
from core.crypto import TokenCipher
from core.passwords import verify_password
from core.settings import Settings
from core.urls import is_web_url
from models import (
    Certificate,
    Course,
    CourseCatalog,
    Enrollment,
    EnrollmentStatus,
    MediaFile,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Role,
    User,
)
from services.cards import open_card
from services.demo import DEMO_CARD, DEMO_LOGINS, seed_demo

# Made by people using the platform (sign-ins, browsers, settings, deliveries), not by demo data.
MADE_BY_USE = {
    "user_accounts",
    "refresh_tokens",
    "push_subscriptions",
    "notification_preferences",
    "outbox_events",
    "idempotency_keys",
}


@pytest.fixture
def cipher(settings: Settings) -> TokenCipher:
    return TokenCipher.from_settings(settings)


def count(session: Session, model: type[models.Base]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_fills_every_table(session: Session, cipher: TokenCipher) -> None:
    assert seed_demo(session, cipher=cipher) is True
    for table in models.Base.metadata.sorted_tables:
        if table.name in MADE_BY_USE:
            continue
        rows = session.execute(select(func.count()).select_from(table)).scalar()
        assert rows, f"no demo rows in {table.name}"


def test_demo_is_loaded_only_once(session: Session, cipher: TokenCipher) -> None:
    assert seed_demo(session, cipher=cipher) is True
    users = count(session, User)
    assert seed_demo(session, cipher=cipher) is False
    assert count(session, User) == users


def test_demo_logins_work_with_their_printed_passwords(
    session: Session, cipher: TokenCipher
) -> None:
    seed_demo(session, cipher=cipher)
    for login in DEMO_LOGINS:
        user = session.scalars(select(User).where(User.email == login.email)).one()
        assert user.role is login.role
        assert verify_password(login.password, user.password_hash)


def test_demo_data_follows_the_platform_rules(session: Session, cipher: TokenCipher) -> None:
    seed_demo(session, cipher=cipher)
    # Every enrollment in a paid course is backed by a successful payment of its price, or
    # by a refunded one, and then the learner was dropped from the course.
    paid = session.execute(
        select(Enrollment, Payment).join(Payment, Enrollment.payment_id == Payment.payment_id)
    ).all()
    assert paid
    for enrollment, payment in paid:
        assert (payment.user_id, payment.course_id) == (enrollment.user_id, enrollment.course_id)
        assert payment.amount == session.get(Course, payment.course_id).price  # type: ignore[union-attr]
        if payment.payment_status is PaymentStatus.REFUNDED:
            assert enrollment.status is EnrollmentStatus.DROPPED
        else:
            assert payment.payment_status is PaymentStatus.SUCCESS
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


def test_demo_links_are_external_and_name_none_of_our_files(
    session: Session, cipher: TokenCipher
) -> None:
    # The URL rules the API enforces (core/urls.py, services/media.check_link) hold for the
    # demo too: covers and media are outside http(s) links, never our own /media route.
    seed_demo(session, cipher=cipher)
    urls = [
        *session.scalars(select(Course.cover_image_url)).all(),
        *session.scalars(select(MediaFile.media_url)).all(),
    ]
    assert urls
    for url in urls:
        assert url is not None
        assert is_web_url(url), url
        assert "/media/" not in urlsplit(url).path, url
    assert session.scalar(select(func.count()).where(MediaFile.storage_key.is_not(None))) == 0


def test_demo_card_payments_keep_only_a_sealed_summary(
    session: Session, cipher: TokenCipher
) -> None:
    seed_demo(session, cipher=cipher)
    rows = session.execute(
        text("SELECT method, card_details FROM payment_gateway WHERE card_details IS NOT NULL")
    ).all()
    assert {method for method, _ in rows} == {PaymentMethod.CARD.value}
    for _, stored in rows:
        # A Fernet token is url-safe base64: no JSON, no "12/29" can be in it.
        assert isinstance(stored, str)
        assert not set(stored) & set('{}":/ ')
        assert open_card(cipher, stored) == DEMO_CARD
    card_payments = session.scalar(select(func.count()).where(Payment.method == PaymentMethod.CARD))
    assert len(rows) == card_payments


def test_demo_has_payments_of_every_method_and_outcome(
    session: Session, cipher: TokenCipher
) -> None:
    seed_demo(session, cipher=cipher)
    kinds = set(session.execute(select(Payment.method, Payment.payment_status)).tuples())
    assert kinds == {(method, status) for method in PaymentMethod for status in PaymentStatus}
    # Every reference is one Paystack would accept, and Paystack knows the payment by it.
    for transaction_id, reference in session.execute(
        select(Payment.transaction_id, Payment.paystack_reference)
    ):
        assert transaction_id == reference
        assert all(c.isalnum() or c in "-.=" for c in transaction_id)
