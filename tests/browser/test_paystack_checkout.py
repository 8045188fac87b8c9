"""A person pays on the offline Paystack checkout page in a real browser: the page works
offline, a declined card says so and lets them try again, an approved card takes them back
through the platform's callback to the frontend, and the payment has settled.

The window may reach the platform's loopback server only (the frontend it is sent back to
is answered by the test); any other request fails the test. The pages are photographed
into ``var/artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect

from tests.browser.panel import Film
from tests.payments.conftest import Platform, Shop, live_platform, platform, shop

__all__ = ["live_platform", "platform", "shop"]  # the payments fixtures, used here

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # What the page does does not depend on the database (the API's tests cover both).
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def test_a_person_pays_on_the_checkout_page(
    browser: Browser, platform: Platform, shop: Shop, film: Film
) -> None:
    with platform.http() as http:
        started = http.post(
            "/api/payments/initiate",
            json=shop.paystack_body(),
            headers=shop.headers(shop.student),
        ).json()["data"]
    frontend = platform.settings.payment_result_url
    outside: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if url.startswith(frontend):
            route.fulfill(status=200, content_type="text/html", body="<h1>Payment result</h1>")
        elif urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context = browser.new_context(viewport={"width": 1000, "height": 1100})
    context.route("**/*", guard)
    page = context.new_page()
    try:
        page.goto(started["authorizationUrl"])
        expect(page.get_by_text("NGN 5,000.00").first).to_be_visible()
        film.shoot(page, "checkout")

        page.get_by_role("button", name="4084 0800 0000 5408", exact=False).click()
        expect(page.get_by_text("declined", exact=False).first).to_be_visible()
        film.shoot(page, "declined")

        page.get_by_role("button", name="4084 0840 8408 4081", exact=False).click()
        page.wait_for_url(f"{frontend}*")
        film.shoot(page, "back-on-the-frontend")
    finally:
        context.close()

    outcome = parse_qs(urlsplit(page.url).query)
    assert outcome == {"reference": [started["transactionId"]], "status": ["success"]}
    assert outside == []
    with platform.http() as http:
        status = http.get(
            f"/api/payments/status/{started['transactionId']}",
            headers=shop.headers(shop.student),
        ).json()["data"]
    assert status["status"] == "success"
