"""The offline Paystack sandbox, over real HTTP on loopback.

The sandbox runs on uvicorn (``ThreadedServer``), as does a small webhook receiver that keeps
the raw bodies and headers it is sent, so signatures are checked on the exact bytes. Webhooks
are posted after the answer: a test polls the receiver with a bounded deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from integrations.paystack_sandbox import TEST_CARDS, SandboxConfig, create_sandbox
from tests.conftest import free_port
from tests.fakes.paystack import luhn_completed
from tests.fakes.server import ThreadedServer

SECRET = "sk_test_fake_sandbox_0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SECRET}"}
APPROVED = "4084084084084081"
DECLINED = "4084080000005408"
INSUFFICIENT = "4084080000670037"
DEFAULT_BEHAVIOUR = {
    "delaySeconds": 0.0,
    "failStatus": None,
    "refundOutcome": "processed",
    "webhooks": True,
}
NEXT_YEAR = str(datetime.now(UTC).year + 1)
CARD = {"number": APPROVED, "cvv": "408", "expiry_month": "12", "expiry_year": NEXT_YEAR}
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 5.0) -> T:
    """Poll until ``check`` answers something truthy (background work), at most ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing came within {timeout} s")
        time.sleep(0.02)


@dataclass(frozen=True)
class Hook:
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """The platform's webhook route as the sandbox sees it: records, answers 200 (or 500 for
    the next ``fail_next`` posts)."""

    hooks: list[Hook] = field(default_factory=list)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.hooks.append(Hook(body, dict(request.headers)))
                if self.fail_next > 0:
                    self.fail_next -= 1
                    return Response(status_code=500)
            return Response(status_code=200)

        return app

    def received(self, event: str, reference: str) -> list[Hook]:
        with self.lock:
            return [
                hook
                for hook in self.hooks
                if hook.payload["event"] == event and _reference(hook.payload) == reference
            ]

    def wait_for(self, event: str, reference: str) -> Hook:
        return eventually(lambda: self.received(event, reference))[0]


def _reference(payload: dict[str, Any]) -> str:
    data = payload["data"]
    return str(data.get("reference") or data.get("transaction_reference"))


@dataclass(frozen=True)
class Served:
    url: str
    state_path: Path
    receiver: Receiver
    hooks_url: str


def serve(app: FastAPI, port: int) -> ThreadedServer:
    server = ThreadedServer(app, port)
    server.start()
    return server


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    fake = Receiver()
    server = serve(fake.app(), free_port())
    yield fake, f"{server.base_url}/hooks"
    server.stop()


def sandbox_config(state_path: Path, url: str, hooks_url: str) -> SandboxConfig:
    return SandboxConfig(
        secret_key=SECRET,
        state_path=state_path,
        public_url=url,
        webhook_url=hooks_url,
        webhook_timeout_seconds=2,
        business_name="Test Academy",
    )


