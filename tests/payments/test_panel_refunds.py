"""The admin panel's Refund action on the Payments page: the same refund as the API's
(asked of Paystack, confirmed by its webhook), audited, refused in words for a payment
that cannot be refunded, and not offered to instructors."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote_plus

import httpx
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from core.passwords import hash_password
from models import AuditEntry, Payment, PaymentStatus, RefundStatus, Role, User
from tests.models.factories import make_user
from tests.payments.conftest import Platform, Shop, eventually, payment_row

PASSWORD = "panel-password-123"


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)  # once: Argon2 is slow on purpose


def panel(platform: Platform, session: Session, user_id: int, password_hash: str) -> httpx.Client:
    session.execute(update(User).where(User.user_id == user_id).values(password_hash=password_hash))
    session.commit()
    email = session.scalars(select(User.email).where(User.user_id == user_id)).one()
    client = platform.http(follow_redirects=False)
    answer = client.post("/admin/login", data={"username": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.text
    return client


@pytest.fixture
def admin_panel(
    platform: Platform, shop: Shop, session: Session, password_hash: str
) -> Iterator[httpx.Client]:
    client = panel(platform, session, shop.admin, password_hash)
    yield client
    client.close()


def paid_by_card(platform: Platform, shop: Shop, engine: Engine) -> Payment:
    with platform.http() as http:
        answer = http.post(
            "/api/payments/initiate",
            json=shop.card_body("4242424242424242"),
            headers=shop.headers(shop.student),
        )
    assert answer.status_code == 201, answer.text
    return payment_row(engine, answer.json()["data"]["transactionId"])


def refund(client: httpx.Client, payment_id: int) -> str:
    """Run the action as the panel's button does; the page it sends the admin back to."""
    answer = client.get(
        f"/admin/payment-gateway/action/refund?pks={payment_id}",
        headers={"referer": f"{client.base_url}/admin/payment-gateway/list"},
    )
    assert answer.status_code == 302, answer.text
    return unquote_plus(answer.headers["location"])


class TestRefundAction:
    def test_refunds_through_paystack_and_records_who_did_it(
        self, platform: Platform, shop: Shop, admin_panel: httpx.Client, engine: Engine
    ) -> None:
        payment = paid_by_card(platform, shop, engine)

        back = refund(admin_panel, payment.payment_id)

        assert back.endswith("/admin/payment-gateway/list"), back

        def refunded_row() -> Payment | None:
            row = payment_row(engine, payment.transaction_id)
            return row if row.payment_status is PaymentStatus.REFUNDED else None

        refunded = eventually(refunded_row, what="the refund.processed webhook")
        assert refunded.refund_status is RefundStatus.PROCESSED
        with Session(engine) as session:
            entries = session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "refund", AuditEntry.table_name == "payment_gateway"
                )
            ).all()
        assert [(entry.row_id, entry.user_id) for entry in entries] == [
            (str(payment.payment_id), shop.admin)
        ]

    def test_a_payment_that_cannot_be_refunded_is_refused_in_words(
        self, platform: Platform, shop: Shop, admin_panel: httpx.Client, engine: Engine
    ) -> None:
        with platform.http() as http:
            declined = http.post(
                "/api/payments/initiate",
                json=shop.card_body("4084080000005408"),
                headers=shop.headers(shop.student),
            )
        assert declined.status_code == 402
        (failed,) = Session(engine).scalars(select(Payment)).all()

        back = refund(admin_panel, failed.payment_id)

        assert "Only a successful payment can be refunded" in back
        assert payment_row(engine, failed.transaction_id).refund_status is None
        with Session(engine) as session:
            assert (
                session.scalars(select(AuditEntry).where(AuditEntry.action == "refund")).all() == []
            )

    def test_instructors_are_not_offered_it(
        self,
        platform: Platform,
        shop: Shop,
        session: Session,
        password_hash: str,
        engine: Engine,
    ) -> None:
        payment = paid_by_card(platform, shop, engine)
        instructor = make_user(session, role=Role.INSTRUCTOR)
        session.commit()
        client = panel(platform, session, instructor.user_id, password_hash)
        answer = client.get(f"/admin/payment-gateway/action/refund?pks={payment.payment_id}")
        client.close()
        assert answer.status_code in (403, 404)
        assert payment_row(engine, payment.transaction_id).refund_status is None
