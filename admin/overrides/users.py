"""Users in the panel: deactivating an account (its sessions end at once) and re-activating it."""

from __future__ import annotations

from typing import ClassVar

from sqladmin import action
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from admin.overrides.actions import ADMINS, ActionsView
from models import User
from resources.writes import writable_row
from services.users import set_active


class UserView(ActionsView):
    action_roles: ClassVar = {"deactivate": ADMINS, "reactivate": ADMINS}

    @action(
        name="deactivate",
        label="Deactivate",
        confirmation_message="Deactivate and sign out everywhere?",
    )
    async def deactivate(self, request: Request) -> Response:
        def work(session: Session, user: User, user_id: int) -> None:
            target = writable_row(session, self.resource, user, user_id)
            set_active(session, target, user, active=False)

        return await self.run_action(request, "deactivate", work)

    @action(
        name="reactivate",
        label="Re-activate",
        confirmation_message="Re-activate these accounts? Their owners can sign in again.",
    )
    async def reactivate(self, request: Request) -> Response:
        def work(session: Session, user: User, user_id: int) -> None:
            target = writable_row(session, self.resource, user, user_id)
            set_active(session, target, user, active=True)

        return await self.run_action(request, "reactivate", work)
