"""Notifications in the panel: an admin resends a failed one."""

from __future__ import annotations

from typing import ClassVar

from sqladmin import action
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from admin.overrides.actions import ADMINS, ActionsView
from models import User
from services import notifications


class NotificationView(ActionsView):
    action_roles: ClassVar = {"resend": ADMINS}

    @action(name="resend", label="Resend", confirmation_message="Send again?")
    async def resend(self, request: Request) -> Response:
        def work(session: Session, user: User, notification_id: int) -> None:
            notifications.resend(session, notification_id)

        return await self.run_action(request, "resend", work)
