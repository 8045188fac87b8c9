"""Media in the panel: files are uploaded (their type read from their content), shown to
those who reach their row, and deleted with their row (by the write pipeline's
``services.media.delete_media``, as the data API deletes them). The panel serves a row's own
stored file itself and never redirects: an external link is shown as a link, to http(s)
only."""

from __future__ import annotations

from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import expose
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from wtforms import FileField, Form, validators

from admin.auth import BASE_URL, panel_user
from admin.files import panel_file
from admin.views import PanelError, ResourceView
from core.database import async_units_of_work
from core.errors import DomainError
from core.urls import is_web_url
from models import MediaFile
from services.media import check_size, content_type_for, upload_media_async

_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private"}


def _file_link(media: MediaFile, _attribute: Any) -> Markup:
    """A stored file links to the panel's copy; an external link to itself, when it is an
    http(s) URL (a row older than that rule shows its text, not a link)."""
    if media.storage_key is not None:
        target = f"{BASE_URL}/media-repository/file/{media.media_id}"
    elif is_web_url(media.media_url):
        target = media.media_url
    else:
        return Markup("{}").format(media.media_url)
    return Markup('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>').format(
        target, media.media_url
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
        """The row's own stored file, served here whatever the store; never a redirect (an
        external link has no file of ours: the list links to it directly)."""
        request.path_params["pk"] = str(request.path_params["pk"])
        media = await self.get_object_for_details(request)  # scoped to the signed-in user
        key = media.storage_key if media is not None else None
        media_type = content_type_for(key) if key else "application/octet-stream"
        return await panel_file(
            self.state.storage, key, media_type=media_type, headers=_FILE_HEADERS
        )

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        course = form.course_id  # type: ignore[attr-defined]  # a generated field
        upload = FileField("File", validators=[validators.InputRequired()])
        return type("MediaUploadForm", (Form,), {"course_id": course, "file": upload})

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