@pytest.fixture(scope="module")
def served(
    receiver: tuple[Receiver, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    fake, hooks_url = receiver
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state_path = tmp_path_factory.mktemp("sandbox") / "paystack-sandbox.db"
    server = serve(create_sandbox(sandbox_config(state_path, url, hooks_url)), port)
    yield Served(url, state_path, fake, hooks_url)
    server.stop()


@pytest.fixture
def api(served: Served) -> Iterator[httpx.Client]:
    """A client with the key, against a sandbox whose switches are back to the defaults."""
    with httpx.Client(base_url=served.url, headers=AUTH, timeout=10) as client:
        reset = client.put("/_sandbox/behaviour", json=DEFAULT_BEHAVIOUR)
        assert reset.status_code == 200, reset.text
        served.receiver.fail_next = 0
        yield client


@pytest.fixture
def browser(served: Served) -> Iterator[httpx.Client]:
    """The payer's browser: no key, redirects not followed (the test reads them)."""
    with httpx.Client(base_url=served.url, timeout=10, follow_redirects=False) as client:
        yield client


def initialize(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"email": "ada@example.com", "amount": 500000, **fields}
    answer = api.post("/transaction/initialize", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]  # type: ignore[no-any-return]


def verify(api: httpx.Client, reference: str) -> dict[str, Any]:
    answer = api.get(f"/transaction/verify/{reference}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"] == "Verification successful"
    return answer.json()["data"]  # type: ignore[no-any-return]


def pay(
    browser: httpx.Client, authorization_url: str, number: str, cvv: str = "408"
) -> httpx.Response:
    return browser.post(
        f"{authorization_url}/pay",
        data={"card_number": number, "expiry_month": "12", "expiry_year": NEXT_YEAR, "cvv": cvv},
    )


def charge(api: httpx.Client, **fields: Any) -> httpx.Response:
    return api.post(
        "/charge", json={"email": "ada@example.com", "amount": 250000, "card": CARD, **fields}
    )


def signature(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()


def deliveries(api: httpx.Client, reference: str) -> list[dict[str, Any]]:
    answer = api.get("/_sandbox/webhooks", params={"reference": reference})
    assert answer.status_code == 200
    return answer.json()["data"]  # type: ignore[no-any-return]


def form_actions(html: str) -> list[str]:
    return re.findall(r'<form[^>]*action="([^"]+)"', html)


class TestKeys:
    ROUTES = (
        ("POST", "/transaction/initialize"),
        ("GET", "/transaction/verify/anything"),
        ("POST", "/charge"),
        ("POST", "/refund"),
        ("GET", "/_sandbox/behaviour"),
        ("GET", "/_sandbox/webhooks"),
    )

    @pytest.mark.parametrize(("method", "path"), ROUTES)
    @pytest.mark.parametrize(
        ("headers", "message"),
        [
            ({}, "Invalid key"),
            ({"Authorization": "Bearer sk_test_fake_wrong"}, "Invalid key"),
            ({"Authorization": SECRET}, "Invalid key"),  # no Bearer scheme
            (
                {"Authorization": "Bearer sk_live_fake_0123456789"},
                "Live keys are not accepted by the sandbox",
            ),
        ],
    )
    def test_refuses_a_missing_wrong_or_live_key(
        self, served: Served, method: str, path: str, headers: dict[str, str], message: str
    ) -> None:
        answer = httpx.request(method, served.url + path, headers=headers, json={})
        assert answer.status_code == 401
        assert answer.json() == {"status": False, "message": message}

    def test_a_sandbox_is_never_given_a_live_key(self, tmp_path: Path) -> None:
        config = sandbox_config(tmp_path / "s.db", "http://127.0.0.1:1", "http://127.0.0.1:1")
        with pytest.raises(ValueError, match="live"):
            create_sandbox(
                SandboxConfig(**{**config.__dict__, "secret_key": "sk_live_fake_0123456789"})
            )


class TestEnvelope:
    def test_unknown_routes_and_bad_parameters_answer_the_envelope(self, api: httpx.Client) -> None:
        missing = api.get("/no/such/route")
        assert missing.status_code == 404
        assert missing.json() == {"status": False, "message": "Not Found"}
        bad = api.post("/_sandbox/webhooks/not-a-number/resend")
        assert bad.status_code == 400
        assert bad.json() == {"status": False, "message": "Invalid value for delivery_id"}


class TestInitialize:
    def test_answers_an_authorization_url_on_the_public_url(
        self, api: httpx.Client, served: Served
    ) -> None:
        answer = api.post(
            "/transaction/initialize",
            json={"email": "ada@example.com", "amount": "500000", "reference": "order-1.a=b"},
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["status"] is True
        assert body["message"] == "Authorization URL created"
        data = body["data"]
        assert data["reference"] == "order-1.a=b"
        assert data["authorization_url"] == f"{served.url}/checkout/{data['access_code']}"

    def test_a_new_transaction_verifies_as_abandoned(self, api: httpx.Client) -> None:
        started = initialize(api, currency="GHS", metadata=json.dumps({"payment_id": 7}))
        data = verify(api, started["reference"])
        assert data["status"] == "abandoned"
        assert data["reference"] == started["reference"]
        assert data["amount"] == 500000
        assert data["currency"] == "GHS"
        assert data["paid_at"] is None
        assert data["created_at"].endswith("Z")
        assert data["metadata"] == {"payment_id": 7}
        assert data["customer"]["email"] == "ada@example.com"
        assert data["authorization"] is None
        assert isinstance(data["id"], int)

    def test_generates_a_reference_when_none_is_given(self, api: httpx.Client) -> None:
        first, second = initialize(api), initialize(api)
        assert re.fullmatch(r"[A-Za-z0-9]{10,}", first["reference"])
        assert first["reference"] != second["reference"]
        assert first["access_code"] != second["access_code"]

    def test_refuses_a_duplicate_reference(self, api: httpx.Client) -> None:
        initialize(api, reference="dup-init-1")
        answer = api.post(
            "/transaction/initialize",
            json={"email": "b@example.com", "amount": 10000, "reference": "dup-init-1"},
        )
        assert answer.status_code == 400
        assert answer.json() == {"status": False, "message": "Duplicate Transaction Reference"}

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"email": None}, "Email is required"),
            ({"email": "not-an-email"}, "Invalid Email Address Passed"),
            ({"amount": None}, "Amount is required"),
            ({"amount": 99}, "Invalid amount"),
            ({"amount": 100.5}, "Invalid amount"),
            ({"amount": "12a"}, "Invalid amount"),
            ({"amount": True}, "Invalid amount"),
            ({"currency": "EUR"}, "Currency not supported"),
            ({"reference": "has space"}, "Invalid reference"),
            ({"reference": "slash/ref"}, "Invalid reference"),
            ({"callback_url": "javascript:alert(1)"}, "Invalid callback_url"),
            ({"metadata": "not json"}, "Invalid metadata"),
        ],
    )
    def test_names_the_problem_with_a_field(
        self, api: httpx.Client, fields: dict[str, Any], message: str
    ) -> None:
        body = {"email": "ada@example.com", "amount": 500000, **fields}
        answer = api.post("/transaction/initialize", json={k: v for k, v in body.items() if v})
        assert answer.status_code == 400
        assert answer.json()["status"] is False
        assert answer.json()["message"].startswith(message)

    def test_refuses_a_body_that_is_not_a_json_object(self, api: httpx.Client) -> None:
        answer = api.post("/transaction/initialize", content=b"[1, 2]")
        assert answer.status_code == 400
        assert answer.json()["status"] is False

    def test_an_unknown_reference_is_not_found(self, api: httpx.Client) -> None:
        answer = api.get("/transaction/verify/no-such-reference")
        assert answer.status_code == 400
        assert answer.json() == {"status": False, "message": "Transaction reference not found"}


