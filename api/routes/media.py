"""Course media files: uploading one through the data API, and serving the files kept on
local disk to the people who may read them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, UploadFile, status
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.auth import CurrentUser
from api.data.schemas import schemas_for
from api.deps import SessionDep, StateDep, UnitsDep
from api.envelope import Envelope, error_responses, ok
from api.schemas.base import INT32_MAX
from api.state import AppState
from core.errors import Forbidden, NotFound
from core.settings import MediaSettings
from integrations.storage import LocalStorage
from models import MediaFile, User
from resources.registry import RESOURCES
from services.media import check_size, content_type_for, find_media, upload_media_async

MEDIA = next(resource for resource in RESOURCES if resource.model is MediaFile)
MediaRead = schemas_for(MEDIA).read

# Room for the multipart framing around the file: boundaries, part headers, the courseId.
_FORM_OVERHEAD = 64 * 1024
_CHUNK_BYTES = 1024 * 1024
_FILE_ANSWER: dict[str, Any] = {
    "description": "The file's bytes, with the type its content was stored as",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


class _UploadLimitRoute(APIRoute):
    """Refuses a body declared larger than an upload may be, before reading any of it:
    FastAPI parses (and spools to disk) a whole multipart body before the handler runs."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            state: AppState = request.app.state.lms
            declared = request.headers.get("content-length", "")
            if declared.isdigit():
                check_size(int(declared) - _FORM_OVERHEAD, state.settings.media)
            return await handler(request)

        return bounded


router = APIRouter(tags=["data: media-repository"], route_class=_UploadLimitRoute)


async def uploader(user: CurrentUser) -> User:
    """The signed-in user, who must be one that adds media to courses (students do not)."""
    if not MEDIA.allows(user.role, "create"):
        raise Forbidden()
    return user


async def read_within_limit(file: UploadFile, rules: MediaSettings) -> bytes:
    """The upload's bytes, read in chunks and never more than one byte past the limit."""
    chunks: list[bytes] = []
    size = 0
    while size <= rules.max_upload_bytes:
        chunk = await file.read(min(_CHUNK_BYTES, rules.max_upload_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    check_size(size, rules)
    return b"".join(chunks)


@router.post(
    "/api/data/media-repository/upload",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[MediaRead],  # type: ignore[valid-type]
    responses=error_responses(400, 401, 403, 404, 409, 413, 503),
    summary="Upload a media file to a course (its type is read from its content: "
    "PNG, JPEG, GIF, WebP, MP4, WebM or PDF by default)",
    operation_id="upload_media_repository",
)
async def upload(
    course_id: Annotated[int, Form(alias="courseId", ge=1, le=INT32_MAX)],
    file: UploadFile,
    actor: Annotated[User, Depends(uploader)],
    units: UnitsDep,
    state: StateDep,
) -> Envelope[BaseModel]:
    rules = state.settings.media
    data = await read_within_limit(file, rules)
    media = await upload_media_async(
        units,
        state.storage,
        rules,
        course_id=course_id,
        filename=file.filename or "",
        data=data,
        actor=actor,
    )
    return ok(MediaRead.model_validate(media, from_attributes=True))


@router.get(
    "/media/{key:path}",
    response_class=FileResponse,
    responses=error_responses(401, 404) | {200: _FILE_ANSWER},
    summary="A course media file kept on local disk (to those who may read its media row)",
    operation_id="read_media_file",
)
async def media_file(
    key: str, user: CurrentUser, session: SessionDep, state: StateDep
) -> FileResponse:
    not_found = NotFound("File not found")
    storage = state.storage
    # Files in S3 are served by S3; a key that could leave the media folder names nothing.
    if not isinstance(storage, LocalStorage):
        raise not_found
    try:
        path = storage.path(key)
    except ValueError:
        raise not_found from None
    scope = MEDIA.read_scope(user)
    # The row that owns the key, never one whose URL merely names it.
    media = await session.run_sync(lambda sync: find_media(sync, key, within=scope))
    # Someone else's file answers exactly like a missing one: existence is not leaked.
    if media is None or not path.is_file():
        raise not_found
    return FileResponse(
        path,
        media_type=content_type_for(key),
        headers={
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
            # Behind a sign-in: browsers may keep it, shared caches must not.
            "Cache-Control": "private, max-age=3600",
        },
    )
