"""The one rule for URLs people type in (a course's cover image, an avatar, an external media
link): absolute http(s) URLs with a host, nothing else.

A ``javascript:`` or ``data:`` URL in a field that a page turns into a link or an image is a
script waiting to run; a relative or scheme-less one is an open redirect waiting to happen.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})


def web_url_problem(url: str) -> str | None:
    """Why ``url`` is not an absolute http(s) URL, or None when it is one."""
    if url != url.strip() or any(ord(char) < 33 or ord(char) == 127 for char in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "must be an http(s) URL"
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return "must be an http(s) URL"
    return None


def is_web_url(url: str) -> bool:
    return web_url_problem(url) is None