class TestHostedCheckout:
    def test_a_payer_pays_with_a_test_card_and_returns_to_the_callback(
        self, api: httpx.Client, browser: httpx.Client, served: Served
    ) -> None:
        callback = f"{served.url}/shop/return?order=7"
        started = initialize(api, callback_url=callback, metadata={"payment_id": 7})
        reference = started["reference"]

        page = browser.get(started["authorization_url"])
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "<title>Sandbox checkout" in html
        assert "Test Academy" in html
        assert "NGN 5,000.00" in html
        assert "ada@example.com" in html
        assert "No real money moves" in html
        assert "Cancel payment" in html
        for card in TEST_CARDS:
            assert f'value="{card.number}"' in html
            assert card.grouped in html
        assert "Insufficient funds" in html
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "style-src 'unsafe-inline'" in policy
        # Not form-action: the callback may redirect the payer to another origin.
        assert "form-action" not in policy
        assert "script-src" not in policy
        assert "<script" not in html
        assert "http" not in re.sub(r'(action|href)="[^"]*"', "", html)  # no external asset

        paid = pay(browser, started["authorization_url"], APPROVED)
        assert paid.status_code == 303
        location = urlsplit(paid.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == callback.split("?")[0]
        assert parse_qs(location.query) == {
            "order": ["7"],
            "trxref": [reference],
            "reference": [reference],
        }

        data = verify(api, reference)
        assert data["status"] == "success"
        assert data["gateway_response"] == "Approved"
        assert data["paid_at"].endswith("Z")
        assert data["channel"] == "card"
        assert data["metadata"] == {"payment_id": 7}
        assert data["authorization"]["last4"] == "4081"
        assert data["authorization"]["brand"] == "visa"
        assert data["authorization"]["exp_month"] == "12"
        assert data["authorization"]["exp_year"] == NEXT_YEAR

        hook = served.receiver.wait_for("charge.success", reference)
        assert hook.headers["content-type"] == "application/json"
        assert hmac.compare_digest(hook.headers["x-paystack-signature"], signature(hook.body))
        assert hook.payload["data"]["status"] == "success"
        assert hook.payload["data"]["authorization"]["last4"] == "4081"
        assert hook.payload["data"]["metadata"] == {"payment_id": 7}
        recorded = eventually(lambda: [d for d in deliveries(api, reference) if d["attempts"]])
        assert recorded[0]["event"] == "charge.success"
        assert recorded[0]["statusCode"] == 200
        assert recorded[0]["attempts"] == 1
        assert recorded[0]["deliveredAt"].endswith("Z")

    def test_a_declined_card_fails_and_the_payer_may_try_again(
        self, api: httpx.Client, browser: httpx.Client, served: Served
    ) -> None:
        started = initialize(api, callback_url=f"{served.url}/shop/return")
        declined = pay(browser, started["authorization_url"], DECLINED)
        assert declined.status_code == 200
        assert "declined" in declined.text.lower()
        assert "Pay with a test card" in declined.text  # the same page, to try again
        # Only the published test cards are on the page: what was typed is not shown back.
        assert declined.text.count('name="card_number" value=') == len(TEST_CARDS)
        failed = verify(api, started["reference"])
        assert (failed["status"], failed["gateway_response"]) == ("failed", "Declined")
        assert failed["authorization"]["last4"] == "5408"

        again = pay(browser, started["authorization_url"], "4242424242424242")
        assert again.status_code == 303
        paid = verify(api, started["reference"])
        assert (paid["status"], paid["gateway_response"]) == ("success", "Approved")
        assert paid["authorization"]["last4"] == "4242"
        served.receiver.wait_for("charge.success", started["reference"])

    def test_insufficient_funds_fails_the_transaction(
        self, api: httpx.Client, browser: httpx.Client
    ) -> None:
        started = initialize(api)
        answer = pay(browser, started["authorization_url"], INSUFFICIENT)
        assert answer.status_code == 200
        assert "Insufficient Funds" in answer.text
        failed = verify(api, started["reference"])
        assert (failed["status"], failed["gateway_response"]) == ("failed", "Insufficient Funds")

    @pytest.mark.parametrize(
        ("number", "month", "cvv", "message"),
        [
            ("4084084084084082", "12", "408", "Invalid card number"),
            ("4084 0840 8408 40x1", "12", "408", "Invalid card number"),
            (APPROVED, "13", "408", "Invalid expiry month"),
            (APPROVED, "12", "40", "Invalid CVV"),
        ],
    )
    def test_invalid_card_details_are_a_400_and_charge_nothing(
        self,
        api: httpx.Client,
        browser: httpx.Client,
        number: str,
        month: str,
        cvv: str,
        message: str,
    ) -> None:
        started = initialize(api)
        answer = browser.post(
            f"{started['authorization_url']}/pay",
            data={
                "card_number": number,
                "expiry_month": month,
                "expiry_year": NEXT_YEAR,
                "cvv": cvv,
            },
        )
        assert answer.status_code == 400
        assert message in answer.text
        assert verify(api, started["reference"])["status"] == "abandoned"

    def test_a_card_number_may_be_typed_in_groups(
        self, api: httpx.Client, browser: httpx.Client
    ) -> None:
        started = initialize(api)
        assert pay(browser, started["authorization_url"], "4084 0840 8408 4081").status_code == 200
        assert verify(api, started["reference"])["status"] == "success"

    def test_without_a_callback_the_payer_sees_payment_successful(
        self, api: httpx.Client, browser: httpx.Client
    ) -> None:
        started = initialize(api)
        answer = pay(browser, started["authorization_url"], APPROVED)
        assert answer.status_code == 200
        assert "Payment successful" in answer.text

    def test_a_paid_checkout_says_so_and_charges_nothing_more(
        self, api: httpx.Client, browser: httpx.Client, served: Served
    ) -> None:
        started = initialize(api, callback_url=f"{served.url}/shop/return")
        assert pay(browser, started["authorization_url"], APPROVED).status_code == 303

        page = browser.get(started["authorization_url"])
        assert page.status_code == 200
        assert "Already paid" in page.text
        assert f"/shop/return?trxref={started['reference']}" in page.text
        again = pay(browser, started["authorization_url"], "4242424242424242")
        assert again.status_code == 409
        assert verify(api, started["reference"])["authorization"]["last4"] == "4081"

    def test_two_tabs_paying_at_once_charge_once(self, api: httpx.Client, served: Served) -> None:
        started = initialize(api, callback_url=f"{served.url}/shop/return")

        def pay_in_a_tab(number: str) -> int:
            with httpx.Client(timeout=10) as tab:
                return pay(tab, started["authorization_url"], number).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = sorted(pool.map(pay_in_a_tab, [APPROVED, "4242424242424242"] * 2))
        assert statuses == [303, 409, 409, 409]
        served.receiver.wait_for("charge.success", started["reference"])
        assert len(deliveries(api, started["reference"])) == 1

    def test_cancel_keeps_the_transaction_abandoned(
        self, api: httpx.Client, browser: httpx.Client, served: Served
    ) -> None:
        started = initialize(api, callback_url=f"{served.url}/shop/return")
        answer = browser.post(f"{started['authorization_url']}/cancel")
        assert answer.status_code == 303
        assert parse_qs(urlsplit(answer.headers["location"]).query)["reference"] == [
            started["reference"]
        ]
        assert verify(api, started["reference"])["status"] == "abandoned"

        without_callback = initialize(api)
        page = browser.post(f"{without_callback['authorization_url']}/cancel")
        assert page.status_code == 200
        assert "Payment cancelled" in page.text

    def test_an_unknown_access_code_is_a_404_page(self, browser: httpx.Client) -> None:
        for answer in (
            browser.get("/checkout/nosuchcode"),
            browser.post("/checkout/nosuchcode/pay", data={"card_number": APPROVED}),
        ):
            assert answer.status_code == 404
            assert "Checkout not found" in answer.text

    def test_what_the_payer_entered_is_escaped(
        self, api: httpx.Client, browser: httpx.Client
    ) -> None:
        started = initialize(api, email="<b>bold</b>@example.com")
        page = browser.get(started["authorization_url"])
        assert "&lt;b&gt;bold&lt;/b&gt;@example.com" in page.text
        assert "<b>bold</b>" not in page.text

    def test_checkout_pages_obey_no_delay_or_outage_switch(
        self, api: httpx.Client, browser: httpx.Client
    ) -> None:
        started = initialize(api)
        api.put("/_sandbox/behaviour", json={"delaySeconds": 5, "failStatus": 503})
        page = browser.get(started["authorization_url"], timeout=2)
        assert page.status_code == 200


class TestMounted:
    def test_links_and_redirects_keep_the_mount_prefix(
        self, receiver: tuple[Receiver, str], tmp_path: Path
    ) -> None:
        fake, hooks_url = receiver
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        platform = FastAPI()
        config = sandbox_config(tmp_path / "mounted.db", f"{base}/sandbox/paystack", hooks_url)
        platform.mount("/sandbox/paystack", create_sandbox(config))
        server = serve(platform, port)
        try:
            with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
                started = client.post(
                    "/sandbox/paystack/transaction/initialize",
                    headers=AUTH,
                    json={"email": "m@example.com", "amount": 1000, "callback_url": f"{base}/r"},
                ).json()["data"]
                url = started["authorization_url"]
                assert url.startswith(f"{base}/sandbox/paystack/checkout/")
                code = started["access_code"]
                page = client.get(url)
                actions = set(form_actions(page.text))
                pay_path = f"/sandbox/paystack/checkout/{code}/pay"
                assert actions == {pay_path, f"/sandbox/paystack/checkout/{code}/cancel"}

                declined = client.post(pay_path, data={"card_number": DECLINED, **_expiry()})
                assert set(form_actions(declined.text)) == actions
                paid = client.post(pay_path, data={"card_number": APPROVED, **_expiry()})
                assert paid.status_code == 303
                assert paid.headers["location"].startswith(f"{base}/r?trxref=")
            fake.wait_for("charge.success", started["reference"])
        finally:
            server.stop()


def _expiry() -> dict[str, str]:
    return {"expiry_month": "12", "expiry_year": NEXT_YEAR, "cvv": "408"}


class TestChargeApi:
    def test_an_approved_card_is_charged_and_posts_charge_success(
        self, api: httpx.Client, served: Served
    ) -> None:
        answer = charge(api, reference="charge-ok-1", currency="USD")
        assert answer.status_code == 200
        body = answer.json()
        assert (body["status"], body["message"]) == (True, "Charge attempted")
        data = body["data"]
        assert (data["status"], data["gateway_response"]) == ("success", "Approved")
        assert (data["reference"], data["amount"], data["currency"]) == (
            "charge-ok-1",
            250000,
            "USD",
        )
        assert data["authorization"]["last4"] == "4081"
        assert verify(api, "charge-ok-1")["status"] == "success"
        hook = served.receiver.wait_for("charge.success", "charge-ok-1")
        assert hook.headers["x-paystack-signature"] == signature(hook.body)

    @pytest.mark.parametrize(
        ("number", "gateway_response"),
        [
            ("4000000000000002", "Declined"),
            (DECLINED, "Declined"),
            (INSUFFICIENT, "Insufficient Funds"),
        ],
    )
    def test_a_refused_card_fails_without_a_webhook(
        self, api: httpx.Client, number: str, gateway_response: str
    ) -> None:
        answer = charge(api, card={**CARD, "number": number})
        assert answer.status_code == 200
        data = answer.json()["data"]
        assert (data["status"], data["gateway_response"]) == ("failed", gateway_response)
        assert deliveries(api, data["reference"]) == []

    @pytest.mark.parametrize(
        ("card", "field_name"),
        [
            ({"number": "4084abcd84084081"}, "card number"),
            ({"number": "4084084084084080"}, "card number"),
            ({"expiry_month": "00"}, "expiry month"),
            ({"expiry_month": "13"}, "expiry month"),
            ({"expiry_year": "2001"}, "expired"),
            ({"cvv": "12"}, "CVV"),
            ({"cvv": "12345"}, "CVV"),
            ({"cvv": "abc"}, "CVV"),
        ],
    )
    def test_invalid_card_details_are_refused_and_nothing_is_created(
        self, api: httpx.Client, card: dict[str, str], field_name: str
    ) -> None:
        reference = f"bad-card-{time.monotonic_ns()}"
        answer = charge(api, reference=reference, card={**CARD, **card})
        assert answer.status_code == 400
        assert answer.json()["status"] is False
        assert answer.json()["message"].startswith("Invalid card details")
        assert field_name in answer.json()["message"]
        assert api.get(f"/transaction/verify/{reference}").status_code == 400

    def test_refuses_a_missing_card(self, api: httpx.Client) -> None:
        answer = api.post("/charge", json={"email": "ada@example.com", "amount": 1000})
        assert answer.status_code == 400
        assert answer.json()["message"].startswith("Invalid card details")

    def test_refuses_a_duplicate_reference(self, api: httpx.Client) -> None:
        assert charge(api, reference="charge-dup-1").status_code == 200
        again = charge(api, reference="charge-dup-1")
        assert again.status_code == 400
        assert again.json() == {"status": False, "message": "Duplicate Transaction Reference"}


class TestRefunds:
    def test_a_refund_is_queued_then_processed_and_reverses_the_transaction(
        self, api: httpx.Client, served: Served
    ) -> None:
        paid = charge(api).json()["data"]
        answer = api.post("/refund", json={"transaction": paid["reference"]})
        assert answer.status_code == 200
        body = answer.json()
        assert (body["status"], body["message"]) == (True, "Refund has been queued for processing")
        refund = body["data"]
        assert refund["status"] == "pending"
        assert (refund["amount"], refund["currency"]) == (250000, "NGN")
        assert refund["transaction"]["reference"] == paid["reference"]
        assert isinstance(refund["id"], int)

        hook = served.receiver.wait_for("refund.processed", paid["reference"])
        assert hook.headers["x-paystack-signature"] == signature(hook.body)
        event = hook.payload["data"]
        assert event["status"] == "processed"
        assert event["transaction_reference"] == paid["reference"]
        assert (event["amount"], event["currency"], event["id"]) == (250000, "NGN", refund["id"])
        assert event["refund_reference"]
        assert event["customer"]["email"] == "ada@example.com"
        assert verify(api, paid["reference"])["status"] == "reversed"

        again = api.post("/refund", json={"transaction": paid["reference"]})
        assert again.status_code == 400
        assert again.json() == {"status": False, "message": "Transaction has been fully reversed"}

    def test_partial_refunds_by_id_up_to_the_paid_amount(
        self, api: httpx.Client, served: Served
    ) -> None:
        paid = charge(api).json()["data"]
        part = api.post("/refund", json={"transaction": paid["id"], "amount": 100000})
        assert part.status_code == 200
        assert part.json()["data"]["amount"] == 100000
        served.receiver.wait_for("refund.processed", paid["reference"])
        assert verify(api, paid["reference"])["status"] == "success"  # not fully refunded

        too_much = api.post("/refund", json={"transaction": str(paid["id"]), "amount": 150001})
        assert too_much.status_code == 400
        assert "cannot be more" in too_much.json()["message"]
        rest = api.post("/refund", json={"transaction": paid["reference"]})
        assert rest.json()["data"]["amount"] == 150000
        eventually(lambda: verify(api, paid["reference"])["status"] == "reversed")

    def test_concurrent_refunds_never_return_more_than_was_paid(
        self, api: httpx.Client, served: Served
    ) -> None:
        paid = charge(api).json()["data"]

        def refund() -> int:
            with httpx.Client(base_url=served.url, headers=AUTH, timeout=10) as client:
                return client.post("/refund", json={"transaction": paid["reference"]}).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = sorted(pool.map(lambda _: refund(), range(4)))
        assert statuses == [200, 400, 400, 400]

    def test_the_failed_switch_fails_the_refund(self, api: httpx.Client, served: Served) -> None:
        api.put("/_sandbox/behaviour", json={"refundOutcome": "failed"})
        paid = charge(api).json()["data"]
        assert api.post("/refund", json={"transaction": paid["reference"]}).status_code == 200
        hook = served.receiver.wait_for("refund.failed", paid["reference"])
        assert hook.payload["data"]["status"] == "failed"
        assert verify(api, paid["reference"])["status"] == "success"
        # The money is not held by a failed refund: it can be refunded again.
        api.put("/_sandbox/behaviour", json={"refundOutcome": "processed"})
        assert api.post("/refund", json={"transaction": paid["reference"]}).status_code == 200
        served.receiver.wait_for("refund.processed", paid["reference"])

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"transaction": "no-such-ref"}, "Transaction not found"),
            ({"transaction": 999999999}, "Transaction not found"),
            ({}, "Transaction reference or id is required"),
        ],
    )
    def test_refuses_an_unknown_transaction(
        self, api: httpx.Client, body: dict[str, Any], message: str
    ) -> None:
        answer = api.post("/refund", json=body)
        assert answer.status_code == 400
        assert answer.json() == {"status": False, "message": message}

    def test_only_a_paid_transaction_is_refunded(self, api: httpx.Client) -> None:
        unpaid = initialize(api)
        declined = charge(api, card={**CARD, "number": DECLINED}).json()["data"]
        for reference in (unpaid["reference"], declined["reference"]):
            answer = api.post("/refund", json={"transaction": reference})
            assert answer.status_code == 400
            assert answer.json() == {"status": False, "message": "Transaction has not been paid"}


