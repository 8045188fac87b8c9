"""Paystack's API as the sandbox speaks it, and the ``/_sandbox`` switches.

Every route needs ``Authorization: Bearer <secret key>``; the Paystack routes also obey the
behaviour switches (a delay, an outage status). Handlers are plain functions, run in the
thread pool: SQLite and the switches' sleep never block the event loop.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path, Request

from integrations.paystack_sandbox.cards import InvalidCard, read_card
from integrations.paystack_sandbox.config import SandboxError
from integrations.paystack_sandbox.payloads import refund_data, transaction_data
from integrations.paystack_sandbox.payments import Sandbox
from integrations.paystack_sandbox.store import Transaction
from integrations.paystack_sandbox.validation import read_amount, read_new_transaction

LIVE_KEY_PREFIX = "sk_live_"
MAX_ID = 2**63 - 1  # SQLite's largest integer


def envelope(message: str, data: Any) -> dict[str, Any]:
    return {"status": True, "message": message, "data": data}


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object (an empty body is an empty object, as Paystack treats it)."""
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise SandboxError("Invalid JSON body") from None
    if not isinstance(payload, dict):
        raise SandboxError("The request body must be a JSON object")
    return payload


Body = Annotated[dict[str, Any], Depends(json_object)]


def key_checker(secret_key: str) -> Callable[[str | None], None]:
    def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise SandboxError("Invalid key", 401)
        if token.startswith(LIVE_KEY_PREFIX):
            raise SandboxError("Live keys are not accepted by the sandbox", 401)
        if not hmac.compare_digest(token.encode(), secret_key.encode()):
            raise SandboxError("Invalid key", 401)

    return require_key


def api_routers(sandbox: Sandbox) -> list[APIRouter]:
    """Paystack's routes, and the switches (which obey no switch, so an outage can be ended)."""
    require_key = key_checker(sandbox.config.secret_key)

    def obey_behaviour() -> Iterator[None]:
        behaviour = sandbox.store.behaviour()
        if behaviour.fail_status is not None:
            raise SandboxError("Sandbox outage", behaviour.fail_status)
        yield
        # A slow Paystack does the work and answers late: a caller that stopped waiting
        # does not know whether the checkout, the charge or the refund happened.
        if behaviour.delay_seconds:
            time.sleep(behaviour.delay_seconds)

    # scope="function": the delay runs after the endpoint, before the answer is sent.
    router = APIRouter(
        dependencies=[Depends(require_key), Depends(obey_behaviour, scope="function")]
    )
    _transaction_routes(router, sandbox)
    switches = APIRouter(prefix="/_sandbox", dependencies=[Depends(require_key)])
    _switch_routes(switches, sandbox)
    return [router, switches]


def _transaction_routes(router: APIRouter, sandbox: Sandbox) -> None:
    store = sandbox.store

    @router.post("/transaction/initialize")
    def initialize(body: Body) -> dict[str, Any]:
        transaction = store.add_transaction(read_new_transaction(body, callback=True))
        return envelope(
            "Authorization URL created",
            {
                "authorization_url": (
                    f"{sandbox.config.public_url.rstrip('/')}/checkout/{transaction.access_code}"
                ),
                "access_code": transaction.access_code,
                "reference": transaction.reference,
            },
        )

    @router.get("/transaction/verify/{reference}")
    def verify(reference: str) -> dict[str, Any]:
        transaction = store.transaction(reference=reference)
        if transaction is None:
            raise SandboxError("Transaction reference not found")
        return envelope("Verification successful", transaction_data(transaction))

    @router.post("/charge")
    def charge(body: Body, tasks: BackgroundTasks) -> dict[str, Any]:
        new = read_new_transaction(body, callback=False)
        card = body.get("card")
        if not isinstance(card, dict):
            raise SandboxError("Invalid card details: card is required")
        try:
            kept, outcome = read_card(
                card.get("number"),
                card.get("expiry_month"),
                card.get("expiry_year"),
                card.get("cvv"),
                today=datetime.now(UTC).date(),
            )
        except InvalidCard as error:
            raise SandboxError(f"Invalid card details: {error.message}") from None
        transaction = store.add_transaction(new)
        charged = sandbox.attempt(transaction, kept, outcome, tasks)
        return envelope("Charge attempted", transaction_data(charged or transaction))

    @router.post("/refund")
    def refund(body: Body, tasks: BackgroundTasks) -> dict[str, Any]:
        transaction = _refunded_transaction(sandbox, body.get("transaction"))
        amount = body.get("amount")
        if amount is not None:
            amount = read_amount(amount, minimum=1, name="Amount")
        queued = sandbox.refund(transaction, amount, tasks)
        return envelope("Refund has been queued for processing", refund_data(queued, transaction))


def _refunded_transaction(sandbox: Sandbox, key: object) -> Transaction:
    """The transaction named by its reference or its numeric id."""
    found = None
    if isinstance(key, int) and not isinstance(key, bool) and 0 < key <= MAX_ID:
        found = sandbox.store.transaction(id=key)
    elif isinstance(key, str) and key:
        found = sandbox.store.transaction(reference=key)
        if found is None and key.isdigit() and 0 < int(key) <= MAX_ID:
            found = sandbox.store.transaction(id=int(key))
    elif key is None or key == "":
        raise SandboxError("Transaction reference or id is required")
    if found is None:
        raise SandboxError("Transaction not found")
    return found


def _switch_routes(router: APIRouter, sandbox: Sandbox) -> None:
    store = sandbox.store

    @router.get("/behaviour")
    def behaviour() -> dict[str, Any]:
        return envelope("Sandbox behaviour", store.behaviour().to_json())

    @router.put("/behaviour")
    def change_behaviour(body: Body) -> dict[str, Any]:
        changed = store.behaviour().updated(body)
        store.save_behaviour(changed)
        return envelope("Sandbox behaviour updated", changed.to_json())

    @router.get("/webhooks")
    def deliveries(reference: str | None = None) -> dict[str, Any]:
        found = store.deliveries(reference)
        return envelope("Webhook deliveries", [delivery.to_json() for delivery in found])

    @router.post("/webhooks/{delivery_id}/resend")
    def resend(delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
        if store.delivery(delivery_id) is None:
            raise SandboxError("Webhook delivery not found", 404)
        delivered = sandbox.webhooks.deliver(delivery_id)
        return envelope("Webhook resent", delivered.to_json())
