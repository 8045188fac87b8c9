"""The platform's Paystack client (``integrations.paystack``) against the offline sandbox,
served by uvicorn on a loopback port and spoken to over real HTTP: what each call answers,
how every kind of failure is told apart, and webhook signatures and events.

Every call runs through both clients, ``SyncPaystack`` (the job worker's) and
``AsyncPaystack`` (the API's), on their own httpx clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import SecretStr

from core.settings import PaystackSettings
from integrations.paystack import (
    AsyncPaystack,
    CardToCharge,
    Checkout,
    PaystackRefused,
    PaystackTimeout,
    PaystackUnavailable,
    Refund,
    SyncPaystack,
    Transaction,
    TransactionNotFound,
    WebhookEvent,
    charge_call,
    initialize_call,
    refund_call,
    signature,
    signature_matches,
    verify_call,
)
from integrations.paystack_sandbox import sign
from tests.conftest import free_port
from tests.fakes.paystack import sandbox_server
from tests.fakes.server import ThreadedServer

KEY = "sk_test_fake_client_0123456789abcdef"
APPROVED = "4084084084084081"
DECLINED = "4084080000005408"
NEXT_YEAR = str(datetime.now(UTC).year + 1)
DEFAULT_BEHAVIOUR = {
    "delaySeconds": 0,
    "failStatus": None,
    "refundOutcome": "processed",
    # Nothing here receives webhooks: the sandbox records them as skipped.
    "webhooks": False,
}

# One call through one of the two clients: (settings, call) -> what the call reads.
Send = Callable[[PaystackSettings, Any], Any]


def send_sync(settings: PaystackSettings, call: Any) -> Any:
    with httpx.Client() as http:
        return SyncPaystack(settings, http).send(call)


def send_async(settings: PaystackSettings, call: Any) -> Any:
    async def run() -> Any:
        async with httpx.AsyncClient() as http:
            return await AsyncPaystack(settings, http).send(call)

    return asyncio.run(run())


@pytest.fixture(params=[send_sync, send_async], ids=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Send:
    return request.param  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Sandbox:
    url: str

    def settings(self, **changes: Any) -> PaystackSettings:
        values: dict[str, Any] = {
            "base_url": self.url,
            "secret_key": SecretStr(KEY),
            "timeout_seconds": 5,
        }
        return PaystackSettings(**(values | changes))

    def behave(self, **changes: Any) -> None:
        answer = httpx.put(
            f"{self.url}/_sandbox/behaviour",
            json=changes,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=5,
        )
        assert answer.status_code == 200, answer.text

    def pay(self, checkout: Checkout, number: str = APPROVED) -> None:
        """The payer's browser on the hosted checkout."""
        card = {"card_number": number, "expiry_month": "12", "expiry_year": NEXT_YEAR}
        answer = httpx.post(f"{checkout.authorization_url}/pay", data=card | {"cvv": "408"})
        # Approved: back to the callback (303), as Paystack sends the payer.
        assert answer.status_code == 303, answer.text


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    state = tmp_path_factory.mktemp("sandbox") / "paystack-sandbox.db"
    with sandbox_server(state, secret_key=KEY) as url:
        yield Sandbox(url)


@pytest.fixture
def sandbox(served: Sandbox) -> Iterator[Sandbox]:
    served.behave(**DEFAULT_BEHAVIOUR)
    yield served
    served.behave(**DEFAULT_BEHAVIOUR)


def reference() -> str:
    return f"tx-{uuid.uuid4().hex[:24]}"


def initialize(ref: str, amount: int = 500000, currency: str = "NGN") -> Any:
    return initialize_call(
        email="ada@example.com",
        amount=amount,
        reference=ref,
        currency=currency,
        callback_url="https://learn.example.com/api/payments/callback",
        metadata={"paymentId": 7, "userId": 1, "courseId": 2},
    )


