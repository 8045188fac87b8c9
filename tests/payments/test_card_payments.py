"""Paying for a course by card (POST /api/payments/initiate with ``method: card``): the card
is checked before any network call, charged on the sandbox, and the answer is final (201
success or 402 declined). A card number and its CVV go to Paystack and nowhere else: not to
a log line, an answer, a table of the platform or the sandbox's state."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from models import Base, Payment, PaymentMethod, PaymentStatus
from services.cards import CardSummary, open_card
from tests.api.helpers import assert_error, data
from tests.fakes.paystack import luhn_completed
from tests.fakes.smtp import SmtpServer
from tests.payments.conftest import (
    APPROVED,
    APPROVED_TOO,
    DECLINED,
    DECLINED_TOO,
    EXPIRY_YEAR,
    INSUFFICIENT_FUNDS,
    Platform,
    Shop,
    analytics_of,
    count,
    mails_to,
    notices_of,
    notifications_of,
    payment_row,
)

INVALID_DETAILS = "Invalid payment details"
# A number of no published test card: the sandbox approves any other valid one. Nothing
# else in the platform or the sandbox could hold these digits by chance.
DISTINCTIVE = luhn_completed("453914880343646")
# CVVs with a leading zero: no integer (an id, a port, an amount) is ever written so.
DISTINCTIVE_CVV = "0871"


def card(number: str = APPROVED, **changes: str) -> dict[str, str]:
    details = {"number": number, "expiryMonth": "12", "expiryYear": EXPIRY_YEAR, "cvv": "408"}
    return details | changes


def sandbox_charges(platform: Platform) -> int:
    return len(platform.sandbox_rows("transactions"))


def last_month(today: date) -> tuple[str, str]:
    month, year = (12, today.year - 1) if today.month == 1 else (today.month - 1, today.year)
    return f"{month:02d}", str(year)


class TestApproved:
    @pytest.mark.parametrize("number", [APPROVED, APPROVED_TOO])
    def test_an_approved_card_pays_at_once(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        smtp_server: SmtpServer,
        number: str,
    ) -> None:
        response = shop.initiate(http, shop.card_body(number))

        started = data(response, 201)
        assert started == {
            "paymentId": started["paymentId"],
            "transactionId": started["transactionId"],
            "status": "success",
            "message": "Card payment processed successfully",
            "amount": 5000.0,
            "currency": "NGN",
        }
        payment = payment_row(engine, started["transactionId"])
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert payment.method is PaymentMethod.CARD
        assert payment.gateway_response == "Approved"
        assert payment.payment_date is not None
        # Only what identifies the card to its owner is kept, sealed.
        assert payment.card_details is not None
        assert open_card(platform.state.cipher, payment.card_details) == CardSummary(
            brand="visa", last4=number[-4:], expiry=f"12/{EXPIRY_YEAR[2:]}"
        )
        charged = platform.sandbox_transaction(started["transactionId"])
        assert charged is not None
        assert charged["amount"] == 500000
        assert charged["status"] == "success"
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        # The receipt, and the welcome of the enrollment the payment made.
        subjects = sorted(mails_to(smtp_server, engine, shop.student, 2))
        (receipt,) = notices_of(engine, payment.payment_id)
        assert receipt.event_type == "payment.succeeded"
        assert subjects[0] == receipt.payload["subject"]
        assert subjects[0].startswith("Receipt: ")
        assert subjects[1].startswith("Welcome to ")
        assert notifications_of(engine, receipt.event_id) == ["email", "in_app"]

    def test_the_sandboxs_webhook_of_the_same_charge_changes_nothing(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        started = data(shop.initiate(http, shop.card_body()), 201)
        reference = started["transactionId"]

        (delivery,) = platform.delivered(reference)
        assert delivery["event"] == "charge.success"

        payment = payment_row(engine, reference)
        assert payment.payment_status is PaymentStatus.SUCCESS
        assert analytics_of(engine, payment.payment_id) == ["payment.succeeded"]
        assert len(notices_of(engine, payment.payment_id)) == 1

    def test_a_card_expiring_this_month_is_still_good(
        self, http: httpx.Client, shop: Shop, platform: Platform
    ) -> None:
        today = utcnow().date()
        this_month = card(expiryMonth=f"{today.month:02d}", expiryYear=str(today.year))

        response = shop.initiate(http, shop.card_body() | {"cardDetails": this_month})

        assert data(response, 201)["status"] == "success"

    def test_a_two_digit_year_is_read_as_this_century(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine
    ) -> None:
        short_year = card(expiryMonth="7", expiryYear=EXPIRY_YEAR[2:])

        started = data(shop.initiate(http, shop.card_body() | {"cardDetails": short_year}), 201)

        sealed = payment_row(engine, started["transactionId"]).card_details
        assert sealed is not None
        assert open_card(platform.state.cipher, sealed).expiry == f"07/{EXPIRY_YEAR[2:]}"


class TestRefused:
    @pytest.mark.parametrize(
        ("number", "gateway_response"),
        [
            pytest.param(DECLINED, "Declined", id="declined"),
            pytest.param(DECLINED_TOO, "Declined", id="declined-too"),
            pytest.param(INSUFFICIENT_FUNDS, "Insufficient Funds", id="insufficient-funds"),
        ],
    )
    def test_a_refused_card_is_a_402_and_a_failed_payment(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        number: str,
        gateway_response: str,
    ) -> None:
        response = shop.initiate(http, shop.card_body(number))

        assert_error(response, 402, "Payment declined")
        with Session(engine) as session:
            (payment,) = session.scalars(select(Payment)).all()
        assert payment.payment_status is PaymentStatus.FAILED
        assert payment.gateway_response == gateway_response
        assert payment.payment_date is not None
        assert analytics_of(engine, payment.payment_id) == ["payment.failed"]
        assert [n.event_type for n in notices_of(engine, payment.payment_id)] == ["payment.failed"]
        # Nothing was taken: the learner may try another card at once.
        assert data(shop.initiate(http, shop.card_body(APPROVED)), 201)["status"] == "success"


MISSING = None
LAST_MONTH = last_month(utcnow().date())
# Per field of cardDetails: what was sent (None: nothing) and what the client is told. The
# month and year of an expired card are sent together as "MM/YYYY".
INVALID_CARDS: dict[str, list[tuple[str | None, str]]] = {
    "number": [
        ("4084 0840 8408 4081", "must be 12 to 19 digits, with no spaces"),
        ("40840840840", "must be 12 to 19 digits, with no spaces"),
        ("408408408408408x", "must be 12 to 19 digits, with no spaces"),
        ("", "must be 12 to 19 digits, with no spaces"),
        ("4084084084084082", "is not a valid card number (check digit)"),
        ("4" * 20, "String should have at most 19 characters"),
        (MISSING, "Field required"),
    ],
    "expiryMonth": [
        ("13", "must be a month from 01 to 12"),
        ("00", "must be a month from 01 to 12"),
        ("1a", "must be a month from 01 to 12"),
        ("123", "String should have at most 2 characters"),
        (MISSING, "Field required"),
    ],
    "expiryYear": [
        ("203", "must be a year of 2 or 4 digits"),
        ("2O30", "must be a year of 2 or 4 digits"),
        ("2020", "the card has expired"),
        ("/".join(LAST_MONTH), "the card has expired"),
        (MISSING, "Field required"),
    ],
    "cvv": [
        ("40", "must be 3 or 4 digits"),
        ("4o8", "must be 3 or 4 digits"),
        ("", "must be 3 or 4 digits"),
        ("40812", "String should have at most 4 characters"),
        (MISSING, "Field required"),
    ],
}


def card_with(field: str, value: str | None) -> dict[str, str]:
    details = card()
    if value is None:
        del details[field]
    elif "/" in value:
        details["expiryMonth"], details[field] = value.split("/")
    else:
        details[field] = value
    return details


class TestInvalidCard:
    @pytest.mark.parametrize("field", list(INVALID_CARDS))
    def test_each_field_is_named_and_nothing_is_charged(
        self, platform: Platform, http: httpx.Client, shop: Shop, engine: Engine, field: str
    ) -> None:
        charges = sandbox_charges(platform)

        for value, problem in INVALID_CARDS[field]:
            sent = shop.card_body() | {"cardDetails": card_with(field, value)}
            response = shop.initiate(http, sent)

            body = assert_error(response, 400, INVALID_DETAILS)
            expected = [{"field": f"cardDetails.{field}", "message": problem}]
            assert body["error"]["details"] == expected, value
        assert count(engine, Payment) == 0
        assert sandbox_charges(platform) == charges


# -- no card number or CVV anywhere ---------------------------------------------------------


class Leaks:
    """Everything written while the test charged cards: answers, log lines (rendered as the
    platform writes them, and the records themselves), every table, the sandbox's files."""

    def __init__(self, numbers: list[str], cvvs: list[str]) -> None:
        self.numbers = numbers
        # A CVV is short: it is found as a whole token, not inside a longer run of characters.
        self.cvvs = {cvv: re.compile(rf"(?<![0-9A-Za-z]){cvv}(?![0-9A-Za-z])") for cvv in cvvs}

    def found_in(self, text: str) -> list[str]:
        """The numbers and CVVs ``text`` holds."""
        found = [number for number in self.numbers if number in text]
        return found + [cvv for cvv, pattern in self.cvvs.items() if pattern.search(text)]


