"""The data API's tests share the world of tests/world.py, and one app per database backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from tests.conftest import base_settings
from tests.world import World, token_for, world

__all__ = ["World", "token_for", "world"]


@pytest.fixture(scope="session")
def api(migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app, built once per backend: these tests call it with bearer tokens only (no
    cookies, no files), and the database is emptied after each test as usual."""
    url = migrated_engine.url.render_as_string(hide_password=False)
    settings = base_settings(tmp_path_factory.mktemp("var"), url)
    # Generous limits: the matrix sends many requests from one address.
    relaxed = settings.model_copy(
        update={"ratelimit": settings.ratelimit.model_copy(update={"enabled": False})}
    )
    with TestClient(create_app(relaxed)) as client:
        yield client
