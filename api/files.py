"""Serving a stored file (a course's media, a certificate's PDF) through the platform,
whatever the store: a local file as it is, an S3 object streamed (its first call made in a
worker thread, its chunks read in the thread pool), so no bucket URL is ever shown and the
caller's own headers go with it. Who may have the file is the caller's business."""

from __future__ import annotations

from collections.abc import Mapping

import anyio.to_thread
from fastapi.responses import FileResponse, Response, StreamingResponse

from integrations.storage import LocalStorage, S3Storage, Storage, StoredFileMissing


async def stored_file(
    storage: Storage, key: str, *, media_type: str, headers: Mapping[str, str]
) -> Response:
    """The file under ``key``. Raises ``StoredFileMissing`` (no such file) and
    ``StorageUnavailable`` (the store cannot be read), for the caller to answer."""
    if isinstance(storage, LocalStorage):
        path = storage.path(key)
        if not path.is_file():
            raise StoredFileMissing(key)
        return FileResponse(path, media_type=media_type, headers=dict(headers))
    if isinstance(storage, S3Storage):
        chunks = await anyio.to_thread.run_sync(storage.chunks, key)
        return StreamingResponse(chunks, media_type=media_type, headers=dict(headers))
    data = await anyio.to_thread.run_sync(storage.read, key)
    return Response(data, media_type=media_type, headers=dict(headers))
