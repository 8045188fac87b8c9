"""Small helpers shared by the API tests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
PASSWORD = "correct-horse-battery"


def assert_error(response: Any, status: int, message: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["data"] is None
    assert body["error"]["errorCode"] == status
    assert body["error"]["message"] == message
    assert TIMESTAMP.match(body["timestamp"])
    return body


def invalid_fields(response: Any) -> list[str]:
    body = assert_error(response, 400, "Invalid input data")
    return [problem["field"] for problem in body["error"]["details"]]


def data(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "success"
    assert TIMESTAMP.match(body["timestamp"])
    return body["data"]


def register(
    client: TestClient, email: str, password: str = PASSWORD, name: str = "Test User", **extra: Any
) -> dict[str, Any]:
    payload = {"email": email, "password": password, "name": name} | extra
    result: dict[str, Any] = data(client.post("/api/auth/user/register", json=payload))
    return result


def login(client: TestClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/auth/user/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
