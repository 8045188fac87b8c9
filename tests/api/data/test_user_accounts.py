"""Admins managing accounts through the data API: the platform keeps an active admin, nobody
deletes or deactivates their own account, and a new account is what the admin asked for."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.clock import utcnow
from models import Role, User
from services.sessions import issue_refresh_token
from tests.api.helpers import assert_error, data
from tests.conftest import FAKE_JWT_SECRET
from tests.models.factories import make_user
from tests.world import World

ADMIN, A = "admin", "student_a"


def headers(session: Session, user_id: int) -> dict[str, str]:
    """A live sign-in of ``user_id`` and its access token (no Argon2 hash to sign in)."""
    family = issue_refresh_token(session, user_id=user_id, lifetime=timedelta(hours=1)).family_id
    session.commit()
    claims = {
        "sub": str(user_id),
        "aud": ["fastapi-users:auth"],
        "exp": utcnow() + timedelta(minutes=15),
        "sid": family,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, FAKE_JWT_SECRET, algorithm='HS256')}"}


def stored(session: Session, user_id: int) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


class TestNobodyRemovesTheirOwnAccount:
    def test_an_admin_cannot_delete_themselves(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        admin = world.users[ADMIN]
        answer = api.delete(f"/api/data/users/{admin}", headers=headers(session, admin))
        assert_error(answer, 403, "You cannot delete or deactivate your own account")
        assert stored(session, admin).is_active

    def test_an_admin_cannot_deactivate_themselves(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        admin = world.users[ADMIN]
        answer = api.patch(
            f"/api/data/users/{admin}", json={"isActive": False}, headers=headers(session, admin)
        )
        assert_error(answer, 403, "You cannot delete or deactivate your own account")
        assert stored(session, admin).is_active


class TestTheLastActiveAdminStays:
    def test_the_only_admin_cannot_demote_themselves(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        admin = world.users[ADMIN]
        answer = api.patch(
            f"/api/data/users/{admin}", json={"role": "student"}, headers=headers(session, admin)
        )
        assert_error(answer, 409, "The last active admin cannot be removed, deactivated or demoted")
        assert stored(session, admin).role is Role.ADMIN

    def test_an_inactive_admin_does_not_count(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        make_user(session, email="dormant@example.com", role=Role.ADMIN, is_active=False)
        admin = world.users[ADMIN]
        answer = api.patch(
            f"/api/data/users/{admin}", json={"role": "student"}, headers=headers(session, admin)
        )
        assert_error(answer, 409, "The last active admin cannot be removed, deactivated or demoted")

    def test_with_another_active_admin_one_may_step_down_or_be_removed(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        second = make_user(session, email="second@example.com", role=Role.ADMIN).user_id
        admin = world.users[ADMIN]
        auth = headers(session, admin)
        assert data(api.patch(f"/api/data/users/{second}", json={"isActive": False}, headers=auth))
        # Now the only active admin: demoting, deleting them is refused...
        answer = api.patch(f"/api/data/users/{admin}", json={"role": "student"}, headers=auth)
        assert answer.status_code == 409
        # ...and the deactivated one may go.
        assert api.delete(f"/api/data/users/{second}", headers=auth).status_code in (200, 204)


class TestAnAdminCreatesTheAccountTheyDescribe:
    def test_active_verified_and_role_are_honoured(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        payload: dict[str, Any] = {
            "email": "later@example.com",
            "name": "Later",
            "role": "instructor",
            "isActive": False,
            "isVerified": True,
        }
        made = data(
            api.post("/api/data/users", json=payload, headers=headers(session, world.users[ADMIN])),
            201,
        )
        assert (made["isActive"], made["isVerified"], made["role"]) == (False, True, "instructor")
        user = stored(session, made["userId"])
        assert (user.is_active, user.is_verified, user.role) == (False, True, Role.INSTRUCTOR)

    def test_a_common_password_is_refused_with_the_reason(
        self, api: TestClient, world: World, session: Session
    ) -> None:
        payload = {"email": "weak@example.org", "name": "Weak", "password": "weakpassword"}
        answer = api.post(
            "/api/data/users", json=payload, headers=headers(session, world.users[ADMIN])
        )
        body = assert_error(answer, 400, "Invalid input data")
        [problem] = body["error"]["details"]
        assert problem["field"] == "password"
        assert problem["message"].startswith("is too easy to guess: ")