def card_charge(ref: str, number: str = APPROVED, year: str = NEXT_YEAR) -> Any:
    card = CardToCharge(number=number, cvv="408", expiry_month="12", expiry_year=year)
    return charge_call(
        card=card,
        email="ada@example.com",
        amount=250000,
        reference=ref,
        currency="NGN",
        metadata={"paymentId": 8},
    )


class TestInitialize:
    def test_answers_a_checkout_for_our_reference(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        checkout = send(sandbox.settings(), initialize(ref))
        assert isinstance(checkout, Checkout)
        assert checkout.reference == ref
        assert checkout.access_code
        assert checkout.authorization_url == f"{sandbox.url}/checkout/{checkout.access_code}"

    def test_a_trailing_slash_in_the_base_url_is_harmless(
        self, sandbox: Sandbox, send: Send
    ) -> None:
        ref = reference()
        assert send(sandbox.settings(base_url=sandbox.url + "/"), initialize(ref)).reference == ref

    def test_a_reference_used_twice_is_refused(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        send(sandbox.settings(), initialize(ref))
        with pytest.raises(PaystackRefused) as caught:
            send(sandbox.settings(), initialize(ref))
        assert (caught.value.status_code, caught.value.message) == (
            400,
            "Duplicate Transaction Reference",
        )
        assert not isinstance(caught.value, TransactionNotFound)


class TestVerify:
    def test_an_unpaid_checkout_is_abandoned(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        send(sandbox.settings(), initialize(ref))
        transaction = send(sandbox.settings(), verify_call(ref))
        assert isinstance(transaction, Transaction)
        assert (transaction.reference, transaction.status) == (ref, "abandoned")
        assert (transaction.amount, transaction.currency) == (500000, "NGN")
        assert transaction.paid_at is None

    def test_a_paid_checkout_is_a_success(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        checkout = send(sandbox.settings(), initialize(ref, amount=4999))
        sandbox.pay(checkout)
        transaction = send(sandbox.settings(), verify_call(ref))
        assert (transaction.status, transaction.amount) == ("success", 4999)
        assert transaction.gateway_response == "Approved"
        assert transaction.paid_at is not None
        assert transaction.paid_at.tzinfo is not None
        assert abs((datetime.now(UTC) - transaction.paid_at).total_seconds()) < 60

    def test_an_unknown_reference_is_not_found(self, sandbox: Sandbox, send: Send) -> None:
        with pytest.raises(TransactionNotFound) as caught:
            send(sandbox.settings(), verify_call(reference()))
        assert isinstance(caught.value, PaystackRefused)
        assert caught.value.message == "Transaction reference not found"


class TestCharge:
    def test_an_approved_card_is_a_success(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        transaction = send(sandbox.settings(), card_charge(ref))
        assert (transaction.reference, transaction.status) == (ref, "success")
        assert (transaction.amount, transaction.currency) == (250000, "NGN")
        assert transaction.gateway_response == "Approved"

    def test_a_declined_card_is_a_failed_transaction_not_an_error(
        self, sandbox: Sandbox, send: Send
    ) -> None:
        transaction = send(sandbox.settings(), card_charge(reference(), DECLINED))
        assert (transaction.status, transaction.gateway_response) == ("failed", "Declined")
        assert transaction.paid_at is None

    def test_an_expired_card_is_refused(self, sandbox: Sandbox, send: Send) -> None:
        with pytest.raises(PaystackRefused) as caught:
            send(sandbox.settings(), card_charge(reference(), year="2020"))
        assert caught.value.status_code == 400
        assert caught.value.message.startswith("Invalid card details")
        assert APPROVED not in caught.value.message


class TestRefund:
    def test_a_paid_transaction_is_refunded(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        send(sandbox.settings(), card_charge(ref))
        refund = send(sandbox.settings(), refund_call(ref))
        assert isinstance(refund, Refund)
        assert refund.refund_id.isdigit()
        assert refund.status == "pending"

    def test_an_unpaid_transaction_is_refused(self, sandbox: Sandbox, send: Send) -> None:
        ref = reference()
        send(sandbox.settings(), initialize(ref))
        with pytest.raises(PaystackRefused) as caught:
            send(sandbox.settings(), refund_call(ref))
        assert caught.value.message == "Transaction has not been paid"


class TestFailures:
    def test_a_wrong_key_is_refused(self, sandbox: Sandbox, send: Send) -> None:
        settings = sandbox.settings(secret_key=SecretStr("sk_test_fake_wrong"))
        with pytest.raises(PaystackRefused) as caught:
            send(settings, verify_call(reference()))
        assert (caught.value.status_code, caught.value.message) == (401, "Invalid key")
        assert not isinstance(caught.value, TransactionNotFound)

    @pytest.mark.parametrize("status", [500, 502, 503])
    def test_an_outage_is_unavailable_not_a_refusal(
        self, sandbox: Sandbox, send: Send, status: int
    ) -> None:
        sandbox.behave(failStatus=status)
        with pytest.raises(PaystackUnavailable) as caught:
            send(sandbox.settings(), initialize(reference()))
        assert not isinstance(caught.value, PaystackTimeout)
        assert str(caught.value) == f"Paystack answered {status}"

    def test_a_400_is_a_refusal(self, sandbox: Sandbox, send: Send) -> None:
        sandbox.behave(failStatus=400)
        with pytest.raises(PaystackRefused) as caught:
            send(sandbox.settings(), verify_call(reference()))
        assert (caught.value.status_code, caught.value.message) == (400, "Sandbox outage")

    def test_no_answer_in_time_is_a_timeout(self, sandbox: Sandbox, send: Send) -> None:
        sandbox.behave(delaySeconds=1)
        with pytest.raises(PaystackTimeout):
            send(sandbox.settings(timeout_seconds=0.2), initialize(reference()))

    def test_a_timeout_is_also_unavailable(self) -> None:
        # Callers that only care whether Paystack answered catch PaystackUnavailable.
        assert issubclass(PaystackTimeout, PaystackUnavailable)

    def test_a_closed_port_is_unavailable(self, send: Send) -> None:
        settings = PaystackSettings(
            base_url=f"http://127.0.0.1:{free_port()}", secret_key=SecretStr(KEY)
        )
        with pytest.raises(PaystackUnavailable) as caught:
            send(settings, verify_call(reference()))
        assert not isinstance(caught.value, PaystackTimeout)
        assert "could not be reached (ConnectError)" in str(caught.value)


@dataclass
class Impostor:
    """Something at the base URL that is not Paystack: each route answers one wrong way,
    and every request is counted."""

    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{shape}/{rest:path}", methods=["GET", "POST"])
        def answer(shape: str, rest: str) -> Response:
            with self.lock:
                self.requests.append(f"{shape}/{rest}")
            if shape == "text":
                return PlainTextResponse("<html>Bad gateway</html>")
            if shape == "list":
                return JSONResponse([1, 2, 3])
            if shape == "no-data":
                return JSONResponse({"status": True, "message": "ok"})
            if shape == "no-access-code":
                data = {"reference": "r", "authorization_url": "https://pay"}
                return JSONResponse({"status": True, "message": "ok", "data": data})
            if shape == "status-false":
                return JSONResponse({"status": False, "message": "Nope"})
            return JSONResponse({"status": True, "data": {"reference": "r"}})

        return app


@pytest.fixture(scope="module")
def impostor() -> Iterator[tuple[Impostor, str]]:
    fake = Impostor()
    port = free_port()
    server = ThreadedServer(fake.app(), port)
    server.start()
    yield fake, server.base_url
    server.stop()


class TestAnswersThatAreNotPaystacks:
    def settings(self, url: str, shape: str) -> PaystackSettings:
        return PaystackSettings(base_url=f"{url}/{shape}", secret_key=SecretStr(KEY))

    @pytest.mark.parametrize(
        ("shape", "message"),
        [
            ("text", "Paystack answered 200"),
            ("list", "Paystack answered 200"),
            ("no-data", "Paystack's answer has no data"),
        ],
    )
    def test_are_unavailable(
        self, impostor: tuple[Impostor, str], send: Send, shape: str, message: str
    ) -> None:
        with pytest.raises(PaystackUnavailable) as caught:
            send(self.settings(impostor[1], shape), verify_call("tx-1"))
        assert str(caught.value) == message

    def test_a_transaction_lacking_fields_is_unavailable(
        self, impostor: tuple[Impostor, str], send: Send
    ) -> None:
        with pytest.raises(PaystackUnavailable, match="unexpected transaction"):
            send(self.settings(impostor[1], "partial"), verify_call("tx-1"))

    def test_a_checkout_lacking_its_access_code_is_unavailable(
        self, impostor: tuple[Impostor, str], send: Send
    ) -> None:
        with pytest.raises(PaystackUnavailable, match="lacks 'access_code'"):
            send(self.settings(impostor[1], "no-access-code"), initialize("tx-1"))

    def test_a_200_saying_status_false_is_a_refusal(
        self, impostor: tuple[Impostor, str], send: Send
    ) -> None:
        with pytest.raises(PaystackRefused) as caught:
            send(self.settings(impostor[1], "status-false"), refund_call("tx-1"))
        assert (caught.value.status_code, caught.value.message) == (200, "Nope")

    def test_without_a_secret_key_nothing_is_sent(
        self, impostor: tuple[Impostor, str], send: Send
    ) -> None:
        fake, url = impostor
        settings = PaystackSettings(base_url=f"{url}/nokey", secret_key=None)
        with pytest.raises(PaystackUnavailable, match=r"paystack\.secret_key is not set"):
            send(settings, verify_call("tx-1"))
        with fake.lock:
            assert not any(path.startswith("nokey/") for path in fake.requests)


class TestSignature:
    BODY = b'{"event":"charge.success","data":{"reference":"tx-1"}}'

    def test_is_the_hex_hmac_sha512_of_the_body(self) -> None:
        expected = hmac.new(KEY.encode(), self.BODY, hashlib.sha512).hexdigest()
        assert signature(KEY, self.BODY) == expected
        # The sandbox signs its webhooks the same way.
        assert sign(self.BODY, KEY) == expected

    def test_the_right_signature_matches_in_any_case(self) -> None:
        header = signature(KEY, self.BODY)
        assert signature_matches(KEY, self.BODY, header)
        assert signature_matches(KEY, self.BODY, header.upper())

    @pytest.mark.parametrize(
        "header",
        [
            None,
            "",
            "0" * 128,
            signature(KEY, BODY)[:-1],
            signature(KEY, BODY) + "0",
            signature("sk_test_fake_other", BODY),
            signature(KEY, BODY + b" "),
            hashlib.sha512(BODY).hexdigest(),
        ],
        ids=[
            "missing",
            "empty",
            "zeros",
            "short",
            "long",
            "other-key",
            "other-body",
            "unkeyed",
        ],
    )
    def test_anything_else_does_not(self, header: str | None) -> None:
        assert signature_matches(KEY, self.BODY, header) is False

    def test_is_compared_in_constant_time(self, monkeypatch: pytest.MonkeyPatch) -> None:
        compared: list[tuple[object, object]] = []
        real = hmac.compare_digest

        def spy(a: Any, b: Any) -> bool:
            compared.append((a, b))
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", spy)
        header = signature(KEY, self.BODY).upper()
        assert signature_matches(KEY, self.BODY, header)
        assert compared == [(signature(KEY, self.BODY).encode(), header.lower().encode())]

    def test_a_non_ascii_header_does_not_match(self) -> None:
        assert signature_matches(KEY, self.BODY, "\u00e9" * 128) is False


def body(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class TestWebhookEvent:
    @pytest.mark.parametrize("raw", [b"not json", b"", b"\xff\xfe", b"{"])
    def test_refuses_what_is_not_json(self, raw: bytes) -> None:
        with pytest.raises(ValueError, match="the body is not JSON"):
            WebhookEvent.parse(raw)

    @pytest.mark.parametrize(
        "document", [[], ["charge.success"], {"data": {}}, {"event": 5}, {"event": None}, "x"]
    )
    def test_refuses_a_body_without_an_event_name(self, document: Any) -> None:
        with pytest.raises(ValueError, match="the body has no event name"):
            WebhookEvent.parse(body(document))

    def test_reads_the_event_and_its_data(self) -> None:
        event = WebhookEvent.parse(body({"event": "charge.success", "data": {"reference": "r"}}))
        assert (event.event, dict(event.data)) == ("charge.success", {"reference": "r"})

    @pytest.mark.parametrize("data", [None, [], "text", 3])
    def test_data_that_is_not_an_object_is_empty(self, data: Any) -> None:
        event = WebhookEvent.parse(body({"event": "charge.success", "data": data}))
        assert dict(event.data) == {}
        assert event.reference is None

    def test_a_long_event_name_is_cut_to_fifty(self) -> None:
        assert len(WebhookEvent.parse(body({"event": "e" * 80})).event) == 50

    def test_the_reference_of_a_charge(self) -> None:
        event = WebhookEvent.parse(body({"event": "charge.success", "data": {"reference": "r1"}}))
        assert event.reference == "r1"

    def test_the_reference_of_a_refund_is_its_transactions(self) -> None:
        data = {"id": 9, "status": "processed", "transaction_reference": "r2"}
        event = WebhookEvent.parse(body({"event": "refund.processed", "data": data}))
        assert event.reference == "r2"

    def test_the_reference_of_a_nested_transaction(self) -> None:
        data = {"id": 9, "transaction": {"reference": "r3"}}
        assert WebhookEvent.parse(body({"event": "refund.pending", "data": data})).reference == (
            "r3"
        )

    def test_a_long_reference_is_cut_to_a_hundred(self) -> None:
        data = {"reference": "r" * 300}
        reference = WebhookEvent.parse(body({"event": "charge.success", "data": data})).reference
        assert reference == "r" * 100


class TestDedupeKey:
    def test_the_same_event_id_and_status_share_a_key(self) -> None:
        first = body({"event": "charge.success", "data": {"id": 42, "status": "success"}})
        # The same event delivered again, not byte-identical (another key order, spaces).
        again = json.dumps({"data": {"status": "success", "id": 42}, "event": "charge.success"})
        one, two = WebhookEvent.parse(first), WebhookEvent.parse(again.encode())
        assert (
            one.dedupe_key(first) == two.dedupe_key(again.encode()) == "charge.success:42:success"
        )

    def test_another_status_of_the_same_object_is_another_event(self) -> None:
        processed = body({"event": "refund.processed", "data": {"id": 7, "status": "processed"}})
        failed = body({"event": "refund.failed", "data": {"id": 7, "status": "failed"}})
        keys = {WebhookEvent.parse(raw).dedupe_key(raw) for raw in (processed, failed)}
        assert len(keys) == 2

    def test_without_an_id_a_byte_identical_replay_shares_a_key(self) -> None:
        raw = body({"event": "charge.success", "data": {"reference": "r1"}})
        key = WebhookEvent.parse(raw).dedupe_key(raw)
        assert key == f"charge.success:sha256:{hashlib.sha256(raw).hexdigest()}"
        assert WebhookEvent.parse(raw).dedupe_key(raw) == key
        other = body({"event": "charge.success", "data": {"reference": "r2"}})
        assert WebhookEvent.parse(other).dedupe_key(other) != key

    def test_fits_its_column(self) -> None:
        raw = body({"event": "e" * 50, "data": {"id": "i" * 300, "status": "success"}})
        assert len(WebhookEvent.parse(raw).dedupe_key(raw)) == 200
