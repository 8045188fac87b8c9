"""/docs and /redoc in a real browser with no way out: every operation renders offline.

The window may reach the app's loopback server only; any other request is refused and fails
the test (a CDN script, a web font, a logo). The pages are photographed into
``var/artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.panel import Film

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # The pages do not depend on the database.
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOGIN_PATH = "/api/auth/user/login"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@dataclass
class OfflineWindow:
    page: Page
    base_url: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None
        assert response.status == 200


@pytest.fixture
def window(browser: Browser, live_server: str) -> Iterator[OfflineWindow]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    offline = OfflineWindow(page, live_server)

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            offline.outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page.on("pageerror", lambda error: offline.errors.append(str(error)))
    yield offline
    context.close()


def snap(film: Film, page: Page, step: str) -> None:
    """The window as the reader sees it (the whole pages are tens of megapixels)."""
    film.count += 1
    page.screenshot(path=str(film.folder / f"{film.count:02d}-{step}.png"))


@pytest.fixture
def document(live_server: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{live_server}/openapi.json").json()
    return answer


def count_operations(document: dict[str, Any]) -> int:
    count = sum(len(METHODS & set(item)) for item in document["paths"].values())
    assert count > 50, count  # the whole API, not a stub
    return count


def test_swagger_ui_renders_every_operation(
    window: OfflineWindow, document: dict[str, Any], film: Film
) -> None:
    window.open("/docs")
    page = window.page
    path = page.locator(f".opblock-summary-path[data-path='{LOGIN_PATH}']")
    login = page.locator(".opblock-post", has=path)
    expect(login).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(count_operations(document))
    snap(film, page, "swagger-ui")
    # An operation opens on its schemas: the document was read, not only the page shell.
    login.locator(".opblock-summary").click()
    expect(login.get_by_text("Request body")).to_be_visible()
    login.scroll_into_view_if_needed()
    snap(film, page, "swagger-ui-login-opened")
    assert window.outside == []
    assert window.errors == []


def test_redoc_renders_every_operation(
    window: OfflineWindow, document: dict[str, Any], film: Film
) -> None:
    window.open("/redoc")
    page = window.page
    expect(page.locator("[data-section-id^='operation/']")).to_have_count(
        count_operations(document)
    )
    login_id = document["paths"][LOGIN_PATH]["post"]["operationId"]
    login = page.locator(f"[data-section-id='operation/{login_id}']")
    expect(login).to_contain_text(LOGIN_PATH)
    expect(login).to_contain_text("Request Body schema")
    snap(film, page, "redoc")
    login.scroll_into_view_if_needed()
    snap(film, page, "redoc-login")
    assert window.outside == []
    assert window.errors == []
