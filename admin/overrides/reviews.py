"""Course reviews in the panel: an admin hides a review (out of the public listing and the
course's rating) or shows it again, through the same rule the API's writes keep."""

from __future__ import annotations

from typing import ClassVar

from sqladmin import action
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from admin.overrides.actions import ADMINS, ActionsView, RowAction
from models import User
from services.reviews import set_hidden


class ReviewView(ActionsView):
    action_roles: ClassVar = {"hide": ADMINS, "show": ADMINS}

    def _hide(self, hidden: bool) -> RowAction:
        def work(session: Session, user: User, review_id: int) -> None:
            set_hidden(session, review_id=review_id, hidden=hidden)

        return work

    @action(
        name="hide",
        label="Hide",
        confirmation_message="Hide these reviews from the course page and its rating?",
    )
    async def hide(self, request: Request) -> Response:
        return await self.run_action(request, "hide", self._hide(True))

    @action(
        name="show",
        label="Show",
        confirmation_message="Show these reviews again and count them in the rating?",
    )
    async def show(self, request: Request) -> Response:
        return await self.run_action(request, "show", self._hide(False))
