"""Request bodies have a limit, per route class, enforced while they stream in: before
authentication, rate limiting and parsing, and without reading the rest of a body that is
over it. Uploads may carry media.max_upload_bytes plus their form framing; everything else
api.max_body_bytes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.app import create_app
from api.limits import MULTIPART_OVERHEAD, body_limit
from core.settings import Settings
from tests.api.helpers import assert_error, data
from tests.conftest import free_port
from tests.fakes.server import ThreadedServer
from tests.services import media_samples as samples
from tests.world import World, world

__all__ = ["world"]

JSON_LIMIT = 64 * 1024
UPLOAD_LIMIT = 256 * 1024
UPLOAD = "/api/data/media-repository/upload"
PANEL_UPLOAD = "/admin/media-repository/create"
JSON_TOO_LARGE = "Request body too large: at most 64 KiB here"
UPLOAD_TOO_LARGE = "Request body too large: at most 320 KiB here"
CHUNK = 64 * 1024
# The start of a well-formed upload whose file part never ends.
FILE_PART = (
    b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)
CONTENT_TYPES = {
    UPLOAD: "multipart/form-data; boundary=x",
    "/api/auth/user/login": "application/json",
}


def limited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "api": settings.api.model_copy(update={"max_body_bytes": JSON_LIMIT}),
            "media": settings.media.model_copy(update={"max_upload_bytes": UPLOAD_LIMIT}),
            "ratelimit": settings.ratelimit.model_copy(update={"enabled": False}),
        }
    )


@pytest.fixture(scope="module")
def small_app(shared_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(limited(shared_settings))) as client:
        yield client


@pytest.fixture
def small(small_app: TestClient, shared_settings: Settings, engine: Any) -> Iterator[TestClient]:
    """The app with small limits; files it stored are removed after the test."""
    yield small_app
    shutil.rmtree(shared_settings.path(shared_settings.storage.local_root), ignore_errors=True)


def json_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    frame = b'{"email": "a@example.com", "password": ""}'
    return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]


def chunks(total: int, sent: list[int] | None = None, *, start: bytes = b"") -> Iterator[bytes]:
    """``total`` bytes in chunks, after ``start``, counting into ``sent`` what was taken."""
    if start:
        yield start
    while total > 0:
        piece = b"x" * min(CHUNK, total)
        total -= len(piece)
        if sent is not None:
            sent.append(len(piece))
        yield piece


class TestTheRouteClassDecidesTheLimit:
    def test_uploads_get_the_media_limit_plus_framing_and_the_rest_the_json_limit(
        self, shared_settings: Settings
    ) -> None:
        settings = limited(shared_settings)
        upload = UPLOAD_LIMIT + MULTIPART_OVERHEAD
        assert body_limit(settings, "POST", UPLOAD) == upload
        assert body_limit(settings, "POST", PANEL_UPLOAD) == upload
        assert body_limit(settings, "POST", "/api/data/course-catalog") == JSON_LIMIT
        assert body_limit(settings, "POST", "/admin/course-catalog/create") == JSON_LIMIT
        assert body_limit(settings, "PATCH", UPLOAD) == JSON_LIMIT

    def test_the_default_json_limit_holds_the_largest_quiz(self) -> None:
        # 100 questions of 1,000 characters with 10 choices of 300, every one \\u-escaped.
        assert Settings().api.max_body_bytes >= 100 * (1000 + 10 * 300) * 6


class TestDeclaredLength:
    def test_a_50_mb_json_body_is_refused_before_it_is_read_or_authenticated(
        self, client: TestClient
    ) -> None:
        body = b'{"courseName": "Big", "description": "' + b"x" * 50_000_000 + b'"}'
        response = client.post(
            "/api/data/course-catalog", content=body, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 413, "Request body too large: at most 4 MiB here")
        assert response.headers["connection"] == "close"
        assert response.headers["x-request-id"]

    def test_an_upload_declared_over_the_media_limit_is_refused(
        self, small: TestClient, world: World
    ) -> None:
        response = small.post(
            UPLOAD,
            data={"courseId": str(world.rows["courses"]["instructor_x"])},
            files={"file": ("big.png", samples.PNG + bytes(UPLOAD_LIMIT + MULTIPART_OVERHEAD), "")},
            headers=world.headers("instructor_x"),
        )
        assert_error(response, 413, UPLOAD_TOO_LARGE)

    def test_a_body_within_the_limit_is_parsed_as_usual(self, small: TestClient) -> None:
        response = small.post(
            "/api/auth/user/login",
            content=json_of(JSON_LIMIT),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code in (400, 401), response.text

    def test_the_panels_media_form_has_the_upload_limit_and_its_other_forms_the_json_one(
        self, small: TestClient
    ) -> None:
        # Not signed in: within the limit the panel sends the visitor to its sign-in page.
        within = small.post(PANEL_UPLOAD, content=bytes(UPLOAD_LIMIT), follow_redirects=False)
        assert within.status_code in (302, 303), within.text
        over = small.post(PANEL_UPLOAD, content=bytes(UPLOAD_LIMIT + MULTIPART_OVERHEAD + 1))
        assert_error(over, 413, UPLOAD_TOO_LARGE)
        form = small.post("/admin/course-catalog/create", content=bytes(JSON_LIMIT + 1))
        assert_error(form, 413, JSON_TOO_LARGE)


class TestCountedBytes:
    def test_a_content_length_that_lies_does_not_let_a_larger_body_through(
        self, small: TestClient
    ) -> None:
        response = small.post(
            "/api/auth/user/login",
            content=json_of(JSON_LIMIT + 1),
            headers={"Content-Type": "application/json", "Content-Length": "40"},
        )
        assert_error(response, 413, JSON_TOO_LARGE)

    def test_a_chunked_body_is_counted_as_it_streams(self, small: TestClient) -> None:
        sent: list[int] = []
        response = small.post(
            "/api/auth/user/login",
            content=chunks(4 * JSON_LIMIT, sent),
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 413, JSON_TOO_LARGE)


class TestUploadsKeepTheirOwnLimit:
    def test_a_file_larger_than_the_json_limit_is_uploaded(
        self, small: TestClient, world: World
    ) -> None:
        content = samples.PNG + bytes(2 * JSON_LIMIT)
        created = data(
            small.post(
                UPLOAD,
                data={"courseId": str(world.rows["courses"]["instructor_x"])},
                files={"file": ("cover.png", content, "image/png")},
                headers=world.headers("instructor_x"),
            ),
            201,
        )
        assert created["mediaType"] == "image"


class ReadCounter:
    """Outermost layer of the served app: how many body bytes the server handed it."""

    def __init__(self, app: ASGIApp, counts: list[int]) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            self.counts.append(len(message.get("body", b"")))
            return message

        await self.app(scope, counted, send)


@pytest.fixture(scope="module")
def served(shared_settings: Settings) -> Iterator[tuple[str, list[int]]]:
    """The small-limit app behind uvicorn on a loopback port, with its read counter."""
    app: FastAPI = create_app(limited(shared_settings))
    counts: list[int] = []
    app.add_middleware(ReadCounter, counts=counts)
    server = ThreadedServer(app, free_port())
    server.start()
    yield server.base_url, counts
    server.stop()


class TestOverRealHttp:
    @pytest.mark.parametrize(
        ("path", "limit", "message", "start"),
        [
            (UPLOAD, UPLOAD_LIMIT + MULTIPART_OVERHEAD, UPLOAD_TOO_LARGE, FILE_PART),
            ("/api/auth/user/login", JSON_LIMIT, JSON_TOO_LARGE, b'{"email": "'),
        ],
    )
    def test_an_anonymous_chunked_body_is_refused_without_being_read_whole(
        self, served: tuple[str, list[int]], path: str, limit: int, message: str, start: bytes
    ) -> None:
        # Stands for the 256 MB anonymous upload: what matters is that the server stops
        # reading at the limit instead of reading everything before its 401.
        base_url, counts = served
        counts.clear()
        sent: list[int] = []
        total = 64 * 1024 * 1024
        with httpx.Client(base_url=base_url, timeout=10) as http:
            response = http.post(
                path,
                content=chunks(total, sent, start=start),
                headers={"Content-Type": CONTENT_TYPES[path]},
            )
        assert_error(response, 413, message)
        # Reading stops at the first message past the limit. uvicorn hands over what arrived
        # since the last read, so one message may hold more than a client chunk.
        assert sum(counts[:-1]) <= limit < sum(counts)
        assert sum(counts) < total / 100
        assert sum(sent) < total / 2  # the client was stopped, not drained
