"""The payment result page the platform serves while no web frontend stands in front of it
(where the Paystack callback sends the payer on the embedded default)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import assert_error

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class TestPaymentResultPage:
    @pytest.mark.parametrize(
        ("status", "title"),
        [
            ("success", "Payment successful"),
            ("failed", "Payment failed"),
            ("pending", "Payment pending"),
            ("unknown", "Payment not found"),
        ],
    )
    def test_says_how_the_payment_ended(self, client: TestClient, status: str, title: str) -> None:
        page = client.get("/payments/result", params={"status": status, "reference": "tx-1a2b"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert f"<h1>{title}</h1>" in page.text
        assert "tx-1a2b" in page.text
        # Nothing loads from elsewhere: it works offline.
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "http" not in page.text.lower().replace("http-equiv", "")

    def test_refuses_what_no_callback_sends(self, client: TestClient) -> None:
        answer = client.get("/payments/result", params={"reference": "<script>alert(1)</script>"})
        assert_error(answer, 400, "Invalid input data")
        assert_error(client.get("/payments/result?status=stolen"), 400, "Invalid input data")
