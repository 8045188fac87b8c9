"""/docs and /redoc work offline: every file they load is served by the app itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

# The docs do not touch the database: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

DOC_PAGES = ["/docs", "/redoc"]
# Any absolute or scheme-relative address: a page that names one loads from elsewhere.
OUTSIDE_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?//[\w.-]+", re.IGNORECASE)
# In inline scripts, the quoted paths Swagger UI fetches (the document, the OAuth2 redirect).
SCRIPT_PATH = re.compile(r"""['"](/[^'"\s]*)['"]""")
LOADING_ATTRIBUTES = {"src", "href", "spec-url"}
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


class References(HTMLParser):
    """The addresses a page loads: src, href and ReDoc's spec-url, and paths in scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        self.urls += [value for name, value in attrs if name in LOADING_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.urls += SCRIPT_PATH.findall(data)


def references(page: str) -> list[str]:
    parser = References()
    parser.feed(page)
    return parser.urls


def expected_type(path: str) -> str:
    suffix = re.search(r"\.\w+$", path)
    return CONTENT_TYPES[suffix.group()] if suffix else "text/html"


@pytest.mark.parametrize("page", DOC_PAGES)
class TestDocsPages:
    def test_the_page_names_no_outside_address(self, client: TestClient, page: str) -> None:
        response = client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert OUTSIDE_URL.findall(response.text) == []
        # The browser itself refuses anything from another origin (ReDoc's footer logo).
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert OUTSIDE_URL.findall(policy) == []

    def test_every_file_it_loads_is_served_by_the_app(self, client: TestClient, page: str) -> None:
        urls = references(client.get(page).text)
        # The viewer, its style (Swagger UI), the icon and the OpenAPI document at least.
        assert len(urls) >= 3, urls
        assert "/openapi.json" in urls
        for url in urls:
            assert url.startswith("/"), url
            assert not url.startswith("//"), url
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith(expected_type(url)), url
            if url.endswith((".js", ".css")):
                assert len(response.content) > 10_000, url  # the real bundle, not a stub
