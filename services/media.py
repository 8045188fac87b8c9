"""Course media: files attached to a course, numbered in upload order.

An upload is judged by its content: the type is read from the file's first bytes, never from
its name or the type the client declares, and the stored file is named by us.

A row owns the file stored for it (``storage_key``, set by the upload alone): the file is
served and deleted by that key, and its type and URL are fixed. A row written by hand is an
external link: an absolute http(s) URL that is not one of our stored files (of any course),
so a row can never lend out, or delete, another course's file.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread
import puremagic
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.database import AsyncUnitsOfWork, after_commit, after_rollback
from core.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
    ServiceUnavailable,
)
from core.logging import get_logger
from core.settings import MediaSettings
from core.urls import web_url_problem
from integrations.storage import Storage, StorageUnavailable, session_storage
from models import Course, MediaFile, MediaType, User
from services.access import CourseNotFound, may_change_course

log = get_logger("services.media")

# Concurrent uploads to one course race for the next index; the unique (course_id, index)
# index decides, and the loser takes the following number.
_INDEX_ATTEMPTS = 5

# The extension our storage keys get for each type; the file is served with the type its
# extension names, so the two tables must agree. Types added to settings fall back to the
# system's table.
_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "application/pdf": ".pdf",
}
_TYPES = {extension: mime for mime, extension in _EXTENSIONS.items()}

# puremagic knows MP4 only for a few (box size, brand) pairs: an MP4 whose ``ftyp`` box is
# 20 or 32 bytes long, or whose brand is mp41, avc1, iso5 or dash, comes back unknown. The
# ISO base media format puts ``ftyp`` at offset 4 and the major brand right after it.
_MP4_BRANDS = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash"}
    | {b"mmp4", b"MSNV", b"f4v "}
)
# puremagic's only WebM signature is the EBML magic number, which every Matroska file
# shares: the DocType element (id 0x4282, a size, then the name) in the EBML header decides.
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_WEBM_DOCTYPE = re.compile(rb"\x42\x82[\x00-\xff]{1,8}?webm", re.DOTALL)
_EBML_HEADER_BYTES = 64
# media_url is a String(255): a longer URL would not fit the row.
_MAX_URL_LENGTH = 255


class NotCourseInstructor(Forbidden):
    message = "Only the course's instructor or an admin can add media to it"


class FileTooLarge(PayloadTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than the upload limit of {_size(limit)}")


class StorageDown(ServiceUnavailable):
    message = "File storage is unavailable; try again shortly"


def _size(count: int) -> str:
    megabytes = count / (1024 * 1024)
    if megabytes >= 1:
        return f"{megabytes:.1f}".removesuffix(".0") + " MB"
    return f"{count / 1024:.1f}".removesuffix(".0") + " KB"


def next_index(session: Session, course_id: int) -> int:
    current = session.scalar(
        select(func.max(MediaFile.index)).where(MediaFile.course_id == course_id)
    )
    return 0 if current is None else int(current) + 1


def check_link(storage: Storage, url: str) -> None:
    """A hand-written media URL: an external http(s) link, never one of our stored files."""
    problem = web_url_problem(url)
    if problem is not None:
        raise InvalidInput(problem, field="media_url")
    if storage.holds(url):
        raise InvalidInput(
            "names a file stored here: files are uploaded, a URL typed in is an external link",
            field="media_url",
        )


def add_media(session: Session, values: dict[str, Any], actor: User) -> MediaFile:
    """Record an external link of a course (the data API's create); the store is the
    session's."""
    check_link(session_storage(session), values["media_url"])
    return _insert(session, values, storage_key=None)


def change_media(session: Session, media: MediaFile, values: dict[str, Any], actor: User) -> None:
    """Change a media row (the data API's update): an uploaded file's type was read from its
    content and its URL is its file's, so both are fixed; a link may change, to a link."""
    if media.storage_key is not None:
        for name in ("media_type", "media_url"):
            if name in values:
                raise InvalidInput(
                    "is fixed for an uploaded file; upload a new file instead", field=name
                )
    if "media_url" in values:
        check_link(session_storage(session), values["media_url"])
    for name, value in values.items():
        setattr(media, name, value)
    session.flush()


def delete_media(session: Session, media: MediaFile, actor: User) -> None:
    """Delete a media row and its own stored file (the data API's and the panel's delete)."""
    remove_media(session, session_storage(session), media)


def _insert(session: Session, values: dict[str, Any], *, storage_key: str | None) -> MediaFile:
    """A new row of a course; it takes the next index and the course's instructor."""
    course = session.get(Course, values["course_id"])
    if course is None:
        raise CourseNotFound()
    for _ in range(_INDEX_ATTEMPTS):
        media = MediaFile(
            course_id=course.course_id,
            instructor_id=course.instructor_id,
            media_type=values["media_type"],
            media_url=values["media_url"],
            storage_key=storage_key,
            index=next_index(session, course.course_id),
        )
        try:
            with session.begin_nested():
                session.add(media)
                session.flush()
        except IntegrityError:
            # A race lost on the index, or the course deleted since it was read.
            if not session.scalar(select(exists().where(Course.course_id == course.course_id))):
                raise CourseNotFound() from None
            continue
        return media
    raise Conflict("Too many simultaneous uploads to this course; try again")


# -- uploads --------------------------------------------------------------------------------


def check_size(size: int, rules: MediaSettings) -> None:
    """Refuse a file over the limit; callers reading a stream call it as the bytes arrive."""
    if size > rules.max_upload_bytes:
        raise FileTooLarge(rules.max_upload_bytes)


def sniff_type(data: bytes) -> str | None:
    """The MIME type the content says it has (None when unknown); the name plays no part."""
    if data.startswith(_EBML_MAGIC):
        if _WEBM_DOCTYPE.search(data[:_EBML_HEADER_BYTES]):
            return "video/webm"
        return "video/x-matroska"
    if data[4:8] == b"ftyp" and data[8:12] in _MP4_BRANDS:
        return "video/mp4"
    try:
        return puremagic.from_string(data, mime=True) or None
    except puremagic.PureError:
        return None


def check_content(data: bytes, rules: MediaSettings) -> str:
    """The file's type, once it is known to be a non-empty file of an allowed type and size."""
    if not data:
        raise InvalidInput("is empty", field="file")
    check_size(len(data), rules)
    mime = sniff_type(data)
    if mime is None or mime not in rules.allowed_types:
        raise InvalidInput(
            f"type {mime or 'unknown'} is not allowed; allowed: {', '.join(rules.allowed_types)}",
            field="file",
        )
    return mime


def media_type_for(mime: str) -> MediaType:
    if mime.startswith("image/"):
        return MediaType.IMAGE
    if mime.startswith("video/"):
        return MediaType.VIDEO
    return MediaType.DOCUMENT


def extension_for(mime: str) -> str:
    return _EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ""


def content_type_for(key: str) -> str:
    """The type to serve a stored file with: its extension was chosen from its content."""
    extension = "." + key.rpartition(".")[2].lower() if "." in key else ""
    known = _TYPES.get(extension) or mimetypes.guess_type(key)[0]
    return known or "application/octet-stream"


def ensure_can_change(course: Course, actor: User) -> None:
    if not may_change_course(actor, course):
        raise NotCourseInstructor()


def _storage_key(storage: Storage, course_id: int, mime: str) -> str:
    # A name of ours: the client's file name never reaches a path or a URL.
    key = f"courses/{course_id}/{uuid.uuid4().hex}{extension_for(mime)}"
    if len(storage.url(key)) > _MAX_URL_LENGTH:
        raise ConfigurationError(f"storage URLs are longer than {_MAX_URL_LENGTH} characters")
    return key


@dataclass(frozen=True)
class StoredFile:
    key: str
    url: str
    mime: str


def check_upload(session: Session, *, course_id: int, actor: User) -> Course:
    """The course a file is uploaded to, once the actor may add to it."""
    course = session.get(Course, course_id)
    if course is None:
        raise CourseNotFound()
    ensure_can_change(course, actor)
    return course


def store_file(
    storage: Storage, rules: MediaSettings, *, course_id: int, data: bytes
) -> StoredFile:
    """Check the content and write it to the store under a name of ours (blocking I/O: no
    transaction may be open, and async callers run it in a worker thread)."""
    mime = check_content(data, rules)
    key = _storage_key(storage, course_id, mime)
    try:
        url = storage.save(key, data, content_type=mime)
    except StorageUnavailable as exc:
        log.error("media storage failed", key=key, error=str(exc))
        raise StorageDown() from exc
    return StoredFile(key=key, url=url, mime=mime)


def record_upload(
    session: Session,
    storage: Storage,
    stored: StoredFile,
    *,
    course_id: int,
    filename: str,
    actor: User,
) -> MediaFile:
    """The row of a stored file, next in its course's order; the file is removed again if
    this unit of work rolls back, so the store never keeps a file nobody can find."""
    after_rollback(session, lambda: storage.delete(stored.key))
    values = {
        "course_id": course_id,
        "media_type": media_type_for(stored.mime),
        "media_url": stored.url,
    }
    media = _insert(session, values, storage_key=stored.key)
    # The client's name is kept for the log only, shortened: it is untrusted text.
    log.info("media stored", key=stored.key, media_id=media.media_id, original_name=filename[:100])
    return media


def upload_media(
    session: Session,
    storage: Storage,
    rules: MediaSettings,
    *,
    course_id: int,
    filename: str,
    data: bytes,
    actor: User,
) -> MediaFile:
    """Store a file of a course and record it, in one unit of work (jobs, commands)."""
    check_upload(session, course_id=course_id, actor=actor)
    stored = store_file(storage, rules, course_id=course_id, data=data)
    return record_upload(
        session, storage, stored, course_id=course_id, filename=filename, actor=actor
    )


async def upload_media_async(
    units: AsyncUnitsOfWork,
    storage: Storage,
    rules: MediaSettings,
    *,
    course_id: int,
    filename: str,
    data: bytes,
    actor: User,
    also: Callable[[Session, MediaFile], None] | None = None,
) -> MediaFile:
    """The same upload for the API and the panel, in two short units of work: one checks
    the course, then the file goes to the store with no transaction open (S3 can take
    seconds), then one records the row (and ``also``, an audit entry, in its transaction).
    A file whose row is not committed is removed."""
    async with units() as session:
        await session.run_sync(lambda sync: check_upload(sync, course_id=course_id, actor=actor))
    stored = await anyio.to_thread.run_sync(
        lambda: store_file(storage, rules, course_id=course_id, data=data)
    )

    def record(sync: Session) -> MediaFile:
        media = record_upload(
            sync, storage, stored, course_id=course_id, filename=filename, actor=actor
        )
        if also is not None:
            also(sync, media)
        return media

    try:
        async with units() as session:
            return await session.run_sync(record)
    except BaseException:
        # Failed before the row's unit of work could undo it (a refused connection, say).
        await anyio.to_thread.run_sync(storage.delete, stored.key)
        raise


def find_media(
    session: Session, key: str, *, within: ColumnElement[bool] | bool
) -> MediaFile | None:
    """The row that owns stored file ``key``, if ``within`` lets the caller see it. Never by
    URL: a row naming someone else's file has no key, and lends nobody that file."""
    if within is False:
        return None
    query = select(MediaFile).where(MediaFile.storage_key == key)
    if within is not True:
        query = query.where(within)
    return session.scalars(query).first()


def remove_media(session: Session, storage: Storage, media: MediaFile) -> None:
    """Delete a media row, and the file stored for it once the deletion is committed (a
    rollback keeps both). An external link, or a row naming a file it does not own, has no
    key: no file is touched."""
    key = media.storage_key
    session.delete(media)
    session.flush()
    if key is not None:
        after_commit(session, lambda: storage.delete(key))


def forget_course_files(session: Session, storage: Storage, course_id: int) -> None:
    """Delete the stored files of a course once the course's deletion is committed: its rows
    go with it by the database's cascade, which no domain function sees."""
    keys = session.scalars(
        select(MediaFile.storage_key).where(
            MediaFile.course_id == course_id, MediaFile.storage_key.is_not(None)
        )
    ).all()
    for key in keys:
        if key is not None:
            after_commit(session, partial(storage.delete, key))
