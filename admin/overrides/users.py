"""Users in the panel: deactivating an account (its sessions end at once)."""

from __future__ import annotations

from typing import ClassVar

from sqladmin import action
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from admin.overrides.actions import ADMINS, ActionsView
from core.errors import InvalidInput
from models import User
from resources.writes import writable_row
from services.users import update_user


class UserView(ActionsView):
    action_roles: ClassVar = {"deactivate": ADMINS}

    @action(
        name="deactivate",
        label="Deactivate",
        confirmation_message="Deactivate and sign out everywhere?",
    )
    async def deactivate(self, request: Request) -> Response:
        def work(session: Session, user: User, user_id: int) -> None:
            if user_id == user.user_id:
                raise InvalidInput("you cannot deactivate your own account", field="user")
            target = writable_row(session, self.resource, user, user_id)
            update_user(session, target, {"is_active": False}, user)

        return await self.run_action(request, "deactivate", work)
