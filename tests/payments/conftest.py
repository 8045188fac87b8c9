"""The platform served over real HTTP on a loopback port, with the offline Paystack sandbox
mounted where its ``paystack.base_url`` points, exactly as ``make run`` serves them: the
platform's Paystack client, the sandbox's signed webhooks and the payer's browser all talk
HTTP. One server per backend for the session; each test gets it with a clean database, a
default sandbox behaviour and fresh rate-limit counters."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.state import AppState
from core.clock import utcnow
from core.ratelimit import MemoryRateLimiter
from core.settings import SANDBOX_MOUNT, Settings
from integrations.paystack import signature
from models import Analytics, Base, Notification, OutboxEvent, Payment, Role, User
from tests.conftest import free_port
from tests.fakes.server import ThreadedServer
from tests.fakes.smtp import SmtpServer
from tests.models.factories import make_course, make_user
from tests.world import token_for

SANDBOX_KEY = "sk_test_not_real"  # base_settings' fake key; the sandbox signs with it too
DEFAULT_BEHAVIOUR = {
    "delaySeconds": 0,
    "failStatus": None,
    "refundOutcome": "processed",
    "webhooks": True,
}
# Short, so a test of Paystack timing out does not wait long (the sandbox sleeps longer).
PAYSTACK_TIMEOUT_SECONDS = 1.0
# Longer than the platform waits for Paystack: the call times out, the sandbox goes on.
SLOW_PAYSTACK_SECONDS = 1.5
WEBHOOK_PATH = "/api/payments/webhooks/paystack"
# Paystack's published test cards, as the sandbox answers them.
APPROVED = "4084084084084081"
APPROVED_TOO = "4242424242424242"
DECLINED = "4084080000005408"
DECLINED_TOO = "4000000000000002"
INSUFFICIENT_FUNDS = "4084080000670037"
TEST_CVV = "408"
# A card that is valid for a few years whatever the date the suite runs on.
EXPIRY_YEAR = str(utcnow().year + 3)
T = TypeVar("T")


def eventually(check: Callable[[], T | None], *, timeout: float = 10.0, what: str = "it") -> T:
    """Poll ``check`` until it answers something truthy (work done after an answer: a
    webhook, a refund), for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def sign(body: bytes) -> str:
    """The ``x-paystack-signature`` Paystack (the sandbox) sends with ``body``."""
    return signature(SANDBOX_KEY, body)


def charge_success(reference: str, **data: Any) -> bytes:
    """A ``charge.success`` webhook body for ``reference`` (5000.00 NGN unless changed)."""
    fields: dict[str, Any] = {
        "id": int(time.monotonic_ns() % 10**12),
        "status": "success",
        "reference": reference,
        "amount": 500000,
        "currency": "NGN",
        "paid_at": "2030-01-01T00:00:00.000Z",
        "gateway_response": "Approved",
    }
    return json.dumps({"event": "charge.success", "data": fields | data}).encode()


# -- reading the platform's database ----------------------------------------------------------


def payment_row(engine: Engine, transaction_id: str) -> Payment:
    with Session(engine) as session:
        return session.scalars(
            select(Payment).where(Payment.transaction_id == transaction_id)
        ).one()


def count(engine: Engine, model: type[Base], *criteria: ColumnElement[bool]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*criteria)) or 0)


def analytics_of(engine: Engine, payment_id: int) -> list[str]:
    """The event types of the analytics records of a payment's own outcome (a success also
    writes the enrollment it made, which names the payment too)."""
    with Session(engine) as session:
        rows = session.scalars(
            select(Analytics)
            .where(Analytics.event_type.like("payment.%"))
            .order_by(Analytics.analytic_id)
        ).all()
    return [row.event_type for row in rows if row.event_data.get("paymentId") == payment_id]


def notices_of(engine: Engine, payment_id: int) -> list[OutboxEvent]:
    """The outbox events telling the payer how a payment ended (receipt, failure, refund)."""
    with Session(engine) as session:
        return list(
            session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.dedupe_key.like(f"payment:{payment_id}:%"))
                .order_by(OutboxEvent.event_id)
            )
        )


