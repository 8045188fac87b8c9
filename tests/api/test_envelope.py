"""Every answer is the seed's envelope: successes, client errors and server errors alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import Engine, text

from api.app import create_app
from api.deps import SessionDep
from api.schemas.base import CamelModel
from core.errors import Conflict
from core.settings import Settings
from tests.conftest import reset_app

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class Enrolment(CamelModel):
    course_id: int
    user_id: int


class Echo(BaseModel):
    received: dict[str, int]


def probe_router() -> APIRouter:
    """Routes that exist only in these tests, to exercise the error paths."""
    router = APIRouter(prefix="/probe")

    @router.post("/echo")
    async def echo(body: Enrolment) -> dict[str, Any]:
        return {"status": "success", "data": body.model_dump(by_alias=True)}

    @router.get("/crash")
    async def crash() -> None:
        raise RuntimeError("password=hunter2 SELECT * FROM users")

    @router.get("/conflict")
    async def conflict() -> None:
        raise Conflict("User already enrolled")

    @router.post("/duplicate")
    async def duplicate(session: SessionDep) -> None:
        insert = (
            "INSERT INTO users (username, email, name, password_hash) "
            "VALUES ('dup', 'dup@example.com', 'D', '!')"
        )
        await session.execute(text(insert))
        await session.execute(text(insert))

    @router.post("/deferred-failure")
    async def deferred_failure(session: SessionDep) -> dict[str, str]:
        # SQLite checks deferred foreign keys at COMMIT: the write fails only then.
        await session.execute(text("PRAGMA defer_foreign_keys = ON"))
        await session.execute(
            text("INSERT INTO course_catalog (course_id, is_active) VALUES (999999, false)")
        )
        return {"status": "success"}

    return router


@pytest.fixture(scope="module")
def probe_app(shared_settings: Settings) -> Iterator[TestClient]:
    """The app with the probe routes, built once per backend for this file's tests."""
    application = create_app(shared_settings)
    application.include_router(probe_router())
    with TestClient(application) as test_client:
        yield test_client


@pytest.fixture
def probe(engine: Engine, probe_app: TestClient) -> TestClient:
    return reset_app(probe_app)


def assert_error(body: dict[str, Any], status: int, message: str) -> None:
    assert body["status"] == "error"
    assert body["data"] is None
    assert body["error"]["errorCode"] == status
    assert body["error"]["message"] == message
    assert TIMESTAMP.match(body["timestamp"])


class TestSuccess:
    def test_success_is_wrapped_with_a_utc_timestamp(self, client: TestClient) -> None:
        response = client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert list(body) == ["status", "data", "timestamp"]
        assert body["status"] == "success"
        assert body["data"] == {"alive": True}
        assert TIMESTAMP.match(body["timestamp"])

    def test_request_fields_are_camel_case(self, probe: TestClient) -> None:
        response = probe.post("/probe/echo", json={"courseId": 3, "userId": 7})
        assert response.status_code == 200
        assert response.json()["data"] == {"courseId": 3, "userId": 7}


class TestClientErrors:
    def test_malformed_json_is_400(self, probe: TestClient) -> None:
        response = probe.post(
            "/probe/echo", content=b'{"courseId": 3,', headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert_error(response.json(), 400, "Invalid input data")
        assert response.json()["error"]["details"][0]["message"] == "Malformed JSON"

    def test_wrong_type_is_400_naming_the_field(self, probe: TestClient) -> None:
        response = probe.post("/probe/echo", json={"courseId": "three", "userId": 7})
        assert response.status_code == 400
        assert_error(response.json(), 400, "Invalid input data")
        assert [d["field"] for d in response.json()["error"]["details"]] == ["courseId"]

    def test_missing_field_is_400_naming_the_field(self, probe: TestClient) -> None:
        response = probe.post("/probe/echo", json={"courseId": 3})
        assert response.status_code == 400
        details = response.json()["error"]["details"]
        assert details == [{"field": "userId", "message": "Field required"}]

    def test_unknown_field_is_400(self, probe: TestClient) -> None:
        response = probe.post("/probe/echo", json={"courseId": 3, "userId": 7, "role": "admin"})
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["field"] == "role"

    def test_unknown_route_is_404(self, client: TestClient) -> None:
        response = client.get("/api/nothing/here")
        assert response.status_code == 404
        assert_error(response.json(), 404, "Resource not found")

    def test_wrong_method_is_405(self, client: TestClient) -> None:
        response = client.delete("/healthz")
        assert response.status_code == 405
        assert_error(response.json(), 405, "Method not allowed")
        assert response.headers["allow"] == "GET"

    def test_domain_errors_keep_their_status_and_message(self, probe: TestClient) -> None:
        response = probe.get("/probe/conflict")
        assert response.status_code == 409
        assert_error(response.json(), 409, "User already enrolled")

    def test_a_constraint_violation_is_a_conflict_and_nothing_is_written(
        self, probe: TestClient, settings: Settings
    ) -> None:
        response = probe.post("/probe/duplicate")
        assert response.status_code == 409
        assert_error(response.json(), 409, "The request conflicts with existing data")
        from core.database import make_sync_engine

        engine = make_sync_engine(settings)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 0
        engine.dispose()


class TestUnitOfWork:
    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    def test_a_commit_that_fails_is_an_error_answer_not_a_silent_success(
        self, probe: TestClient, settings: Settings
    ) -> None:
        response = probe.post("/probe/deferred-failure")
        assert_error(response.json(), 409, "The request conflicts with existing data")
        assert response.status_code == 409
        from core.database import make_sync_engine

        engine = make_sync_engine(settings)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM course_catalog")).scalar() == 0
        engine.dispose()


class TestServerErrors:
    def test_unexpected_error_is_500_without_internals(
        self, probe: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        response = probe.get("/probe/crash")
        assert response.status_code == 500
        assert_error(response.json(), 500, "Server error occurred")
        assert "hunter2" not in response.text
        assert "SELECT" not in response.text
        assert "Traceback" not in response.text
        # The details are for the operators: in the log, with the request's id.
        crash = [r for r in caplog.records if r.getMessage().find("unhandled error") >= 0]
        assert crash
        assert crash[0].exc_info is not None


class TestCorrelationId:
    def test_a_request_id_is_generated_and_echoed(self, client: TestClient) -> None:
        first = client.get("/healthz").headers["x-request-id"]
        second = client.get("/healthz").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", first)
        assert first != second

    def test_the_callers_request_id_is_kept(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "frontend-42.a"})
        assert response.headers["x-request-id"] == "frontend-42.a"

    def test_an_unsafe_request_id_is_replaced(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-ID": "x" * 300})
        assert response.headers["x-request-id"] != "x" * 300

    def test_errors_carry_the_request_id_too(self, probe: TestClient) -> None:
        response = probe.get("/probe/crash", headers={"X-Request-ID": "trace-500"})
        assert response.headers["x-request-id"] == "trace-500"

    def test_every_log_line_of_a_request_carries_its_id(
        self, probe: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.clear()
        probe.get("/probe/crash", headers={"X-Request-ID": "trace-logs"})
        ours = [r for r in caplog.records if r.name.startswith("api.")]
        assert len(ours) >= 2  # the error and the access line
        for record in ours:
            assert isinstance(record.msg, dict)
            assert record.msg["request_id"] == "trace-logs"
