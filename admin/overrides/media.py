"""Media in the panel: files are uploaded (their type read from their content), shown to
those who reach their row, and deleted with their row."""

from __future__ import annotations

from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from wtforms import FileField, Form, validators

from admin.auth import BASE_URL, panel_user
from admin.views import PanelError, ResourceView
from core.database import async_units_of_work
from core.errors import DomainError
from integrations.storage import LocalStorage
from models import MediaFile, User
from resources.writes import writable_row
from services.media import check_size, content_type_for, remove_media, upload_media_async


def _file_link(media: MediaFile, _attribute: Any) -> Markup:
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
        user = panel_user(request)

        def audited(session: Session, media: MediaFile) -> None:
            changes = {"course_id": media.course_id, "media_url": media.media_url}
            self.audit(session, user, "create", media.media_id, changes)

        try:
            return await upload_media_async(
                async_units_of_work(self.sessions),
                self.state.storage,
                rules,
                course_id=int(course_id),
                filename=upload.filename or "upload",
                data=content,
                actor=user,
                also=audited,
            )
        except DomainError as exc:
            raise PanelError(str(exc)) from exc
