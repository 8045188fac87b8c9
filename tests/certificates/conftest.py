"""Certificates over real HTTP: the live platform of the payment tests, shared here."""

from tests.payments.conftest import browser, http, live_platform, platform, shop

__all__ = ["browser", "http", "live_platform", "platform", "shop"]
