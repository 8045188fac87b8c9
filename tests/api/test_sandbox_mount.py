"""The offline Paystack sandbox is part of the app only where the settings ask for it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def test_mounted_at_its_base_url_by_default(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        home = client.get("/sandbox/paystack/")
        assert home.status_code == 200
        assert "Offline Paystack sandbox" in home.text
        # Its API wants the platform's secret key, as Paystack's does.
        assert client.get("/sandbox/paystack/transaction/verify/tx-1").status_code == 401


def test_absent_when_switched_off(settings: Settings) -> None:
    off = settings.model_copy(
        update={"paystack": settings.paystack.model_copy(update={"sandbox": False})}
    )
    with TestClient(create_app(off)) as client:
        assert client.get("/sandbox/paystack/").status_code == 404
