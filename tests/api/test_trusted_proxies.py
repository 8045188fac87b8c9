"""The client's address comes from X-Forwarded-For only when a trusted proxy sends it.

Otherwise a client could name any address in the header, and rotating it would give each
request a fresh per-IP budget (sign-in attempts, anonymous requests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from cli.main import server_options
from core.settings import ServerSettings, Settings
from tests.api.helpers import assert_error
from tests.conftest import free_port

# Who proxies what does not depend on the database: one backend is enough.
ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

BUDGET = 3
# Counted per client address: nobody is signed in.
ANONYMOUS = "/api/auth/user/profile"
PROXY = ("10.0.0.5", 40000)


def app_for(settings: Settings, *trusted_proxies: str) -> FastAPI:
    ratelimit = settings.ratelimit.model_copy(
        update={"requests_per_minute": BUDGET, "window_seconds": 3600}
    )
    server = ServerSettings(trusted_proxies=list(trusted_proxies))
    return create_app(settings.model_copy(update={"ratelimit": ratelimit, "server": server}))


def forwarded_for(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def rotating(count: int) -> Iterator[dict[str, str]]:
    return (forwarded_for(f"203.0.113.{n}") for n in range(1, count + 1))


def spend_budget_rotating(client: TestClient | httpx.Client) -> httpx.Response:
    """BUDGET requests each naming a new client, then one more: its answer."""
    for headers in rotating(BUDGET):
        assert client.get(ANONYMOUS, headers=headers).status_code == 401
    return client.get(ANONYMOUS, headers=forwarded_for("198.51.100.77"))


@ONE_BACKEND
class TestByDefault:
    def test_a_rotated_header_does_not_make_a_new_client(self, settings: Settings) -> None:
        # A local peer: the kind uvicorn's own proxy headers believe by default.
        with TestClient(app_for(settings), client=("127.0.0.1", 50000)) as client:
            response = spend_budget_rotating(client)
        assert_error(response, 429, "Too many requests, try again later")

    def test_the_server_of_lms_serve_and_lms_run_does_not_read_the_header(
        self, settings: Settings
    ) -> None:
        # The whole path, as the commands serve it: uvicorn on loopback, then the app.
        with served(app_for(settings)) as base_url, httpx.Client(base_url=base_url) as client:
            response = spend_budget_rotating(client)
        assert_error(response, 429, "Too many requests, try again later")


@ONE_BACKEND
class TestFromATrustedProxy:
    def test_the_forwarded_client_is_the_one_counted(self, settings: Settings) -> None:
        with TestClient(app_for(settings, "10.0.0.0/24"), client=PROXY) as proxy:
            for _ in range(BUDGET):
                assert proxy.get(ANONYMOUS, headers=forwarded_for("203.0.113.1")).status_code == 401
            response = proxy.get(ANONYMOUS, headers=forwarded_for("203.0.113.1"))
            assert_error(response, 429, "Too many requests, try again later")
            # Another client behind the same proxy, and the proxy itself, have their own.
            assert proxy.get(ANONYMOUS, headers=forwarded_for("203.0.113.2")).status_code == 401
            assert proxy.get(ANONYMOUS).status_code == 401

    def test_the_client_is_the_address_before_the_trusted_hops(self, settings: Settings) -> None:
        # client -> proxy 10.0.0.7 -> proxy 10.0.0.5 -> app: both proxies are trusted.
        with TestClient(app_for(settings, "10.0.0.0/24"), client=PROXY) as proxy:
            for _ in range(BUDGET):
                chain = forwarded_for("203.0.113.9, 10.0.0.7")
                assert proxy.get(ANONYMOUS, headers=chain).status_code == 401
            # A client cannot hide in front of its real address by prepending others.
            spoofed = forwarded_for("192.0.2.1, 203.0.113.9, 10.0.0.7")
            assert proxy.get(ANONYMOUS, headers=spoofed).status_code == 429
            other = forwarded_for("203.0.113.10, 10.0.0.7")
            assert proxy.get(ANONYMOUS, headers=other).status_code == 401

    def test_a_peer_not_listed_is_not_believed(self, settings: Settings) -> None:
        app = app_for(settings, "10.0.0.0/24", "192.0.2.10")
        with TestClient(app, client=("192.0.2.50", 40000)) as client:
            response = spend_budget_rotating(client)
        assert_error(response, 429, "Too many requests, try again later")


class TestTheSetting:
    def test_it_is_empty_by_default(self) -> None:
        assert Settings().server.trusted_proxies == []

    def test_addresses_and_networks_of_both_families_are_accepted(self) -> None:
        entries = ["10.0.0.5", "10.0.0.0/8", "::1", "fd00::/8"]
        assert ServerSettings(trusted_proxies=entries).trusted_proxies == entries

    @pytest.mark.parametrize("entry", ["*", "proxy.internal", "10.0.0.1/8", "10.0.0.0/33"])
    def test_anything_else_is_refused_with_its_value(self, entry: str) -> None:
        # uvicorn would take it for a name no connection ever has, and trust nobody.
        with pytest.raises(ValidationError, match="is not an IP address or CIDR network"):
            ServerSettings(trusted_proxies=[entry])


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn with the options of ``lms serve`` and ``lms run``."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, **server_options("127.0.0.1", port)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
