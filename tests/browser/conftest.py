"""Browser fixtures: the app served on a loopback port, and Debian's headless Chromium.

The browser is the system's (``make install`` installs it); Playwright never downloads one.
Without Chromium the tests skip on a developer's machine and fail in CI (``CI=true``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from api.app import create_app
from core.passwords import hash_password
from core.settings import PROJECT_ROOT, Settings
from tests.browser.panel import Film, Panel
from tests.conftest import IN_CI, free_port
from tests.fakes.server import ThreadedServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI containers run as root, where the sandbox cannot start
    "--disable-gpu",
    "--no-first-run",
    # Chromium otherwise calls Google's services in the background (QUIC, updates, sync):
    # a test must not depend on them, and closed networks (CI, sandboxes) refuse them.
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "var" / "artifacts" / "screenshots"
PASSWORD = "browser-password-123"

# A sign-in hashes with Argon2 and a CI runner can be slow; a real failure still shows fast
# enough, and its screenshot tells the story.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: one Chromium for the file, closed before other (async) tests run.
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; `make install` installs Debian's chromium"
        if IN_CI:
            pytest.fail(f"{reason} (required in CI)")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    # Hashed once: Argon2 is deliberately slow.
    return hash_password(PASSWORD)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The whole app served by uvicorn on a free loopback port; its base URL.

    The platform's public URL is the server's own, so the panel's links, redirects and
    form actions (absolute URLs built from it) lead back to this server.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    served = settings.model_copy(
        update={"app": settings.app.model_copy(update={"public_url": url})}
    )
    server = ThreadedServer(create_app(served), port)
    server.start()
    yield url
    server.stop()


@pytest.fixture
def film(request: pytest.FixtureRequest) -> Film:
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    folder = SCREENSHOTS / name
    shutil.rmtree(folder, ignore_errors=True)  # only this run's pictures
    folder.mkdir(parents=True)
    return Film(folder)


OpenPanel = Callable[[str], Panel]


@pytest.fixture
def open_panel(
    browser: Browser, live_server: str, film: Film, request: pytest.FixtureRequest
) -> Iterator[OpenPanel]:
    """``open_panel(who)``: a new window with its own cookies, as a new person would have."""
    contexts: list[BrowserContext] = []
    panels: list[Panel] = []

    def opened(who: str) -> Panel:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        panel = Panel(context.new_page(), live_server, film, who)
        panels.append(panel)
        return panel

    yield opened
    report = request.node.stash.get(CALL_REPORT, None)
    if report is not None and report.failed:
        for panel in panels:
            panel.snap("at-failure")
    for context in contexts:
        context.close()


CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Kept so a failed test's windows are photographed as they were when it failed.
    report = yield
    if report.when == "call":
        item.stash[CALL_REPORT] = report
    return report
