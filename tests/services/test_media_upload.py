"""Uploading course media: the type comes from the content, the file is named by us, and the
store and the database never disagree (no row without its file, no file without its row)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.database import sync_session_factory, unit_of_work
from core.errors import ConfigurationError, InvalidInput
from core.settings import MediaSettings
from integrations.storage import LocalStorage, S3Storage, Storage, storage_info
from models import Course, MediaFile, MediaType, Role, User
from services.access import CourseNotFound
from services.media import (
    FileTooLarge,
    NotCourseInstructor,
    StorageDown,
    check_link,
    content_type_for,
    delete_media,
    forget_course_files,
    sniff_type,
    upload_media,
)
from tests.integrations.test_storage import s3, s3_endpoint  # noqa: F401  (fixtures)
from tests.models.factories import make_course, make_user
from tests.services import media_samples as samples

RULES = MediaSettings(max_upload_bytes=4096)


def stored_keys(storage: Storage) -> list[str]:
    """Every file the store holds, as storage keys."""
    if isinstance(storage, LocalStorage):
        if not storage.root.exists():
            return []
        files = (path for path in storage.root.rglob("*") if path.is_file())
        return sorted(str(path.relative_to(storage.root)) for path in files)
    assert isinstance(storage, S3Storage)
    listed = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=storage.prefix)
    return sorted(
        item["Key"].removeprefix(f"{storage.prefix}/") for item in listed.get("Contents", [])
    )


def key_of(storage: Storage, url: str) -> str:
    prefix = storage.url("x").removesuffix("x")
    assert url.startswith(prefix)
    return url.removeprefix(prefix)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "media", "http://127.0.0.1:8000/media")
        return
    store: S3Storage = request.getfixturevalue("s3")
    yield store
    for key in stored_keys(store):
        store.delete(key)


@dataclass
class People:
    instructor: User
    other_instructor: User
    admin: User
    student: User
    course_id: int
    other_course_id: int


@pytest.fixture
def people(session: Session) -> People:
    instructor = make_user(session, role=Role.INSTRUCTOR)
    other = make_user(session, role=Role.INSTRUCTOR)
    found = People(
        instructor=instructor,
        other_instructor=other,
        admin=make_user(session, role=Role.ADMIN),
        student=make_user(session),
        course_id=make_course(session, instructor=instructor).course_id,
        other_course_id=make_course(session, instructor=other).course_id,
    )
    session.commit()
    return found


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sync_session_factory(engine)


def upload(
    factory: sessionmaker[Session],
    storage: Storage,
    actor: User,
    course_id: int,
    *,
    rules: MediaSettings = RULES,
    **values: Any,
) -> MediaFile:
    """One upload in its own unit of work, as a job or an admin action runs it."""
    arguments: dict[str, Any] = {"filename": "file.bin", "data": samples.PNG} | values
    with unit_of_work(factory) as session:
        return upload_media(session, storage, rules, course_id=course_id, actor=actor, **arguments)


def rows(engine: Engine, course_id: int) -> list[MediaFile]:
    with Session(engine) as session:
        query = select(MediaFile).where(MediaFile.course_id == course_id)
        return list(session.scalars(query.order_by(MediaFile.index)))


class TestSniffType:
    @pytest.mark.parametrize(
        ("content", "mime"),
        [
            pytest.param(samples.PNG, "image/png", id="png"),
            pytest.param(samples.JPEG, "image/jpeg", id="jpeg"),
            pytest.param(samples.GIF, "image/gif", id="gif"),
            pytest.param(samples.WEBP, "image/webp", id="webp"),
            pytest.param(samples.MP4, "video/mp4", id="mp4"),
            *[
                pytest.param(variant, "video/mp4", id=f"mp4-{name}")
                for name, variant in samples.MP4_VARIANTS.items()
            ],
            pytest.param(samples.WEBM, "video/webm", id="webm"),
            pytest.param(samples.PDF, "application/pdf", id="pdf"),
        ],
    )
    def test_reads_each_allowed_type_from_the_content(self, content: bytes, mime: str) -> None:
        assert sniff_type(content) == mime
        assert mime in RULES.allowed_types

    @pytest.mark.parametrize(
        ("content", "mime"),
        [
            pytest.param(samples.HTML, "text/html", id="html"),
            pytest.param(samples.SVG, "image/svg+xml", id="svg"),
            pytest.param(samples.MKV, "video/x-matroska", id="mkv"),
            pytest.param(samples.QUICKTIME, "video/quicktime", id="quicktime"),
            pytest.param(samples.EXE, None, id="exe"),
            pytest.param(samples.TEXT, None, id="text"),
        ],
    )
    def test_names_other_content_for_what_it_is(self, content: bytes, mime: str | None) -> None:
        assert sniff_type(content) == mime

    def test_stored_files_are_served_with_the_type_of_their_extension(self) -> None:
        assert content_type_for("courses/1/abc.jpg") == "image/jpeg"
        assert content_type_for("courses/1/abc.webm") == "video/webm"
        assert content_type_for("courses/1/abc") == "application/octet-stream"


class TestUploadMedia:
    def test_stores_each_file_and_records_it_next_in_its_course(
        self,
        factory: sessionmaker[Session],
        storage: Storage,
        people: People,
        engine: Engine,
    ) -> None:
        for content in (samples.PNG, samples.PDF, samples.MP4):
            upload(factory, storage, people.instructor, people.course_id, data=content)
        upload(factory, storage, people.other_instructor, people.other_course_id)

        media = rows(engine, people.course_id)
        assert [(m.index, m.media_type) for m in media] == [
            (0, MediaType.IMAGE),
            (1, MediaType.DOCUMENT),
            (2, MediaType.VIDEO),
        ]
        assert {m.instructor_id for m in media} == {people.instructor.user_id}
        keys = [key_of(storage, m.media_url) for m in media]
        assert [key.rsplit(".", 1)[1] for key in keys] == ["png", "pdf", "mp4"]
        assert all(key.startswith(f"courses/{people.course_id}/") for key in keys)
        assert [storage.read(key) for key in keys] == [samples.PNG, samples.PDF, samples.MP4]
        assert [m.index for m in rows(engine, people.other_course_id)] == [0]

    def test_an_admin_adds_media_in_the_instructors_name(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        media = upload(factory, storage, people.admin, people.course_id)
        assert media.instructor_id == people.instructor.user_id

    def test_neither_the_name_nor_a_long_one_reaches_the_key(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        media = upload(
            factory,
            storage,
            people.instructor,
            people.course_id,
            filename="../../" + "x" * 300 + ".png",
            data=samples.PDF,
        )
        assert media.media_type is MediaType.DOCUMENT
        key = key_of(storage, media.media_url)
        assert key.startswith(f"courses/{people.course_id}/")
        assert key.endswith(".pdf")
        assert "x" not in key.removeprefix(f"courses/{people.course_id}/").removesuffix(".pdf")

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            pytest.param(b"", "is empty", id="empty"),
            pytest.param(
                samples.HTML,
                "type text/html is not allowed; allowed: image/png, image/jpeg, image/gif, "
                "image/webp, video/mp4, video/webm, application/pdf",
                id="html",
            ),
            pytest.param(samples.EXE, "type unknown is not allowed", id="exe"),
            pytest.param(samples.TEXT, "type unknown is not allowed", id="text"),
            pytest.param(samples.SVG, "type image/svg+xml is not allowed", id="svg"),
        ],
    )
    def test_refuses_content_that_is_not_an_allowed_file(
        self,
        factory: sessionmaker[Session],
        storage: Storage,
        people: People,
        engine: Engine,
        content: bytes,
        problem: str,
    ) -> None:
        with pytest.raises(InvalidInput, match=f"^file: {re.escape(problem)}") as refused:
            upload(
                factory,
                storage,
                people.instructor,
                people.course_id,
                data=content,
                filename="a.pdf",
            )
        assert refused.value.field == "file"
        assert rows(engine, people.course_id) == []
        assert stored_keys(storage) == []

    def test_refuses_a_file_over_the_limit(
        self, factory: sessionmaker[Session], storage: Storage, people: People, engine: Engine
    ) -> None:
        too_big = samples.PNG + bytes(RULES.max_upload_bytes)
        with pytest.raises(FileTooLarge, match="larger than the upload limit of 4 KB") as refused:
            upload(factory, storage, people.instructor, people.course_id, data=too_big)
        assert refused.value.status_code == 413
        assert rows(engine, people.course_id) == []
        assert stored_keys(storage) == []

    def test_limits_read_in_megabytes(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        rules = MediaSettings(max_upload_bytes=int(2.5 * 1024 * 1024))
        too_big = samples.PNG + bytes(rules.max_upload_bytes)
        with pytest.raises(FileTooLarge, match=r"upload limit of 2\.5 MB$"):
            upload(factory, storage, people.instructor, people.course_id, rules=rules, data=too_big)

    def test_only_the_courses_instructor_or_an_admin_adds_to_it(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        for outsider in (people.other_instructor, people.student):
            with pytest.raises(NotCourseInstructor, match="course's instructor or an admin"):
                upload(factory, storage, outsider, people.course_id)
        assert stored_keys(storage) == []

    def test_a_missing_course_is_not_found(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        with pytest.raises(CourseNotFound):
            upload(factory, storage, people.admin, 999_999)
        assert stored_keys(storage) == []


class TestStoreAndDatabaseAgree:
    def test_a_committed_upload_keeps_its_file(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        media = upload(factory, storage, people.instructor, people.course_id)
        assert stored_keys(storage) == [key_of(storage, media.media_url)]

    def test_a_failed_insert_removes_the_file(
        self,
        factory: sessionmaker[Session],
        storage: Storage,
        people: People,
        engine: Engine,
    ) -> None:
        # The course passes the checks, then another connection deletes it before the row
        # is inserted: the database refuses the row (foreign key), the file must go too.
        def upload_as_the_course_goes() -> None:
            with unit_of_work(factory) as session:
                assert session.get(Course, people.course_id) is not None
                with engine.begin() as other:
                    other.execute(delete(Course).where(Course.course_id == people.course_id))
                upload_media(
                    session,
                    storage,
                    RULES,
                    course_id=people.course_id,
                    filename="a.png",
                    data=samples.PNG,
                    actor=people.instructor,
                )

        with pytest.raises(CourseNotFound):
            upload_as_the_course_goes()
        assert stored_keys(storage) == []

    def test_a_unit_of_work_failing_after_the_upload_removes_the_file(
        self,
        factory: sessionmaker[Session],
        storage: Storage,
        people: People,
        engine: Engine,
    ) -> None:
        stored_before_the_failure: list[str] = []

        # A later step of the same unit of work (or its commit) fails: nothing stays, on
        # SQLite too (where a savepoint taken before any write must not commit on release).
        def upload_then_fail() -> None:
            with unit_of_work(factory) as session:
                upload_media(
                    session,
                    storage,
                    RULES,
                    course_id=people.course_id,
                    filename="a.png",
                    data=samples.PNG,
                    actor=people.instructor,
                )
                stored_before_the_failure.extend(stored_keys(storage))
                raise RuntimeError("a later step failed")

        with pytest.raises(RuntimeError, match="later step"):
            upload_then_fail()
        assert len(stored_before_the_failure) == 1
        assert stored_keys(storage) == []
        assert rows(engine, people.course_id) == []

    @pytest.mark.parametrize("outage", ["disk", "bucket"])
    def test_a_store_that_cannot_take_the_file_leaves_no_row(
        self,
        request: pytest.FixtureRequest,
        factory: sessionmaker[Session],
        people: People,
        engine: Engine,
        tmp_path: Path,
        outage: str,
    ) -> None:
        broken: Storage
        if outage == "disk":
            # The media folder's place is taken by a file: every write fails.
            (tmp_path / "media").write_bytes(b"")
            broken = LocalStorage(tmp_path / "media", "http://127.0.0.1:8000/media")
        else:
            working: S3Storage = request.getfixturevalue("s3")
            broken = S3Storage(
                bucket="no-such-bucket", endpoint_url=working.endpoint_url, client=working.client
            )
        with pytest.raises(StorageDown, match="File storage is unavailable") as refused:
            upload(factory, storage=broken, actor=people.instructor, course_id=people.course_id)
        assert refused.value.status_code == 503
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(MediaFile)) == 0


class TestAHandWrittenLink:
    @pytest.mark.parametrize(
        "spelling",
        [
            pytest.param(lambda url: url, id="as-made"),
            pytest.param(lambda url: url.replace("http", "HTTP", 1), id="scheme-case"),
            pytest.param(lambda url: url.replace("/courses/", "/./courses//"), id="dots-slashes"),
            pytest.param(lambda url: url.replace("courses", "%63ourses"), id="escaped"),
            pytest.param(lambda url: url + "?download=1#top", id="query"),
            pytest.param(lambda url: url.replace("/courses/1/", "/courses/2/"), id="other-key"),
        ],
    )
    def test_a_url_of_the_store_is_refused_however_spelled(
        self, storage: Storage, spelling: Any
    ) -> None:
        url = spelling(storage.url("courses/1/0123456789abcdef0123456789abcdef.png"))
        with pytest.raises(InvalidInput) as refused:
            check_link(storage, url)
        assert refused.value.field == "media_url"
        assert "files are uploaded" in refused.value.problem

    @pytest.mark.parametrize(
        "url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "/media/x.png", "mailto:a@b"]
    )
    def test_only_http_urls_are_links(self, storage: Storage, url: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            check_link(storage, url)
        assert (refused.value.field, refused.value.problem) == (
            "media_url",
            "must be an http(s) URL",
        )

    def test_an_external_link_is_taken(self, storage: Storage) -> None:
        check_link(storage, "https://videos.example.com/courses/1/intro.mp4")

    @pytest.mark.parametrize(
        ("url", "ours"),
        [
            ("https://lms-media.s3.eu-west-1.amazonaws.com/env/courses/1/a.png", True),
            ("https://lms-media.s3.amazonaws.com/env/courses/1/a.png", True),
            ("https://s3.eu-west-1.amazonaws.com/lms-media/env/courses/1/a.png", True),
            ("https://s3.amazonaws.com/lms-media/env/a.png", True),
            ("https://LMS-MEDIA.S3.EU-WEST-1.AMAZONAWS.COM./env/a.png", True),
            ("https://other.s3.eu-west-1.amazonaws.com/env/courses/1/a.png", False),
            ("https://lms-media.s3.eu-west-1.amazonaws.com/other/courses/1/a.png", False),
        ],
    )
    def test_aws_names_an_object_in_several_ways(self, url: str, ours: bool) -> None:
        store = S3Storage(bucket="lms-media", prefix="env", region="eu-west-1", client=object())
        assert store.holds(url) is ours


class TestDeletingAMediaRow:
    @pytest.fixture
    def files(self, engine: Engine, storage: Storage) -> sessionmaker[Session]:
        """Sessions carrying the store, as the app's and the worker's do."""
        return sync_session_factory(engine, info=storage_info(storage))

    def test_removes_its_own_file_once_committed(
        self, files: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        media = upload(files, storage, people.instructor, people.course_id)
        kept = upload(files, storage, people.instructor, people.course_id)

        def delete_then_fail() -> None:
            with unit_of_work(files) as session:
                row = session.get_one(MediaFile, media.media_id)
                delete_media(session, row, people.instructor)
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            delete_then_fail()
        assert len(stored_keys(storage)) == 2
        with unit_of_work(files) as session:
            delete_media(session, session.get_one(MediaFile, media.media_id), people.instructor)
        assert stored_keys(storage) == [kept.storage_key]

    def test_a_row_naming_a_file_it_does_not_own_touches_no_file(
        self, files: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        owner = upload(files, storage, people.instructor, people.course_id)
        with unit_of_work(files) as session:
            intruder = MediaFile(
                course_id=people.other_course_id,
                instructor_id=people.other_instructor.user_id,
                media_type=MediaType.IMAGE,
                media_url=owner.media_url,
                index=0,
            )
            session.add(intruder)
        with unit_of_work(files) as session:
            delete_media(session, session.get_one(MediaFile, intruder.media_id), people.admin)
        assert stored_keys(storage) == [owner.storage_key]

    def test_a_deleted_courses_files_go_with_it(
        self, files: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        upload(files, storage, people.instructor, people.course_id)
        other = upload(files, storage, people.other_instructor, people.other_course_id)
        with unit_of_work(files) as session:
            forget_course_files(session, storage, people.course_id)
            session.execute(delete(Course).where(Course.course_id == people.course_id))
        assert stored_keys(storage) == [other.storage_key]

    def test_a_session_without_a_store_is_a_configuration_error(
        self, factory: sessionmaker[Session], storage: Storage, people: People
    ) -> None:
        media = upload(factory, storage, people.instructor, people.course_id)
        with pytest.raises(ConfigurationError), unit_of_work(factory) as session:
            delete_media(session, session.get_one(MediaFile, media.media_id), people.instructor)
        assert len(stored_keys(storage)) == 1