class TestWebhookDelivery:
    def test_a_failed_post_is_retried(self, api: httpx.Client, served: Served) -> None:
        served.receiver.fail_next = 1
        paid = charge(api).json()["data"]
        delivered = eventually(
            lambda: [d for d in deliveries(api, paid["reference"]) if d["outcome"] == "delivered"]
        )
        assert (delivered[0]["attempts"], delivered[0]["statusCode"]) == (2, 200)
        hooks = served.receiver.received("charge.success", paid["reference"])
        assert len(hooks) == 2
        assert hooks[0].body == hooks[1].body

    def test_switched_off_webhooks_are_recorded_as_skipped(
        self, api: httpx.Client, served: Served
    ) -> None:
        api.put("/_sandbox/behaviour", json={"webhooks": False})
        paid = charge(api).json()["data"]
        recorded = deliveries(api, paid["reference"])
        assert [(d["event"], d["outcome"], d["attempts"]) for d in recorded] == [
            ("charge.success", "skipped", 0)
        ]
        assert served.receiver.received("charge.success", paid["reference"]) == []

    def test_a_delivery_can_be_resent_byte_for_byte(
        self, api: httpx.Client, served: Served
    ) -> None:
        paid = charge(api).json()["data"]
        first = served.receiver.wait_for("charge.success", paid["reference"])
        delivery = deliveries(api, paid["reference"])[0]
        answer = api.post(f"/_sandbox/webhooks/{delivery['id']}/resend")
        assert answer.status_code == 200
        assert answer.json()["data"]["statusCode"] == 200
        hooks = served.receiver.received("charge.success", paid["reference"])
        assert len(hooks) == 2
        assert hooks[1].body == first.body
        assert hooks[1].headers["x-paystack-signature"] == first.headers["x-paystack-signature"]

    def test_resending_an_unknown_delivery_is_a_404(self, api: httpx.Client) -> None:
        answer = api.post("/_sandbox/webhooks/987654321/resend")
        assert answer.status_code == 404
        assert answer.json() == {"status": False, "message": "Webhook delivery not found"}