def notifications_of(engine: Engine, event_id: int) -> list[str]:
    """The channels an outbox event was turned into notifications on."""
    with Session(engine) as session:
        rows = session.scalars(select(Notification).where(Notification.event_id == event_id))
        return sorted(row.type.value for row in rows)


def mails_to(smtp_server: SmtpServer, engine: Engine, user_id: int, count: int) -> list[str]:
    """The subjects of the emails a user was sent, once ``count`` have arrived (another
    test's late email to its own user does not count)."""
    with Session(engine) as session:
        address = session.get_one(User, user_id).email

    def arrived() -> list[str] | None:
        subjects = [str(mail["Subject"]) for mail in smtp_server.mailbox.to(address)]
        return subjects if len(subjects) >= count else None

    return eventually(arrived, what=f"{count} email(s) to {address}")


def receipt_subject(smtp_server: SmtpServer, engine: Engine, user_id: int) -> str:
    """The subject of a payer's receipt, once it has arrived with the welcome of the
    enrollment the payment made."""
    subjects = mails_to(smtp_server, engine, user_id, 2)
    [receipt] = [subject for subject in subjects if subject.startswith("Receipt: ")]
    return receipt


@dataclass
class Platform:
    base_url: str
    settings: Settings
    state: AppState

    @property
    def sandbox_url(self) -> str:
        return self.base_url + SANDBOX_MOUNT

    def http(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=15, **kwargs)

    def sandbox(self, path: str, method: str = "GET", **kwargs: Any) -> Any:
        """Call the sandbox's own API (behaviour switches, webhook deliveries) as Paystack's
        merchant would, with the secret key; its ``data``."""
        with httpx.Client(timeout=15) as http:
            response = http.request(
                method,
                f"{self.sandbox_url}{path}",
                headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
                **kwargs,
            )
        response.raise_for_status()
        return response.json()["data"]

    def behave(self, **changes: Any) -> None:
        """Switch the sandbox (delaySeconds, failStatus, refundOutcome, webhooks)."""
        self.sandbox("/_sandbox/behaviour", "PUT", json=changes)

    def verify(self, reference: str) -> dict[str, Any]:
        """The sandbox's own word on a transaction (Paystack's verify ``data``)."""
        result: dict[str, Any] = self.sandbox(f"/transaction/verify/{reference}")
        return result

    def deliveries(self, reference: str) -> list[dict[str, Any]]:
        """The webhooks the sandbox recorded for a transaction."""
        found: list[dict[str, Any]] = self.sandbox(
            "/_sandbox/webhooks", params={"reference": reference}
        )
        return found

    def delivered(self, reference: str) -> list[dict[str, Any]]:
        """Wait until the sandbox has posted its webhooks for a transaction (each answered
        2xx); they are posted after its answer."""

        def done() -> list[dict[str, Any]] | None:
            found = self.deliveries(reference)
            return found if found and all(d["outcome"] == "delivered" for d in found) else None

        return eventually(done, what=f"the sandbox's webhooks for {reference}")

    def sandbox_rows(self, table: str) -> list[dict[str, Any]]:
        """Rows of the sandbox's state file (what Paystack knows), read directly."""
        path = self.settings.path(self.settings.paystack.sandbox_path)
        with closing(sqlite3.connect(path)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY id")]

    def sandbox_transaction(self, reference: str) -> dict[str, Any] | None:
        rows = [row for row in self.sandbox_rows("transactions") if row["reference"] == reference]
        return rows[0] if rows else None

    def pay(
        self,
        browser: httpx.Client,
        authorization_url: str,
        number: str = APPROVED,
        *,
        cvv: str = TEST_CVV,
        expiry_month: str = "12",
        expiry_year: str = EXPIRY_YEAR,
    ) -> httpx.Response:
        """The payer submits the sandbox's checkout form (no redirect followed)."""
        form = {
            "card_number": number,
            "expiry_month": expiry_month,
            "expiry_year": expiry_year,
            "cvv": cvv,
        }
        return browser.post(f"{authorization_url}/pay", data=form)

    def post_webhook(
        self, http: httpx.Client, body: bytes, signature: str | None = None
    ) -> httpx.Response:
        """POST a webhook as Paystack does; signed with the platform's key unless a
        ``signature`` is given ("" sends none)."""
        headers = {"Content-Type": "application/json"}
        sent = sign(body) if signature is None else signature
        if sent:
            headers["x-paystack-signature"] = sent
        return http.post(WEBHOOK_PATH, content=body, headers=headers)


@pytest.fixture(scope="session")
def live_platform(
    shared_auth_settings: Settings, shared_smtp_server: SmtpServer
) -> Iterator[Platform]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = shared_auth_settings.model_copy(
        update={
            "app": shared_auth_settings.app.model_copy(update={"public_url": base_url}),
            "paystack": shared_auth_settings.paystack.model_copy(
                update={
                    "base_url": base_url + SANDBOX_MOUNT,
                    "timeout_seconds": PAYSTACK_TIMEOUT_SECONDS,
                    "sandbox_path": shared_auth_settings.var_dir / "live-sandbox.db",
                }
            ),
        }
    )
    app = create_app(settings)
    server = ThreadedServer(app, port)
    server.start()
    yield Platform(base_url=base_url, settings=settings, state=app.state.lms)
    server.stop()


@pytest.fixture
def platform(
    live_platform: Platform, engine: Engine, smtp_server: SmtpServer
) -> Iterator[Platform]:
    """The live platform for one test: the database is emptied after it (``engine``)."""
    live_platform.state.limiter = MemoryRateLimiter()
    live_platform.behave(**DEFAULT_BEHAVIOUR)
    yield live_platform
    live_platform.behave(**DEFAULT_BEHAVIOUR)
    # A webhook the sandbox is still posting would land in the next test's database.
    eventually(
        lambda: all(d["outcome"] != "pending" for d in live_platform.sandbox("/_sandbox/webhooks")),
        what="the sandbox's last webhooks to be delivered",
    )


@pytest.fixture
def http(platform: Platform) -> Iterator[httpx.Client]:
    """A client of the platform's API (redirects are not followed: tests read them)."""
    with platform.http() as client:
        yield client


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    """The payer's browser on Paystack's (the sandbox's) checkout pages."""
    with httpx.Client(timeout=15) as client:
        yield client


@dataclass
class Shop:
    """A published paid course, a student who may buy it, an admin, and their tokens."""

    student: int
    other_student: int
    admin: int
    course: int
    price: Decimal
    tokens: dict[int, str]

    def headers(self, user_id: int, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user_id]}"} | extra

    def initiate(
        self,
        http: httpx.Client,
        body: dict[str, Any],
        *,
        as_user: int | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        """POST /api/payments/initiate as ``as_user`` (the student unless said), under the
        Idempotency-Key ``key`` if given."""
        headers = self.headers(self.student if as_user is None else as_user)
        if key is not None:
            headers["Idempotency-Key"] = key
        return http.post("/api/payments/initiate", json=body, headers=headers)

    def paystack_body(self, **changes: Any) -> dict[str, Any]:
        body = {
            "userId": self.student,
            "courseId": self.course,
            "amount": float(self.price),
            "method": "paystack",
        }
        return body | changes

    def card_body(self, number: str = "4084084084084081", **changes: Any) -> dict[str, Any]:
        card = {"number": number, "expiryMonth": "12", "expiryYear": EXPIRY_YEAR, "cvv": TEST_CVV}
        body = {
            "userId": self.student,
            "courseId": self.course,
            "amount": float(self.price),
            "method": "card",
            "cardDetails": card,
        }
        return body | changes


@pytest.fixture
def shop(session: Session) -> Shop:
    student = make_user(session)
    other = make_user(session)
    admin = make_user(session, role=Role.ADMIN)
    # make_course publishes it (an active catalog entry).
    course = make_course(session, price=Decimal("5000.00"))
    session.commit()
    users: list[User] = [student, other, admin]
    tokens = {user.user_id: token_for(session, user.user_id) for user in users}
    return Shop(
        student=student.user_id,
        other_student=other.user_id,
        admin=admin.user_id,
        course=course.course_id,
        price=course.price,
        tokens=tokens,
    )
