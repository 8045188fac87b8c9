"""The hosted checkout a person pays on: Paystack's payment page, offline.

Pages are Jinja2 templates in ``templates/paystack_sandbox/`` (autoescaped, inline CSS only).
Form actions are paths built from the request (``url_for``), so they keep the prefix the
sandbox is mounted under. The card entered is checked and dropped: the page never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.settings import PROJECT_ROOT
from integrations.paystack_sandbox.cards import (
    TEST_CARDS,
    TEST_CVV,
    InvalidCard,
    Outcome,
    read_card,
)
from integrations.paystack_sandbox.payments import Sandbox
from integrations.paystack_sandbox.store import Transaction

TEMPLATES = PROJECT_ROOT / "templates" / "paystack_sandbox"
OUTCOME_LABELS = {
    Outcome.APPROVED: ("Approved", "good"),
    Outcome.DECLINED: ("Declined", "bad"),
    Outcome.INSUFFICIENT_FUNDS: ("Insufficient funds", "warn"),
}
DECLINE_MESSAGES = {
    Outcome.DECLINED: "Your card was declined (Declined). Try another card.",
    Outcome.INSUFFICIENT_FUNDS: (
        "Your card has insufficient funds (Insufficient Funds). Try another card."
    ),
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
    )


def content_security_policy() -> str:
    """Inline styles only, nothing loaded from anywhere. No form-action: browsers check it
    on every redirect a form post leads to, and the merchant's callback sends the payer on
    to wherever the merchant's frontend is, which the checkout cannot know."""
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


def format_amount(amount: int, currency: str) -> str:
    """5000.00 as "NGN 5,000.00", from integer kobo (no float rounding)."""
    return f"{currency} {amount // 100:,}.{amount % 100:02d}"


def with_reference(callback_url: str, reference: str) -> str:
    """The callback with ``trxref`` and ``reference`` added, as Paystack sends the payer back."""
    parts = urlsplit(callback_url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in ("trxref", "reference")
    ]
    query += [("trxref", reference), ("reference", reference)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Pages:
    sandbox: Sandbox

    def render(
        self, template: str, status: int, transaction: Transaction | None, **context: Any
    ) -> HTMLResponse:
        html = (
            _environment()
            .get_template(template)
            .render(
                business_name=self.sandbox.config.business_name,
                transaction=transaction,
                amount=format_amount(transaction.amount, transaction.currency)
                if transaction
                else "",
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = content_security_policy()
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def checkout(
        self,
        request: Request,
        transaction: Transaction,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        code = transaction.access_code
        test_year = str(datetime.now(UTC).year + 3)
        cards = [
            {
                "number": card.number,
                "grouped": card.grouped,
                "brand": card.brand,
                "label": OUTCOME_LABELS[card.outcome][0],
                "tone": OUTCOME_LABELS[card.outcome][1],
            }
            for card in TEST_CARDS
        ]
        return self.render(
            "checkout.html",
            status,
            transaction,
            error=error,
            test_cards=cards,
            test_expiry_month="12",
            test_expiry_year=test_year,
            test_cvv=TEST_CVV,
            pay_action=request.url_for("checkout_pay", access_code=code).path,
            cancel_action=request.url_for("checkout_cancel", access_code=code).path,
        )

    def notice(
        self,
        transaction: Transaction | None,
        *,
        title: str,
        text: str,
        status: int = 200,
        tone: str,
    ) -> HTMLResponse:
        back = None
        if transaction is not None and transaction.callback_url:
            back = with_reference(transaction.callback_url, transaction.reference)
        return self.render(
            "notice.html", status, transaction, title=title, text=text, tone=tone, back_url=back
        )

    def not_found(self) -> HTMLResponse:
        return self.notice(
            None,
            title="Checkout not found",
            text="This payment link is not valid. Start the payment again from the site.",
            status=404,
            tone="bad",
        )

    def already_paid(self, transaction: Transaction, status: int = 200) -> HTMLResponse:
        return self.notice(
            transaction,
            title="Already paid",
            text="This payment has been completed. Nothing more is charged.",
            status=status,
            tone="good",
        )


def checkout_router(sandbox: Sandbox) -> APIRouter:
    router = APIRouter()
    pages = Pages(sandbox)
    store = sandbox.store

    @router.get("/", name="sandbox_home", response_class=HTMLResponse)
    def home() -> Response:
        # Where the start-up banner points: what this is, and where payments open.
        return pages.notice(
            None,
            title="Offline Paystack sandbox",
            text="No real money moves here. A payment started on the platform opens its "
            "checkout page at /checkout/<access code>, where you pick a test card.",
            tone="neutral",
        )

    @router.get("/checkout/{access_code}", name="checkout", response_class=HTMLResponse)
    def checkout(access_code: str, request: Request) -> Response:
        transaction = store.transaction(access_code=access_code)
        if transaction is None:
            return pages.not_found()
        if transaction.paid:
            return pages.already_paid(transaction)
        return pages.checkout(request, transaction)

    @router.post("/checkout/{access_code}/pay", name="checkout_pay", response_class=HTMLResponse)
    def pay(
        access_code: str,
        request: Request,
        tasks: BackgroundTasks,
        card_number: Annotated[str, Form()] = "",
        expiry_month: Annotated[str, Form()] = "",
        expiry_year: Annotated[str, Form()] = "",
        cvv: Annotated[str, Form()] = "",
    ) -> Response:
        transaction = store.transaction(access_code=access_code)
        if transaction is None:
            return pages.not_found()
        if transaction.paid:
            return pages.already_paid(transaction, status=409)
        try:
            card, outcome = read_card(
                card_number, expiry_month, expiry_year, cvv, today=datetime.now(UTC).date()
            )
        except InvalidCard as error:
            return pages.checkout(request, transaction, error=error.message, status=400)
        charged = sandbox.attempt(transaction, card, outcome, tasks)
        if charged is None:  # paid in another tab meanwhile
            return pages.already_paid(store.transaction(id=transaction.id) or transaction, 409)
        if outcome is not Outcome.APPROVED:
            return pages.checkout(request, charged, error=DECLINE_MESSAGES[outcome])
        if charged.callback_url:
            return RedirectResponse(with_reference(charged.callback_url, charged.reference), 303)
        return pages.notice(
            charged,
            title="Payment successful",
            text="Your payment was approved. You can close this page.",
            tone="good",
        )

    @router.post(
        "/checkout/{access_code}/cancel", name="checkout_cancel", response_class=HTMLResponse
    )
    def cancel(access_code: str) -> Response:
        transaction = store.transaction(access_code=access_code)
        if transaction is None:
            return pages.not_found()
        if transaction.paid:
            return pages.already_paid(transaction)
        if transaction.callback_url:
            return RedirectResponse(
                with_reference(transaction.callback_url, transaction.reference), 303
            )
        return pages.notice(
            transaction,
            title="Payment cancelled",
            text="No money was taken. You can close this page.",
            tone="neutral",
        )

    return router
