"""The panel's file downloads (a course's media, a certificate's PDF): the API's way of
serving a stored file, its refusals as the panel's HTTP errors."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.responses import Response

from api.files import stored_file
from integrations.storage import Storage, StorageUnavailable, StoredFileMissing


async def panel_file(
    storage: Storage, key: str | None, *, media_type: str, headers: Mapping[str, str]
) -> Response:
    if key is None:
        raise HTTPException(status_code=404)
    try:
        return await stored_file(storage, key, media_type=media_type, headers=headers)
    except StoredFileMissing:
        raise HTTPException(status_code=404) from None
    except StorageUnavailable:
        raise HTTPException(status_code=503) from None
