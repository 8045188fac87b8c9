"""A person at a browser window on the admin panel, and the film of what they saw.

Every page a test visits is photographed (full page) into ``var/artifacts/screenshots/<test>/``
so a failure in CI can be read as a strip of pictures, in the order the story happened.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, Response, expect


class Film:
    """The numbered screenshots of one test, shared by every window it opens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def shoot(self, page: Page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


class Panel:
    """One person's window (their own cookies) on the panel served at ``base_url``."""

    def __init__(self, page: Page, base_url: str, film: Film, who: str) -> None:
        self.page = page
        self.base_url = base_url
        self.film = film
        self.who = who

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def snap(self, step: str) -> None:
        self.film.shoot(self.page, f"{self.who}-{step}")

    def visit(self, path: str, step: str) -> Response | None:
        """Type ``path`` in the address bar; the answer (its status) is returned."""
        response = self.page.goto(self.url(path))
        self.snap(step)
        return response

    # -- signing in and out ----------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> None:
        """Fill the sign-in form and send it; where it lands is for the test to check."""
        self.visit("/admin/login", "sign-in-form")
        self.page.fill("input[name=username]", email)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="Login").click()
        self.snap("signed-in" if "/login" not in self.page.url else "sign-in-refused")

    def sign_out(self) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("link", name="Logout").click()
        self.snap("signed-out")

    # -- forms -----------------------------------------------------------------------------

    def fill(self, **values: str) -> None:
        for name, value in values.items():
            self.page.fill(f"[name={name}]", value)

    def choose(self, name: str, label: str) -> None:
        self.page.select_option(f"select[name={name}]", label=label)

    def save(self, lands_on: str, step: str) -> None:
        """Press Save and wait until the panel lands on ``lands_on`` (a form with an error
        stays where it is, so the wait fails and the film shows the message)."""
        self.snap("form-filled")
        self.page.locator("input[type=submit][value=Save]").click()
        try:
            self.page.wait_for_url(self.url(lands_on))
        finally:
            self.snap(step)

    # -- what the page shows ---------------------------------------------------------------

    def rows(self, text: str) -> Locator:
        """The rows of the list on the page that show ``text``."""
        return self.page.locator("table tbody tr", has_text=text)

    def open_row(self, text: str, step: str) -> int:
        """Open the details page of the list's row showing ``text``; its id is returned."""
        with self.page.expect_navigation():
            self.rows(text).locator("a[href*='/details/']").first.click()
        self.snap(step)
        return int(self.page.url.rstrip("/").rsplit("/", 1)[-1])

    def expect_menu(self, *, has: str | None = None, lacks: str | None = None) -> None:
        menu = self.page.locator("#navbar-menu")
        if has is not None:
            expect(menu.get_by_role("link", name=has, exact=True)).to_be_visible()
        if lacks is not None:
            expect(menu.get_by_role("link", name=lacks, exact=True)).to_have_count(0)
