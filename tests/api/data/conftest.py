"""The data API's tests share the world of tests/world.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.settings import Settings
from tests.world import World, token_for, world

__all__ = ["World", "token_for", "world"]


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    # Generous limits: the matrix sends many requests from one address.
    relaxed = settings.model_copy(
        update={"ratelimit": settings.ratelimit.model_copy(update={"enabled": False})}
    )
    with TestClient(create_app(relaxed)) as client:
        yield client
