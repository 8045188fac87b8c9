"""The few models whose panel view does more than its declaration: actions and uploads.

Each action calls the domain function the API calls, inside one transaction with its audit
entry. Actions to come with the roadmap land here too: refunding a payment (Payments) as a
``PaymentView`` on ``PaymentGateway``, revoking and re-issuing a certificate (Certificates)
as a ``CertificateView`` on ``Certificate``, each registered in ``OVERRIDES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import action, expose
from sqlalchemy.orm import Session
from starlette.datastructures import URL, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from wtforms import FileField, Form, validators

from admin.auth import BASE_URL
from admin.views import PanelError, ResourceView
from core.errors import DomainError, InvalidInput
from integrations.storage import LocalStorage, WritesOffTheLoop
from models import Course, MediaRepository, Notification, Role, User
from resources.writes import writable_row
from services import notifications
from services.catalog import set_published
from services.media import check_size, content_type_for, remove_media, upload_media
from services.users import update_user

ADMINS = frozenset({Role.ADMIN})
TEACHERS = frozenset({Role.ADMIN, Role.INSTRUCTOR})


class ActionsView(ResourceView):
    """Runs an action on each selected row, then returns to the page it came from."""

    async def run_action(
        self, request: Request, name: str, work: Callable[[Session, User, int], Any]
    ) -> Response:
        pks = [pk for pk in request.query_params.get("pks", "").split(",") if pk]
        message = None
        try:
            for pk in pks:
                row_id = int(pk)

                def one(session: Session, user: User, row_id: int = row_id) -> None:
                    work(session, user, row_id)
                    self.audit(session, user, name, row_id, {})

                await self.in_transaction(request, one)
        except (PanelError, ValueError) as exc:
            message = str(exc)
        # Back to the panel page it came from; never to another site.
        target = URL(str(request.url_for("admin:list", identity=self.identity)))
        referer = URL(request.headers.get("referer", ""))
        if referer.netloc == request.url.netloc and referer.path.startswith(BASE_URL):
            target = referer
        if message:
            target = target.include_query_params(error=message)
        return RedirectResponse(str(target), status_code=302)


class CourseView(ActionsView):
    action_roles: ClassVar = {"publish": TEACHERS, "unpublish": TEACHERS}

    def _publish(self, published: bool) -> Callable[[Session, User, int], Any]:
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


class NotificationView(ActionsView):
    action_roles: ClassVar = {"resend": ADMINS}

    @action(name="resend", label="Resend", confirmation_message="Send again?")
    async def resend(self, request: Request) -> Response:
        def work(session: Session, user: User, notification_id: int) -> None:
            notifications.resend(session, notification_id)

        return await self.run_action(request, "resend", work)


def _file_link(media: MediaRepository, _attribute: Any) -> Markup:
    return Markup('<a href="{}" target="_blank" rel="noopener">{}</a>').format(
        f"{BASE_URL}/media-repository/file/{media.media_id}", media.media_url
    )


class MediaView(ResourceView):
    """Media is uploaded, not typed in: the form takes a course and a file. The panel shows
    each file to those who reach its row (the API's ``/media`` route wants a bearer token,
    which a browser page does not send)."""

    can_edit = False
    column_formatters: ClassVar = {"media_url": _file_link}
    column_formatters_detail: ClassVar = {"media_url": _file_link}

    @expose("/file/{pk:int}", methods=["GET"])
    async def file(self, request: Request) -> Response:
        request.path_params["pk"] = str(request.path_params["pk"])
        media = await self.get_object_for_details(request)  # scoped to the signed-in user
        if media is None:
            raise HTTPException(status_code=404)
        storage = self.state.storage
        key = storage.key_for(media.media_url) if isinstance(storage, LocalStorage) else None
        if key is None or not isinstance(storage, LocalStorage):
            # Not a file of our local folder: S3 (or an external link) serves it.
            return RedirectResponse(media.media_url, status_code=302)
        path = storage.path(key)
        if not path.is_file():
            raise HTTPException(status_code=404)
        return FileResponse(
            path,
            media_type=content_type_for(key),
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
        )

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        course = form.course_id  # type: ignore[attr-defined]  # a generated field
        upload = FileField("File", validators=[validators.InputRequired()])
        return type("MediaUploadForm", (Form,), {"course_id": course, "file": upload})

    async def delete_model(self, request: Request, pk: Any) -> None:
        storage = self.state.storage

        def remove(session: Session, user: User) -> None:
            media = writable_row(session, self.resource, user, int(pk))
            remove_media(session, storage, media)
            self.audit(session, user, "delete", pk, {"media_url": media.media_url})

        await self.in_transaction(request, remove)

    async def insert_model(self, request: Request, data: dict[str, Any]) -> Any:
        upload = data.get("file")
        course_id = data.get("course_id")
        if not isinstance(upload, UploadFile) or course_id is None:
            raise PanelError("Choose a course and a file")
        rules = self.state.settings.media
        content = await upload.read(rules.max_upload_bytes + 1)
        try:
            check_size(len(content), rules)
        except DomainError as exc:
            raise PanelError(str(exc)) from exc
        storage = WritesOffTheLoop(self.state.storage)

        def create(session: Session, user: User) -> MediaRepository:
            media = upload_media(
                session,
                storage,
                rules,
                course_id=int(course_id),
                filename=upload.filename or "upload",
                data=content,
                actor=user,
            )
            self.audit(
                session,
                user,
                "create",
                media.media_id,
                {"course_id": media.course_id, "media_url": media.media_url},
            )
            return media

        return await self.in_transaction(request, create)


OVERRIDES: dict[type[Any], type[ResourceView]] = {
    Course: CourseView,
    User: UserView,
    Notification: NotificationView,
    MediaRepository: MediaView,
}

__all__ = ["OVERRIDES"]