@pytest.fixture
def written_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The platform's log lines exactly as its handler renders them (core/logging.py: one
    structlog-formatted stream handler on the root logger), at every level."""
    caplog.set_level(logging.DEBUG)
    root = logging.getLogger()
    handlers = [h for h in root.handlers if isinstance(h, logging.StreamHandler)]
    handler = next(h for h in handlers if type(h.formatter).__name__ == "ProcessorFormatter")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def table_dump(engine: Engine) -> str:
    lines = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                lines.append(f"{table.name}: {row}")
    return "\n".join(lines)


def sandbox_files(platform: Platform) -> str:
    path = platform.settings.path(platform.settings.paystack.sandbox_path)
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm")]
    return "\n".join(file.read_bytes().decode("latin-1") for file in files if file.exists())


def with_cvv(body: dict[str, Any], cvv: str) -> dict[str, Any]:
    return body | {"cardDetails": body["cardDetails"] | {"cvv": cvv}}


class TestNoCardDataIsKept:
    def test_no_number_or_cvv_in_answers_logs_tables_or_the_sandbox(
        self,
        platform: Platform,
        http: httpx.Client,
        shop: Shop,
        engine: Engine,
        written_logs: io.StringIO,
        caplog: pytest.LogCaptureFixture,
        smtp_server: SmtpServer,
    ) -> None:
        mistyped = DISTINCTIVE[:-1] + str((int(DISTINCTIVE[-1]) + 1) % 10)
        leaks = Leaks(
            [DISTINCTIVE, mistyped, APPROVED_TOO, DECLINED_TOO],
            [DISTINCTIVE_CVV, "0593", "0728"],
        )
        other = shop.other_student
        paying = with_cvv(shop.card_body(DISTINCTIVE), DISTINCTIVE_CVV)
        refused = [
            with_cvv(shop.card_body(DECLINED_TOO), "0593"),  # declined by the bank
            with_cvv(shop.card_body(mistyped), "0593"),  # wrong check digit
            paying | {"cardDetails": paying["cardDetails"] | {"expiryMonth": "13"}},
            paying | {"cardDetails": paying["cardDetails"] | {"expiryYear": "2020"}},
            paying | {"cardDetails": paying["cardDetails"] | {"number": DISTINCTIVE + "0000"}},
            with_cvv(paying, DISTINCTIVE_CVV + "1"),  # one digit too many
        ]
        answers = [shop.initiate(http, body) for body in refused]
        # Paid under an Idempotency-Key, retried under it, then again without one.
        answers += [shop.initiate(http, paying, key="k1") for _ in range(2)]
        answers.append(shop.initiate(http, paying))
        answers.append(
            shop.initiate(
                http, with_cvv(shop.card_body(APPROVED_TOO, userId=other), "0728"), as_user=other
            )
        )
        statuses = [answer.status_code for answer in answers]
        assert statuses == [402, 400, 400, 400, 400, 400, 201, 201, 409, 201]
        references = [answers[6].json()["data"]["transactionId"]]
        references.append(answers[9].json()["data"]["transactionId"])
        for reference in references:
            platform.delivered(reference)
        # A failure notice, a receipt and a welcome; a receipt and a welcome.
        mails_to(smtp_server, engine, shop.student, 3)
        mails_to(smtp_server, engine, other, 2)
        answers.append(http.get("/api/payments", headers=shop.headers(shop.admin)))
        answers.append(
            http.get(f"/api/payments/status/{references[0]}", headers=shop.headers(shop.student))
        )

        for answer in answers:
            assert leaks.found_in(answer.text) == [], answer.text
        rendered = written_logs.getvalue()
        assert "payment settled" in rendered  # the capture works: these are the platform's
        assert leaks.found_in(rendered) == []
        records = "\n".join(f"{record.msg!r} {record.args!r}" for record in caplog.records)
        assert leaks.found_in(records) == []
        dump = table_dump(engine)
        assert all(reference in dump for reference in references)
        assert leaks.found_in(dump) == []
        assert leaks.found_in(sandbox_files(platform)) == []
        mails = "\n".join(mail.as_string() for mail in smtp_server.mailbox.messages)
        assert leaks.found_in(mails) == []
