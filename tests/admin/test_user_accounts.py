"""Accounts in the panel: re-activating what was deactivated, and the rules the data API
keeps too (no self-deletion, the last active admin stays)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import AuditEntry, Role, User
from tests.admin.conftest import SignIn
from tests.world import World


def stored(session: Session, user_id: int) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


class TestReactivation:
    def test_an_admin_reactivates_a_deactivated_account_and_it_is_audited(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        student = panel_world.users["student_a"]
        admin = sign_in("admin")
        answer = admin.get(f"/admin/users/action/deactivate?pks={student}")
        assert "error" not in answer.headers["location"]
        assert not stored(session, student).is_active

        answer = admin.get(f"/admin/users/action/reactivate?pks={student}")
        assert answer.status_code == 302
        assert "error" not in answer.headers["location"]
        assert stored(session, student).is_active
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reactivate")).one()
        assert (entry.user_id, entry.row_id) == (panel_world.users["admin"], str(student))

    def test_instructors_cannot_reactivate_accounts(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        student = panel_world.users["student_a"]
        session.execute(update(User).where(User.user_id == student).values(is_active=False))
        session.commit()
        answer = sign_in("instructor_x").get(f"/admin/users/action/reactivate?pks={student}")
        assert answer.status_code in (302, 403)
        assert not stored(session, student).is_active


class TestPanelKeepsTheAccountRules:
    def test_an_admin_cannot_delete_themselves(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        admin_id = panel_world.users["admin"]
        answer = sign_in("admin").delete(f"/admin/users/delete?pks={admin_id}")
        assert "error=You+cannot+delete+or+deactivate+your+own+account" in answer.text
        assert stored(session, admin_id).is_active

    def test_one_of_two_admins_may_be_deactivated_never_both(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        # With two active admins one may deactivate the other; the one left is the last.
        admin_id = panel_world.users["admin"]
        second = panel_world.users["instructor_y"]
        session.execute(update(User).where(User.user_id == second).values(role=Role.ADMIN))
        session.commit()
        other = sign_in("instructor_y")  # now an admin
        answer = other.get(f"/admin/users/action/deactivate?pks={admin_id}")
        assert "error" not in answer.headers["location"]
        assert not stored(session, admin_id).is_active
        answer = other.get(f"/admin/users/action/deactivate?pks={second}")
        assert "error=" in answer.headers["location"]
        assert stored(session, second).is_active
