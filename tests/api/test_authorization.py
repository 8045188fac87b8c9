"""The helpers every endpoint uses: 401 without identity, 403 for the wrong role, 404 for
another user's private record (its existence is not leaked)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from api.app import create_app
from api.auth import CurrentUser, ensure_owner_or_admin, require_roles
from api.envelope import Envelope, ok
from core.errors import NotFound
from core.settings import Settings
from models import Role, User
from tests.api.helpers import assert_error, bearer, data, register
from tests.conftest import reset_app


class NoteNotFound(NotFound):
    message = "Note not found"


def probe_router() -> APIRouter:
    router = APIRouter(prefix="/api/probe")

    @router.get("/instructors-only")
    async def instructors_only(
        user: Annotated[User, Depends(require_roles(Role.INSTRUCTOR, Role.ADMIN))],
    ) -> Envelope[dict[str, int]]:
        return ok({"userId": user.user_id})

    @router.get("/notes/{owner_id}")
    async def note(owner_id: int, user: CurrentUser) -> Envelope[dict[str, int]]:
        ensure_owner_or_admin(user, owner_id, NoteNotFound())
        return ok({"ownerId": owner_id})

    return router


@pytest.fixture(scope="module")
def probe_app(shared_auth_settings: Settings) -> Iterator[TestClient]:
    """The app with the probe routes, built once per backend for this file's tests."""
    app = create_app(shared_auth_settings)
    app.include_router(probe_router())
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def client(auth_settings: Settings, probe_app: TestClient) -> TestClient:
    return reset_app(probe_app)


def user_with_role(client: TestClient, session: Session, email: str, role: Role) -> tuple[int, str]:
    body = register(client, email)
    session.execute(update(User).where(User.user_id == body["userId"]).values(role=role))
    session.commit()
    return body["userId"], body["token"]


class TestRoles:
    def test_anonymous_is_401(self, client: TestClient) -> None:
        assert_error(client.get("/api/probe/instructors-only"), 401, "Authentication required")

    def test_a_student_is_403(self, client: TestClient, session: Session) -> None:
        _, token = user_with_role(client, session, "s@example.com", Role.STUDENT)
        assert_error(
            client.get("/api/probe/instructors-only", headers=bearer(token)), 403, "Access denied"
        )

    @pytest.mark.parametrize("role", [Role.INSTRUCTOR, Role.ADMIN])
    def test_allowed_roles_pass(self, client: TestClient, session: Session, role: Role) -> None:
        user_id, token = user_with_role(client, session, "i@example.com", role)
        assert data(client.get("/api/probe/instructors-only", headers=bearer(token))) == {
            "userId": user_id
        }


class TestOwnership:
    def test_owners_see_their_own(self, client: TestClient, session: Session) -> None:
        user_id, token = user_with_role(client, session, "a@example.com", Role.STUDENT)
        assert data(client.get(f"/api/probe/notes/{user_id}", headers=bearer(token)))

    def test_another_users_record_is_404_like_a_missing_one(
        self, client: TestClient, session: Session
    ) -> None:
        owner, _ = user_with_role(client, session, "a@example.com", Role.STUDENT)
        _, intruder = user_with_role(client, session, "b@example.com", Role.INSTRUCTOR)
        other = client.get(f"/api/probe/notes/{owner}", headers=bearer(intruder))
        missing = client.get("/api/probe/notes/999999", headers=bearer(intruder))
        assert (
            assert_error(other, 404, "Note not found")["error"]
            == assert_error(missing, 404, "Note not found")["error"]
        )

    def test_admins_see_everyones(self, client: TestClient, session: Session) -> None:
        owner, _ = user_with_role(client, session, "a@example.com", Role.STUDENT)
        _, admin = user_with_role(client, session, "root@example.com", Role.ADMIN)
        assert data(client.get(f"/api/probe/notes/{owner}", headers=bearer(admin)))
