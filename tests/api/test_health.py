"""Liveness and readiness: /readyz answers 503 when the database or Redis is unreachable."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from tests.conftest import base_settings, free_port


def readyz(settings: Settings) -> tuple[int, dict[str, object]]:
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        return response.status_code, response.json()


def test_healthz_only_needs_the_process(tmp_path: Path) -> None:
    dead_db = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    with TestClient(create_app(base_settings(tmp_path, dead_db))) as client:
        assert client.get("/healthz").status_code == 200


def test_ready_when_the_database_answers(settings: Settings) -> None:
    status, body = readyz(settings)
    assert status == 200
    assert body["data"] == {"database": "ok", "redis": "not configured"}


def test_ready_with_redis_configured(settings: Settings, redis_url: str) -> None:
    status, body = readyz(
        settings.model_copy(update={"redis": settings.redis.model_copy(update={"url": redis_url})})
    )
    assert status == 200
    assert body["data"] == {"database": "ok", "redis": "ok"}


def test_not_ready_when_redis_is_unreachable(settings: Settings) -> None:
    redis = settings.redis.model_copy(update={"url": f"redis://127.0.0.1:{free_port()}/0"})
    status, body = readyz(settings.model_copy(update={"redis": redis}))
    assert status == 503
    assert body["status"] == "error"
    assert body["error"] == {"errorCode": 503, "message": "Service not ready"}
    assert body["data"] == {"database": "ok", "redis": "unreachable"}


def test_not_ready_when_the_database_is_unreachable(tmp_path: Path) -> None:
    dead_db = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    status, body = readyz(base_settings(tmp_path, dead_db))
    assert status == 503
    assert body["data"] == {"database": "unreachable", "redis": "not configured"}
