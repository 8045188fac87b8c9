"""The Payment Service: pay for a course with Paystack's checkout or a card, follow a
payment, Paystack's callback and webhooks, refunds (seed contract, plus paging and refunds).

Routes parse, authorize and shape; the flows (``services.payment_flows``) and the rules
(``services.payments``) do the rest. Routes that call Paystack write through short units of
work (``UnitsDep``), never holding a transaction open across the call.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep, UnitsDep
from api.envelope import Envelope, error_responses, ok
from api.idempotency import IdempotencyKeyHeader, fingerprint_secret, once_per_key
from api.schemas.base import Offset, RowId
from api.schemas.payments import (
    PaymentInitiate,
    PaymentPage,
    PaymentStarted,
    PaymentView,
    RefundStarted,
    WebhookReceived,
)
from core.clock import utcnow
from core.errors import InvalidInput, Unauthorized
from core.logging import get_logger
from integrations.paystack import WebhookEvent, signature_matches
from models import Payment, PaymentMethod, PaymentStatus, Role, User
from services import payment_flows as flows
from services import payments
from services.cards import InvalidPaymentDetails
from services.idempotency import fingerprint

log = get_logger("api.payments")

INVALID_PAYMENT_DETAILS = InvalidPaymentDetails.message
# Paystack's references, and ours: letters, digits, "-", ".", "=".
REFERENCE = r"^[A-Za-z0-9.=-]{1,100}$"
TransactionId = Annotated[str, Path(alias="transactionId", pattern=REFERENCE)]


class PaymentDetailsRoute(APIRoute):
    # The contract's words for a malformed payment request.
    invalid_input_message = INVALID_PAYMENT_DETAILS


router = APIRouter(prefix="/api/payments", tags=["payments"])
initiate_router = APIRouter(
    prefix="/api/payments", tags=["payments"], route_class=PaymentDetailsRoute
)

_MESSAGES = {
    PaymentMethod.PAYSTACK: "Payment initialized successfully with Paystack",
    PaymentMethod.CARD: "Card payment processed successfully",
}


def _started(started: flows.Started, method: PaymentMethod) -> JSONResponse:
    data = PaymentStarted(
        payment_id=started.payment_id,
        transaction_id=started.transaction_id,
        access_code=started.access_code,
        authorization_url=started.authorization_url,
        status=started.status,
        message=_MESSAGES[method],
        amount=float(started.amount),
        currency=started.currency,
    )
    body = ok(data).model_dump(mode="json", by_alias=True, exclude_none=True)
    return JSONResponse(body, status_code=status.HTTP_201_CREATED)


@initiate_router.post(
    "/initiate",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[PaymentStarted],
    responses=error_responses(400, 401, 402, 403, 404, 409, 502, 504),
    summary="Pay for a course: Paystack's hosted checkout (open authorizationUrl) or a card",
)
async def initiate(
    body: PaymentInitiate,
    user: CurrentUser,
    units: UnitsDep,
    state: StateDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def run() -> Response:
        return await _initiate(body, user, units, state)

    digest = fingerprint(
        fingerprint_secret(state.cipher),
        "POST /api/payments/initiate",
        body.model_dump(mode="json"),
    )
    return await once_per_key(
        units, user_id=user.user_id, key=idempotency_key, fingerprint=digest, run=run
    )


async def _initiate(
    body: PaymentInitiate, user: User, units: UnitsDep, state: StateDep
) -> Response:
    gateways = state.payment_gateways
    if body.method is PaymentMethod.PAYSTACK:
        if body.card_details is not None:
            raise InvalidPaymentDetails("is for card payments only", parameter="cardDetails")
        started = await flows.start_paystack_payment(
            units,
            gateways,
            payer=user,
            user_id=body.user_id,
            course_id=body.course_id,
            amount=body.amount,
            email=str(body.paystack_email) if body.paystack_email else None,
        )
        return _started(started, body.method)
    card = body.card_details
    if card is None:
        raise InvalidPaymentDetails("is required to pay by card", parameter="cardDetails")
    started = await flows.pay_by_card(
        units,
        gateways,
        state.cipher,
        payer=user,
        user_id=body.user_id,
        course_id=body.course_id,
        amount=body.amount,
        number=card.number,
        expiry_month=card.expiry_month,
        expiry_year=card.expiry_year,
        cvv=card.cvv,
        today=utcnow().date(),
    )
    return _started(started, body.method)


def _view(payment: Payment, viewer: User) -> PaymentView:
    return PaymentView(
        payment_id=payment.payment_id,
        transaction_id=payment.transaction_id,
        status=payment.payment_status,
        amount=float(payment.amount),
        currency=payment.currency,
        payment_date=payment.payment_date,
        method=payment.method,
        course_id=payment.course_id,
        user_id=payment.user_id,
        refund_status=payment.refund_status,
        review_reason=payment.review_reason if viewer.role is Role.ADMIN else None,
    )


async def _current(units: UnitsDep, viewer: User, transaction_id: str) -> Payment:
    async with units() as session:
        return await session.run_sync(
            lambda s: payments.visible_payment(s, viewer=viewer, transaction_id=transaction_id)
        )


@router.get(
    "/status/{transactionId}",
    response_model=Envelope[PaymentView],
    responses=error_responses(401, 404),
    summary="A payment's status (to its payer or an admin); a pending one is first verified "
    "with Paystack",
)
async def payment_status(
    transaction_id: TransactionId, user: CurrentUser, units: UnitsDep, state: StateDep
) -> Envelope[PaymentView]:
    payment = await _current(units, user, transaction_id)
    if await flows.refresh(units, state.payment_gateways, payment):
        payment = await _current(units, user, transaction_id)
    return ok(_view(payment, user))


@router.get(
    "",
    response_model=Envelope[PaymentPage],
    responses=error_responses(400, 401),
    summary="Payments, newest first: the caller's own (an admin's: everyone's, filterable)",
)
async def list_payments(
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    payment_status: Annotated[PaymentStatus | None, Query(alias="status")] = None,
    method: PaymentMethod | None = None,
    user_id: Annotated[RowId | None, Query(alias="userId")] = None,
    course_id: Annotated[RowId | None, Query(alias="courseId")] = None,
    needs_review: Annotated[
        bool | None, Query(alias="needsReview", description="Admins: flagged for a person")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, description="Page size, at most 100")] = None,
    offset: Annotated[Offset, Query()] = 0,
) -> Envelope[PaymentPage]:
    filters = payments.PaymentFilters(
        status=payment_status,
        method=method,
        user_id=user_id,
        course_id=course_id,
        needs_review=needs_review,
    )
    size = state.settings.api.page_size(limit)
    rows, total = await session.run_sync(
        lambda s: payments.payments_page(s, viewer=user, filters=filters, limit=size, offset=offset)
    )
    page = PaymentPage(
        payments=[_view(row, user) for row in rows], total=total, limit=size, offset=offset
    )
    return ok(page)


@router.get(
    "/callback",
    status_code=status.HTTP_303_SEE_OTHER,
    response_class=RedirectResponse,
    responses=error_responses(400)
    | {303: {"description": "To the frontend's payment page, with the outcome"}},
    summary="Where Paystack sends the payer's browser back: verifies, then redirects to the "
    "frontend (?reference=...&status=success|failed|pending|unknown)",
)
async def callback(
    units: UnitsDep,
    state: StateDep,
    reference: Annotated[str, Query(pattern=REFERENCE)],
) -> RedirectResponse:
    gateways = state.payment_gateways
    async with units() as session:
        payment = await session.run_sync(lambda s: payments.by_reference(s, reference))
    if payment is not None and await flows.refresh(units, gateways, payment):
        async with units() as session:
            payment = await session.run_sync(lambda s: payments.by_reference(s, reference))
    outcome = payment.payment_status.value if payment else "unknown"
    query = urlencode({"reference": reference, "status": outcome})
    return RedirectResponse(f"{state.settings.payment_result_url}?{query}", status_code=303)


# Paystack's event: {"event": "charge.success", "data": {...}} (read raw, to check its signature).
_EVENT = {
    "type": "object",
    "required": ["event"],
    "properties": {"event": {"type": "string"}, "data": {"type": "object"}},
}


class InvalidSignature(Unauthorized):
    message = "Invalid webhook signature"


@router.post(
    "/webhooks/paystack",
    response_model=Envelope[WebhookReceived],
    responses=error_responses(400, 401),
    summary="Paystack's webhooks, signed (x-paystack-signature: HMAC-SHA512 of the body)",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": _EVENT}}}},
)
async def paystack_webhook(
    request: Request, units: UnitsDep, state: StateDep
) -> Envelope[WebhookReceived]:
    body = await request.body()
    key = state.settings.paystack.secret_key
    header = request.headers.get("x-paystack-signature")
    if key is None or not signature_matches(key.get_secret_value(), body, header):
        log.warning("webhook refused: bad signature", has_signature=header is not None)
        raise InvalidSignature()
    try:
        event = WebhookEvent.parse(body)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="body") from None
    base_url = state.payment_gateways.base_url
    # Stored and acted on in one transaction: either both happened, or Paystack's retry does.
    async with units() as session:
        event_id = await session.run_sync(
            lambda s: payments.store_webhook(s, event=event, body=body)
        )
        if event_id is not None:
            outcome = await session.run_sync(
                lambda s: payments.process_webhook(
                    s, event_id=event_id, event=event, base_url=base_url
                )
            )
            log.info("webhook processed", paystack_event=event.event, outcome=outcome.value)
    return ok(WebhookReceived(received=True, first_delivery=event_id is not None))


@router.post(
    "/{transactionId}/refund",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[RefundStarted],
    responses=error_responses(401, 403, 404, 409, 502, 504),
    summary="Refund a successful payment (admins): asked of Paystack, confirmed by its webhook",
)
async def refund(
    transaction_id: TransactionId, user: CurrentUser, units: UnitsDep, state: StateDep
) -> Envelope[RefundStarted]:
    payment = await flows.request_refund(
        units, state.payment_gateways, actor=user, transaction_id=transaction_id
    )
    return ok(
        RefundStarted(
            payment_id=payment.payment_id,
            transaction_id=payment.transaction_id,
            status=payment.payment_status,
            refund_status=payment.refund_status,
            message="Refund requested; the payment becomes refunded once Paystack confirms it",
        )
    )
