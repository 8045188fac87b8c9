"""File storage for media and certificates: a local folder (the embedded default) or any
S3-compatible store through boto3 (bucket, prefix, region and endpoint URL are settings).

Keys are relative paths such as ``courses/12/3-intro.mp4``; each backend turns a key into the
URL clients fetch the file from, and knows which URLs are its own (``holds``), however they
are spelled, so a URL typed by a person can be told from one of ours.

The store travels with the session (``session.info``, as the task queue does): the session
factories of the app and the worker put it there (``storage_info``), so a domain function
called by the write pipeline reaches the files of the rows it changes (``session_storage``).
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from core.errors import ConfigurationError
from core.settings import Settings

# Where a session keeps the file store.
STORAGE_KEY = "file_storage"
_SLASHES = re.compile(r"/+")


class StoredFileMissing(LookupError):
    """No file under this key."""


class StorageUnavailable(RuntimeError):
    """The store refused or could not take a file (disk full, S3 down, bad credentials)."""


class Storage(Protocol):
    def save(self, key: str, data: bytes, *, content_type: str) -> str:
        """Store ``data`` under ``key`` (replacing any file there); return its URL.

        Raises :class:`StorageUnavailable` when the store cannot take the file.
        """
        ...

    def read(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None:
        """Remove the file; a missing file is not an error (deletes are retried)."""
        ...

    def url(self, key: str) -> str: ...

    def key_for(self, url: str) -> str | None:
        """The key of a URL this store made (None for any other URL)."""
        ...

    def holds(self, url: str) -> bool:
        """Whether ``url`` points into this store, whatever its key and however it is spelled
        (case, port, escapes, dot segments, a query): such a URL is ours, never a link."""
        ...


def storage_info(storage: Storage) -> dict[str, Any]:
    """The ``info`` a session factory gives its sessions so domain functions reach files."""
    return {STORAGE_KEY: storage}


def session_storage(session: Session | AsyncSession) -> Storage:
    """The file store of this session's unit of work (see ``storage_info``)."""
    storage: Storage | None = session.info.get(STORAGE_KEY)
    if storage is None:
        raise ConfigurationError("this session has no file storage (see storage_info)")
    return storage


def _place(url: str) -> tuple[str, str] | None:
    """A URL as (host, path) with the differences that name the same place removed: case and
    a trailing dot of the host, scheme and port, escapes, repeated slashes, dot segments."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    if not host:
        return None
    path = posixpath.normpath("/" + _SLASHES.sub("/", unquote(parts.path)))
    return host, _SLASHES.sub("/", path)


def _holds(url: str, roots: list[str]) -> bool:
    place = _place(url)
    if place is None:
        return False
    host, path = place
    for root in roots:
        root_place = _place(root)
        if root_place is None:
            continue
        root_host, root_path = root_place
        if host == root_host and (
            root_path == "/" or path == root_path or path.startswith(root_path + "/")
        ):
            return True
    return False


def _clean_key(key: str) -> str:
    """A relative key with no way out of the storage root."""
    path = PurePosixPath(key)
    if path.is_absolute() or not path.parts or any(part in ("..", ".") for part in path.parts):
        raise ValueError(f"not a storage key: {key!r}")
    return str(path)


def _key_under(url: str, prefix: str) -> str | None:
    if not url.startswith(prefix):
        return None
    try:
        return _clean_key(url.removeprefix(prefix))
    except ValueError:
        return None


class LocalStorage:
    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        """Where the file of ``key`` lives (for serving it without reading it into memory)."""
        return self.root / _clean_key(key)

    def save(self, key: str, data: bytes, *, content_type: str) -> str:
        path = self.path(key)
        try:
            self._write(path, data)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {key}: {exc}") from exc
        return self.url(key)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, a crash leaves no partial one.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StoredFileMissing(key) from exc

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{_clean_key(key)}"

    def key_for(self, url: str) -> str | None:
        return _key_under(url, f"{self.base_url}/")

    def holds(self, url: str) -> bool:
        return _holds(url, [self.base_url])


class S3Storage:
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.region = region
        self.client = client or boto3.client("s3", region_name=region, endpoint_url=endpoint_url)

    def _key(self, key: str) -> str:
        key = _clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def save(self, key: str, data: bytes, *, content_type: str) -> str:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"cannot write {key}: {exc}") from exc
        return self.url(key)

    def _get(self, key: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StoredFileMissing(key) from exc
            raise StorageUnavailable(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc}") from exc

    def read(self, key: str) -> bytes:
        body: bytes = self._get(key)["Body"].read()
        return body

    def chunks(self, key: str, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time (for serving a large file through the app);
        blocking: the first S3 call is made here, before the first chunk is asked for."""
        body = self._get(key)["Body"]
        return iter(body.iter_chunks(size))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url(self, key: str) -> str:
        return f"{self._root()}/{self._key(key)}"

    def _root(self) -> str:
        if self.endpoint_url:
            return f"{self.endpoint_url}/{self.bucket}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com"

    def key_for(self, url: str) -> str | None:
        prefix = f"{self._root()}/{self.prefix}/" if self.prefix else f"{self._root()}/"
        return _key_under(url, prefix)

    def holds(self, url: str) -> bool:
        tail = f"/{self.prefix}" if self.prefix else ""
        if self.endpoint_url:
            return _holds(url, [f"{self.endpoint_url}/{self.bucket}{tail}"])
        # AWS names one object by a virtual-hosted and by a path-style URL, with or without
        # the region.
        return _holds(
            url,
            [
                f"https://{self.bucket}.s3.{self.region}.amazonaws.com{tail}",
                f"https://{self.bucket}.s3.amazonaws.com{tail}",
                f"https://s3.{self.region}.amazonaws.com/{self.bucket}{tail}",
                f"https://s3.amazonaws.com/{self.bucket}{tail}",
            ],
        )


def make_storage(settings: Settings) -> Storage:
    config = settings.storage
    if config.backend == "s3":
        return S3Storage(
            bucket=config.s3_bucket,
            prefix=config.s3_prefix,
            region=config.s3_region,
            endpoint_url=config.s3_endpoint_url or None,
        )
    return LocalStorage(
        settings.path(config.local_root), f"{settings.app.public_url.rstrip('/')}/media"
    )
