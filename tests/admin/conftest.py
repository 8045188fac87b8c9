"""The admin panel's tests: the shared world (tests/world.py), with passwords to sign in."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from api.app import create_app
from core.passwords import hash_password
from models import User
from tests.conftest import base_settings
from tests.world import World, world

__all__ = ["PANEL_PASSWORD", "World", "world"]

PANEL_PASSWORD = "panel-password-123"


@pytest.fixture(scope="session")
def panel_password_hash() -> str:
    # Hashed once: Argon2 is deliberately slow.
    return hash_password(PANEL_PASSWORD)


@pytest.fixture
def panel_world(world: World, session: Session, panel_password_hash: str) -> World:
    """The world, where everyone's password is PANEL_PASSWORD."""
    session.execute(update(User).values(password_hash=panel_password_hash))
    session.commit()
    return world


@pytest.fixture(scope="session")
def panel_app(
    migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The app, built once per backend: building and warming up an app (its engines, their
    statement caches) costs far more than a test. Each test still has its own world, and
    each ``sign_in`` its own cookies."""
    settings = base_settings(
        tmp_path_factory.mktemp("var"),
        migrated_engine.url.render_as_string(hide_password=False),
        # Sign-in attempts are limited; these tests sign in many times from one address.
        ratelimit={"enabled": False},
        # What an action hands to the worker runs at once (a resend is delivered in-app).
        jobs={"immediate": True},
    )
    app = create_app(settings)
    with TestClient(app):  # runs the lifespan once, for every client below
        yield app


SignIn = Callable[[str], TestClient]


@pytest.fixture
def sign_in(panel_app: FastAPI, panel_world: World) -> Iterator[SignIn]:
    """``sign_in(actor)``: a client of its own (its own cookies) signed in to the panel as
    one of the world's actors ("admin", "instructor_x", ...)."""
    clients: list[TestClient] = []
    emails = {
        "student_a": "a@example.com",
        "student_b": "b@example.com",
        "instructor_x": "x@example.com",
        "instructor_y": "y@example.com",
        "admin": "root@example.com",
    }

    def signed_in(actor: str) -> TestClient:
        client = TestClient(panel_app, follow_redirects=False)
        clients.append(client)
        answer = client.post(
            "/admin/login", data={"username": emails[actor], "password": PANEL_PASSWORD}
        )
        assert answer.status_code == 302, answer.text
        return client

    yield signed_in
    for client in clients:
        client.close()
