"""POST /api/data/media-repository/upload and GET /media/{key}: course files through the API,
judged by their content, kept only when their row is, and shown only to their readers."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from core.settings import Settings
from integrations.storage import S3Storage
from models import MediaFile
from tests.api.helpers import assert_error, data
from tests.conftest import base_settings
from tests.integrations.test_storage import s3, s3_endpoint  # noqa: F401  (fixtures)
from tests.services import media_samples as samples
from tests.world import World

X, Y, A, B, ADMIN = "instructor_x", "instructor_y", "student_a", "student_b", "admin"
UPLOAD = "/api/data/media-repository/upload"
LIMIT = 4096
PUBLIC_URL = "http://testserver"


def build_app(settings: Settings, **storage: object) -> FastAPI:
    return create_app(
        settings.model_copy(
            update={
                "ratelimit": settings.ratelimit.model_copy(update={"enabled": False}),
                "media": settings.media.model_copy(update={"max_upload_bytes": LIMIT}),
                "app": settings.app.model_copy(update={"public_url": PUBLIC_URL}),
                "storage": settings.storage.model_copy(update=storage),
            }
        )
    )


@pytest.fixture(scope="module")
def shared_settings(migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    url = migrated_engine.url.render_as_string(hide_password=False)
    return base_settings(tmp_path_factory.mktemp("var"), url)


@pytest.fixture(scope="module")
def shared_client(shared_settings: Settings) -> Iterator[TestClient]:
    # One app per module: building one and warming it up costs more than most tests here.
    with TestClient(build_app(shared_settings)) as client:
        yield client


@pytest.fixture
def media_root(shared_settings: Settings) -> Path:
    return shared_settings.path(shared_settings.storage.local_root)


@pytest.fixture
def media_api(shared_client: TestClient, media_root: Path, engine: Engine) -> Iterator[TestClient]:
    """The shared app; its files are removed after each test, as ``engine`` empties the rows."""
    yield shared_client
    shutil.rmtree(media_root, ignore_errors=True)


def files_in(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def media_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(MediaFile)) or 0


Upload = Callable[..., Any]


@pytest.fixture
def upload(media_api: TestClient, world: World) -> Upload:
    def send(
        actor: str,
        content: bytes = samples.PNG,
        *,
        course: str = X,
        name: str = "file.bin",
        declared: str = "application/octet-stream",
    ) -> Any:
        return media_api.post(
            UPLOAD,
            data={"courseId": str(world.rows["courses"][course])},
            files={"file": (name, content, declared)},
            headers=world.headers(actor),
        )

    return send


def key_of(url: str) -> str:
    assert url.startswith(f"{PUBLIC_URL}/media/")
    return url.removeprefix(f"{PUBLIC_URL}/media/")


class TestUpload:
    def test_an_instructor_uploads_a_file_answered_as_the_data_api_reads_it(
        self, upload: Upload, media_api: TestClient, world: World, media_root: Path
    ) -> None:
        created = data(upload(X, samples.PNG, name="cover.png", declared="image/png"), 201)
        read = data(
            media_api.get(
                f"/api/data/media-repository/{created['mediaId']}", headers=world.headers(X)
            )
        )
        assert created == read
        assert created["courseId"] == world.rows["courses"][X]
        assert created["instructorId"] == world.users[X]
        assert created["mediaType"] == "image"
        assert created["index"] == 1  # the world's course has one file already
        key = key_of(created["mediaUrl"])
        assert key.startswith(f"courses/{world.rows['courses'][X]}/")
        assert key.endswith(".png")
        assert "cover" not in key
        assert (media_root / key).read_bytes() == samples.PNG

    def test_the_type_comes_from_the_content_and_files_follow_each_other(
        self, upload: Upload
    ) -> None:
        sent = [
            (samples.PDF, "x.png", "image/png", "document", ".pdf"),
            (samples.MP4, "clip.pdf", "application/pdf", "video", ".mp4"),
            (samples.WEBM, "clip.webm", "video/webm", "video", ".webm"),
        ]
        answers = [data(upload(X, content, name=n, declared=t), 201) for content, n, t, *_ in sent]
        assert [(a["index"], a["mediaType"]) for a in answers] == [
            (1, "document"),
            (2, "video"),
            (3, "video"),
        ]
        assert [Path(a["mediaUrl"]).suffix for a in answers] == [s[4] for s in sent]

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            pytest.param(samples.HTML, "type text/html is not allowed", id="html"),
            pytest.param(samples.EXE, "type unknown is not allowed", id="exe"),
            pytest.param(samples.TEXT, "type unknown is not allowed", id="text"),
            pytest.param(b"", "is empty", id="empty"),
        ],
    )
    def test_content_that_is_not_an_allowed_file_is_refused_whatever_its_name(
        self,
        upload: Upload,
        engine: Engine,
        media_root: Path,
        content: bytes,
        problem: str,
    ) -> None:
        refused = upload(X, content, name="notes.pdf", declared="application/pdf")
        body = assert_error(refused, 400, "Invalid input data")
        [detail] = body["error"]["details"]
        assert detail["field"] == "file"
        assert detail["message"].startswith(problem)
        assert media_count(engine) == 2  # the world's own files
        assert files_in(media_root) == []

    @pytest.mark.parametrize(
        ("size", "message"),
        [
            pytest.param(
                LIMIT + 1,
                "The file is larger than the upload limit of 4 KB",
                id="read-up-to-the-limit",
            ),
            # Past the limit and the multipart framing's room: the body limit refuses it
            # from its Content-Length, before anything is read (api/limits.py).
            pytest.param(
                200 * 1024,
                "Request body too large: at most 68 KiB here",
                id="refused-from-its-declared-length",
            ),
        ],
    )
    def test_a_file_over_the_limit_is_refused(
        self, upload: Upload, engine: Engine, media_root: Path, size: int, message: str
    ) -> None:
        too_big = samples.PNG + bytes(size - len(samples.PNG))
        refused = upload(X, too_big, name="big.png", declared="image/png")
        assert_error(refused, 413, message)
        assert media_count(engine) == 2
        assert files_in(media_root) == []

    def test_a_file_exactly_at_the_limit_is_taken(self, upload: Upload) -> None:
        exact = samples.PNG + bytes(LIMIT - len(samples.PNG))
        assert data(upload(X, exact), 201)["mediaType"] == "image"

    def test_an_admin_uploads_to_any_course_in_its_instructors_name(
        self, upload: Upload, world: World
    ) -> None:
        created = data(upload(ADMIN, course=Y), 201)
        assert created["instructorId"] == world.users[Y]

    def test_another_instructors_course_is_refused(self, upload: Upload, media_root: Path) -> None:
        refused = upload(Y, course=X)
        assert_error(refused, 403, "Only the course's instructor or an admin can add media to it")
        assert files_in(media_root) == []

    def test_students_may_not_upload(self, upload: Upload, media_root: Path) -> None:
        assert_error(upload(A), 403, "Access denied")
        assert files_in(media_root) == []

    def test_signing_in_is_required(self, upload: Upload) -> None:
        assert_error(upload("anonymous"), 401, "Authentication required")

    def test_a_missing_course_is_not_found(
        self, media_api: TestClient, world: World, media_root: Path
    ) -> None:
        refused = media_api.post(
            UPLOAD,
            data={"courseId": "999999"},
            files={"file": ("a.png", samples.PNG, "image/png")},
            headers=world.headers(ADMIN),
        )
        assert_error(refused, 404, "Course not found")
        assert files_in(media_root) == []

    def test_the_form_needs_a_course_and_a_file(self, media_api: TestClient, world: World) -> None:
        response = media_api.post(UPLOAD, data={"courseId": "0"}, headers=world.headers(X))
        body = assert_error(response, 400, "Invalid input data")
        assert {d["field"] for d in body["error"]["details"]} == {"courseId", "file"}


class TestStorageBackends:
    def test_files_go_to_s3_when_it_is_the_store(
        self, settings: Settings, world: World, request: pytest.FixtureRequest
    ) -> None:
        bucket: S3Storage = request.getfixturevalue("s3")
        app = build_app(
            settings,
            backend="s3",
            s3_bucket=bucket.bucket,
            s3_prefix=bucket.prefix,
            s3_endpoint_url=bucket.endpoint_url,
        )
        with TestClient(app) as client:
            created = data(
                client.post(
                    UPLOAD,
                    data={"courseId": str(world.rows["courses"][X])},
                    files={"file": ("doc.bin", samples.PDF, "application/octet-stream")},
                    headers=world.headers(X),
                ),
                201,
            )
            key = created["mediaUrl"].removeprefix(f"{bucket.endpoint_url}/{bucket.bucket}/")
            head = bucket.client.head_object(Bucket=bucket.bucket, Key=key)
            assert head["ContentType"] == "application/pdf"
            assert key.startswith(f"{bucket.prefix}/courses/")
            # S3 serves its own files: the local route knows none of them.
            local_key = key.removeprefix(f"{bucket.prefix}/")
            missing = client.get(f"/media/{local_key}", headers=world.headers(X))
            assert_error(missing, 404, "File not found")
            bucket.delete(local_key)

    def test_a_store_that_cannot_take_the_file_answers_503_and_keeps_no_row(
        self, settings: Settings, world: World, engine: Engine, tmp_path: Path
    ) -> None:
        blocked = tmp_path / "not-a-folder"
        blocked.write_bytes(b"")
        with TestClient(build_app(settings, local_root=blocked)) as client:
            refused = client.post(
                UPLOAD,
                data={"courseId": str(world.rows["courses"][X])},
                files={"file": ("a.png", samples.PNG, "image/png")},
                headers=world.headers(X),
            )
        assert_error(refused, 503, "File storage is unavailable; try again shortly")
        assert media_count(engine) == 2


class TestServingLocalFiles:
    @pytest.fixture
    def stored(self, upload: Upload) -> str:
        """The key of a PDF in instructor X's course (student A is enrolled there)."""
        return key_of(data(upload(X, samples.PDF, name="notes.pdf"), 201)["mediaUrl"])

    @pytest.mark.parametrize("reader", [X, ADMIN, A])
    def test_the_courses_readers_get_the_file(
        self, media_api: TestClient, world: World, stored: str, reader: str
    ) -> None:
        response = media_api.get(f"/media/{stored}", headers=world.headers(reader))
        assert response.status_code == 200
        assert response.content == samples.PDF
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-disposition"] == "inline"

    @pytest.mark.parametrize("outsider", [Y, B])
    def test_others_hear_it_does_not_exist(
        self, media_api: TestClient, world: World, stored: str, outsider: str
    ) -> None:
        response = media_api.get(f"/media/{stored}", headers=world.headers(outsider))
        assert_error(response, 404, "File not found")

    def test_signing_in_is_required(self, media_api: TestClient, stored: str) -> None:
        assert_error(media_api.get(f"/media/{stored}"), 401, "Authentication required")

    # Clients resolve literal dot segments themselves; encoded ones reach the route.
    @pytest.mark.parametrize(
        "key", ["courses/1/nothing-here.png", "courses/%2e%2e/%2e%2e/settings.toml", "%2e%2e/x"]
    )
    def test_unknown_keys_are_not_found(
        self, media_api: TestClient, world: World, stored: str, key: str
    ) -> None:
        assert_error(
            media_api.get(f"/media/{key}", headers=world.headers(ADMIN)), 404, "File not found"
        )

    def test_a_file_whose_row_was_deleted_is_no_longer_served(
        self, media_api: TestClient, world: World, stored: str
    ) -> None:
        media_id = data(
            media_api.get(
                "/api/data/media-repository?sort=-index&limit=1", headers=world.headers(X)
            )
        )["items"][0]["mediaId"]
        deleted = media_api.delete(
            f"/api/data/media-repository/{media_id}", headers=world.headers(X)
        )
        data(deleted)
        response = media_api.get(f"/media/{stored}", headers=world.headers(ADMIN))
        assert_error(response, 404, "File not found")