class TestBehaviour:
    def test_partial_updates_are_kept(self, api: httpx.Client) -> None:
        changed = api.put("/_sandbox/behaviour", json={"failStatus": 502, "webhooks": False})
        assert changed.status_code == 200
        expected = {**DEFAULT_BEHAVIOUR, "failStatus": 502, "webhooks": False}
        assert changed.json()["data"] == expected
        assert api.get("/_sandbox/behaviour").json()["data"] == expected

    @pytest.mark.parametrize(
        "body",
        [
            {"delaySeconds": -1},
            {"delaySeconds": "1"},
            {"failStatus": 200},
            {"failStatus": True},
            {"refundOutcome": "maybe"},
            {"webhooks": "yes"},
            {"surprise": 1},
        ],
    )
    def test_refuses_a_bad_switch(self, api: httpx.Client, body: dict[str, Any]) -> None:
        answer = api.put("/_sandbox/behaviour", json=body)
        assert answer.status_code == 400
        assert answer.json()["status"] is False
        assert api.get("/_sandbox/behaviour").json()["data"] == DEFAULT_BEHAVIOUR

    def test_a_delay_makes_a_short_timeout_client_time_out(
        self, api: httpx.Client, served: Served
    ) -> None:
        started = initialize(api)
        api.put("/_sandbox/behaviour", json={"delaySeconds": 0.5})
        impatient = httpx.Client(base_url=served.url, headers=AUTH, timeout=0.1)
        with impatient, pytest.raises(httpx.ReadTimeout):
            impatient.get(f"/transaction/verify/{started['reference']}")
        began = time.monotonic()
        assert verify(api, started["reference"])["status"] == "abandoned"
        assert time.monotonic() - began >= 0.5

    def test_an_outage_answers_its_status_until_switched_off(self, api: httpx.Client) -> None:
        started = initialize(api)
        api.put("/_sandbox/behaviour", json={"failStatus": 503})
        for answer in (
            api.get(f"/transaction/verify/{started['reference']}"),
            api.post("/transaction/initialize", json={"email": "a@example.com", "amount": 1000}),
            charge(api),
        ):
            assert answer.status_code == 503
            assert answer.json() == {"status": False, "message": "Sandbox outage"}
        assert api.put("/_sandbox/behaviour", json={"failStatus": None}).status_code == 200
        assert verify(api, started["reference"])["status"] == "abandoned"


