"""Rate limits, in memory (embedded default) and in Redis (shared by every API process)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import redis
from fastapi.testclient import TestClient

from api.app import create_app
from api.ratelimit import ACCESS_TOKEN_AUDIENCE, caller_key
from core.settings import Settings
from tests.api.helpers import assert_error, bearer, data, login, register
from tests.conftest import free_port

# A long window keeps a test from straddling two windows (and so from flaking).
WINDOW = 3600


def limited(settings: Settings, redis_url: str = "", **limits: int) -> Settings:
    ratelimit = settings.ratelimit.model_copy(update={"window_seconds": WINDOW, **limits})
    return settings.model_copy(
        update={
            "ratelimit": ratelimit,
            "redis": settings.redis.model_copy(update={"url": redis_url}),
        }
    )


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """'' for the in-memory limiter, or the URL of a clean Redis database."""
    if request.param == "memory":
        yield ""
        return
    url: str = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


def client_for(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


class TestSignInAttempts:
    def test_the_eleventh_attempt_in_a_window_is_429(
        self, auth_settings: Settings, store: str
    ) -> None:
        with client_for(limited(auth_settings, store)) as client:
            register(client, "ada@example.com")  # attempt 1 for this IP
            for _ in range(9):
                assert login(client, "ada@example.com", "wrong-password").status_code == 401
            response = login(client, "ada@example.com")
            assert_error(response, 429, "Too many requests, try again later")
            assert 0 < int(response.headers["Retry-After"]) <= WINDOW

    def test_attempts_are_counted_per_email_too(self, auth_settings: Settings, store: str) -> None:
        app = create_app(limited(auth_settings, store, auth_attempts_per_minute=3))
        with TestClient(app, client=("198.51.100.7", 5000)) as client:
            for _ in range(3):
                login(client, "target@example.com", "guess-guess")
        # A different client address, the same target: still refused.
        with TestClient(app, client=("203.0.113.9", 5000)) as other:
            assert login(other, "target@example.com", "guess-guess").status_code == 429
            assert login(other, "someone.else@example.com", "guess-guess").status_code == 401


class TestRequests:
    def test_each_user_has_their_own_budget(self, auth_settings: Settings, store: str) -> None:
        with client_for(limited(auth_settings, store, requests_per_minute=4)) as client:
            ada = register(client, "ada@example.com")["token"]  # request 1 of this IP
            bob = register(client, "bob@example.com")["token"]  # request 2 of this IP
            for _ in range(4):
                data(client.get("/api/auth/user/profile", headers=bearer(ada)))
            response = client.get("/api/auth/user/profile", headers=bearer(ada))
            assert_error(response, 429, "Too many requests, try again later")
            assert response.headers["Retry-After"]
            assert response.headers["X-Request-ID"]
            data(client.get("/api/auth/user/profile", headers=bearer(bob)))

    def test_anonymous_callers_are_counted_per_address(
        self, auth_settings: Settings, store: str
    ) -> None:
        with client_for(limited(auth_settings, store, requests_per_minute=2)) as client:
            for _ in range(2):
                assert client.get("/api/auth/user/profile").status_code == 401
            assert client.get("/api/auth/user/profile").status_code == 429
            # Health probes are never limited.
            assert client.get("/healthz").status_code == 200


class TestExemptPaths:
    WEBHOOK = "/api/payments/webhooks/paystack"

    def test_webhooks_are_never_counted_nor_refused(
        self, auth_settings: Settings, jobs_inline: None, store: str
    ) -> None:
        with client_for(limited(auth_settings, store, requests_per_minute=2)) as client:
            for _ in range(5):
                # Unsigned, so refused by the route (401): never a 429 from the limiter.
                assert (
                    client.post(self.WEBHOOK, json={"event": "charge.success"}).status_code == 401
                )
            # The budget is untouched: two requests, then the third is refused.
            for _ in range(2):
                assert client.get("/api/auth/user/profile").status_code == 401
            assert client.get("/api/auth/user/profile").status_code == 429
            assert client.post(self.WEBHOOK, json={}).status_code == 401

    @pytest.mark.parametrize(
        "path", ["/api/payments/webhooks", "/api/payments/webhook/paystack", "/api/payments/x"]
    )
    def test_look_alike_paths_are_still_limited(
        self, auth_settings: Settings, jobs_inline: None, store: str, path: str
    ) -> None:
        with client_for(limited(auth_settings, store, requests_per_minute=2)) as client:
            for _ in range(2):
                assert client.post(path, json={}).status_code == 404
            assert_error(client.post(path, json={}), 429, "Too many requests, try again later")


class TestSharedCounters:
    def test_api_processes_share_counters_in_redis(
        self, auth_settings: Settings, redis_url: str
    ) -> None:
        redis.Redis.from_url(redis_url).flushdb()
        settings = limited(auth_settings, redis_url, requests_per_minute=3)
        with client_for(settings) as first, client_for(settings) as second:
            assert first.get("/api/auth/user/profile").status_code == 401
            assert second.get("/api/auth/user/profile").status_code == 401
            assert first.get("/api/auth/user/profile").status_code == 401
            assert second.get("/api/auth/user/profile").status_code == 429
        assert redis.Redis.from_url(redis_url).keys("lms:rl:*")
        redis.Redis.from_url(redis_url).flushdb()

    def test_an_unreachable_redis_does_not_block_sign_in(self, auth_settings: Settings) -> None:
        dead = f"redis://127.0.0.1:{free_port()}/0"
        with client_for(limited(auth_settings, dead)) as client:
            assert register(client, "ada@example.com")["token"]
            assert data(login(client, "ada@example.com"))


class TestWhoIsCounted:
    """``caller_key``: a user's own budget only for a token the API would accept."""

    SECRET = "test-only-secret-that-is-long-enough"

    def token(self, **claims: object) -> str:
        return jwt.encode(
            {"sub": "7", "aud": ACCESS_TOKEN_AUDIENCE, **claims}, self.SECRET, algorithm="HS256"
        )

    def scope(self, token: str) -> dict[str, object]:
        return {
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "client": ("203.0.113.9", 1234),
        }

    def test_a_valid_access_token_counts_against_its_user(self) -> None:
        token = self.token(exp=int(time.time()) + 60)
        assert caller_key(self.scope(token), self.SECRET) == "user:7"

    def test_a_token_without_expiry_counts_against_the_address(self) -> None:
        assert caller_key(self.scope(self.token()), self.SECRET) == "ip:203.0.113.9"

    def test_an_expired_token_counts_against_the_address(self) -> None:
        token = self.token(exp=int(time.time()) - 60)
        assert caller_key(self.scope(token), self.SECRET) == "ip:203.0.113.9"
