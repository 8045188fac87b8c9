"""Courses in the panel: publish and unpublish, through the catalog's one rule."""

from __future__ import annotations

from typing import ClassVar

from sqladmin import action
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from admin.overrides.actions import TEACHERS, ActionsView, RowAction
from models import User
from resources.writes import writable_row
from services.catalog import set_published


class CourseView(ActionsView):
    action_roles: ClassVar = {"publish": TEACHERS, "unpublish": TEACHERS}

    def _publish(self, published: bool) -> RowAction:
        def work(session: Session, user: User, course_id: int) -> None:
            writable_row(session, self.resource, user, course_id)
            set_published(session, course_id=course_id, published=published)

        return work

    @action(name="publish", label="Publish", confirmation_message="List in the catalog?")
    async def publish(self, request: Request) -> Response:
        return await self.run_action(request, "publish", self._publish(True))

    @action(name="unpublish", label="Unpublish", confirmation_message="Remove from the catalog?")
    async def unpublish(self, request: Request) -> Response:
        return await self.run_action(request, "unpublish", self._publish(False))