class TestState:
    def test_no_card_number_or_cvv_is_ever_stored(
        self, receiver: tuple[Receiver, str], tmp_path: Path
    ) -> None:
        _, hooks_url = receiver
        number = luhn_completed("539983881234567")
        cvv = "9871"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        state_path = tmp_path / "state.db"
        server = serve(create_sandbox(sandbox_config(state_path, url, hooks_url)), port)
        try:
            with httpx.Client(base_url=url, headers=AUTH, timeout=10) as client:
                card = {**CARD, "number": number, "cvv": cvv}
                charged = charge(client, card=card, amount=123400).json()["data"]
                assert charged["authorization"] == {
                    **charged["authorization"],
                    "last4": number[-4:],
                    "brand": "mastercard",
                }
                started = initialize(client, amount=432100)
                grouped = " ".join(number[i : i + 4] for i in range(0, 16, 4))
                assert (
                    pay(client, started["authorization_url"], grouped, cvv=cvv).status_code == 200
                )
                for reference in (charged["reference"], started["reference"]):
                    eventually(lambda: deliveries(client, reference)[0]["attempts"] > 0)  # noqa: B023
        finally:
            server.stop()
        stored = b"".join(path.read_bytes() for path in tmp_path.glob("state.db*"))
        assert number[-4:].encode() in stored  # what is kept is there...
        for secret in (number, grouped, number[:12], cvv):
            assert secret.encode() not in stored  # ...and the number and the CVV are not

    def test_a_second_app_over_the_same_file_sees_the_same_state(
        self, api: httpx.Client, served: Served
    ) -> None:
        paid = charge(api, reference="survives-1").json()["data"]
        api.put("/_sandbox/behaviour", json={"refundOutcome": "failed"})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        second = serve(
            create_sandbox(sandbox_config(served.state_path, url, served.hooks_url)), port
        )
        try:
            with httpx.Client(base_url=url, headers=AUTH, timeout=10) as other:
                assert verify(other, "survives-1") == paid
                behaviour = other.get("/_sandbox/behaviour").json()["data"]
                assert behaviour["refundOutcome"] == "failed"
                started = initialize(other, reference="made-by-second")
        finally:
            second.stop()
        assert verify(api, "made-by-second")["status"] == "abandoned"
        assert started["authorization_url"].startswith(url)
