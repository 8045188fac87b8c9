"""A media row owns the file stored for it, in its own course, and nothing else (issue 11,
findings 1, 9 and 13): a hand-written ``mediaUrl`` is an external http(s) link, never one of
our stored files; serving and deleting go by the row's own key; an uploaded file's type and
URL are fixed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import MediaFile, MediaType
from tests.api.data import test_media_upload as uploads
from tests.api.data.test_media_upload import PUBLIC_URL, Upload, files_in, key_of
from tests.api.helpers import assert_error, data, invalid_fields
from tests.services import media_samples as samples
from tests.world import World

X, Y, A, B, ADMIN = "instructor_x", "instructor_y", "student_a", "student_b", "admin"
MEDIA = "/api/data/media-repository"

# The upload tests' fixtures: one app for the module, its files removed after each test.
shared_settings = uploads.shared_settings
shared_client = uploads.shared_client
media_root = uploads.media_root
media_api = uploads.media_api
upload = uploads.upload


def create_link(api: TestClient, world: World, actor: str, url: str, *, course: str) -> Any:
    return api.post(
        MEDIA,
        json={
            "courseId": world.rows["courses"][course],
            "mediaType": "image",
            "mediaUrl": url,
        },
        headers=world.headers(actor),
    )


def dead_link(engine: Engine, world: World, url: str, *, course: str) -> int:
    """A row of ``course`` naming another course's stored URL, with no file of its own: what
    the API accepted before, and what migration 0007 leaves of such a row."""
    with Session(engine) as session:
        course_id = world.rows["courses"][course]
        media = MediaFile(
            course_id=course_id,
            instructor_id=world.users[course],
            media_type=MediaType.DOCUMENT,
            media_url=url,
            index=7,
        )
        session.add(media)
        session.commit()
        return media.media_id


def media_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(MediaFile)) or 0


@pytest.fixture
def stored(upload: Upload) -> dict[str, Any]:
    """A PDF uploaded to instructor X's course (student A learns there)."""
    created: dict[str, Any] = data(upload(X, samples.PDF, name="notes.pdf"), 201)
    return created


class TestAHandWrittenUrlIsAnExternalLink:
    def test_another_courses_stored_url_is_refused(
        self, media_api: TestClient, world: World, stored: dict[str, Any], engine: Engine
    ) -> None:
        refused = create_link(media_api, world, Y, stored["mediaUrl"], course=Y)
        assert invalid_fields(refused) == ["mediaUrl"]
        assert "uploaded" in refused.json()["error"]["details"][0]["message"]
        assert media_count(engine) == 3

    def test_a_stored_url_of_ones_own_course_typed_by_hand_is_refused(
        self, media_api: TestClient, world: World, stored: dict[str, Any]
    ) -> None:
        # Uploads are the only way to a stored file: a copy would delete or outlive it.
        assert invalid_fields(create_link(media_api, world, X, stored["mediaUrl"], course=X)) == [
            "mediaUrl"
        ]

    @pytest.mark.parametrize(
        "spelling",
        [
            pytest.param(
                lambda url: url.replace("http://testserver", "HTTP://TESTSERVER"), id="case"
            ),
            pytest.param(lambda url: url.replace("testserver", "testserver:80"), id="port"),
            pytest.param(lambda url: url.replace("/media/", "/media//"), id="double-slash"),
            pytest.param(lambda url: url.replace("/media/", "/x/../media/"), id="dot-segment"),
            pytest.param(lambda url: url.replace("courses", "%63ourses"), id="escaped"),
            pytest.param(lambda url: url + "?v=1", id="query"),
        ],
    )
    def test_a_stored_url_spelled_otherwise_is_refused_too(
        self, media_api: TestClient, world: World, stored: dict[str, Any], spelling: Any
    ) -> None:
        url = spelling(stored["mediaUrl"])
        assert invalid_fields(create_link(media_api, world, Y, url, course=Y)) == ["mediaUrl"]

    def test_any_url_under_our_media_route_is_refused(
        self, media_api: TestClient, world: World
    ) -> None:
        url = f"{PUBLIC_URL}/media/courses/1/not-a-key-we-made.png"
        assert invalid_fields(create_link(media_api, world, Y, url, course=Y)) == ["mediaUrl"]

    @pytest.mark.parametrize(
        "url",
        [
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)",
            "data:text/html,<script>alert(1)</script>",
            "/media/courses/1/a.png",
            "//evil.example.com/a.png",
            "ftp://files.example.com/a.pdf",
            "https:///no-host",
        ],
    )
    def test_only_absolute_http_urls_are_taken(
        self, media_api: TestClient, world: World, engine: Engine, url: str
    ) -> None:
        assert invalid_fields(create_link(media_api, world, X, url, course=X)) == ["mediaUrl"]
        assert media_count(engine) == 2

    def test_an_external_https_link_is_taken_and_has_no_file(
        self, media_api: TestClient, world: World
    ) -> None:
        url = "https://videos.example.com/intro.mp4"
        created = data(create_link(media_api, world, X, url, course=X), 201)
        assert created["mediaUrl"] == url
        assert "storageKey" not in created


class TestServingGoesByTheRowsOwnKey:
    @pytest.mark.parametrize("reader", [Y, B])
    def test_a_row_naming_another_courses_file_serves_nothing(
        self,
        media_api: TestClient,
        world: World,
        stored: dict[str, Any],
        engine: Engine,
        reader: str,
    ) -> None:
        dead_link(engine, world, stored["mediaUrl"], course=Y)
        leaked = media_api.get(
            f"/media/{key_of(stored['mediaUrl'])}", headers=world.headers(reader)
        )
        assert_error(leaked, 404, "File not found")

    @pytest.mark.parametrize("reader", [X, A])
    def test_the_owners_readers_still_get_it(
        self,
        media_api: TestClient,
        world: World,
        stored: dict[str, Any],
        engine: Engine,
        reader: str,
    ) -> None:
        dead_link(engine, world, stored["mediaUrl"], course=Y)
        served = media_api.get(
            f"/media/{key_of(stored['mediaUrl'])}", headers=world.headers(reader)
        )
        assert served.status_code == 200
        assert served.content == samples.PDF


class TestDeletingARowRemovesOnlyItsOwnFile:
    def test_deleting_an_upload_removes_its_file(
        self, media_api: TestClient, world: World, stored: dict[str, Any], media_root: Path
    ) -> None:
        assert files_in(media_root) == [media_root / key_of(stored["mediaUrl"])]
        deleted = media_api.delete(f"{MEDIA}/{stored['mediaId']}", headers=world.headers(X))
        data(deleted)
        assert files_in(media_root) == []

    def test_deleting_a_row_naming_another_courses_file_leaves_that_file(
        self,
        media_api: TestClient,
        world: World,
        stored: dict[str, Any],
        engine: Engine,
        media_root: Path,
    ) -> None:
        intruder = dead_link(engine, world, stored["mediaUrl"], course=Y)
        data(media_api.delete(f"{MEDIA}/{intruder}", headers=world.headers(Y)))
        assert files_in(media_root) == [media_root / key_of(stored["mediaUrl"])]
        served = media_api.get(f"/media/{key_of(stored['mediaUrl'])}", headers=world.headers(X))
        assert served.content == samples.PDF

    def test_deleting_an_external_link_touches_no_file(
        self, media_api: TestClient, world: World, stored: dict[str, Any], media_root: Path
    ) -> None:
        link = world.rows["media_repository"][X]
        data(media_api.delete(f"{MEDIA}/{link}", headers=world.headers(X)))
        assert len(files_in(media_root)) == 1

    def test_a_refused_delete_keeps_the_file(
        self, media_api: TestClient, world: World, stored: dict[str, Any], media_root: Path
    ) -> None:
        refused = media_api.delete(f"{MEDIA}/{stored['mediaId']}", headers=world.headers(Y))
        assert refused.status_code == 404
        assert len(files_in(media_root)) == 1


class TestDeletingACourseRemovesItsFiles:
    def test_its_uploads_files_go_and_other_courses_files_stay(
        self, media_api: TestClient, world: World, upload: Upload, media_root: Path
    ) -> None:
        # The course's media rows go by the database's cascade; their files must go too.
        course = data(
            media_api.post(
                "/api/data/courses",
                json={
                    "title": "Short-lived",
                    "category": "Art",
                    "difficulty": "Beginner",
                    "price": "0",
                    "duration": 1,
                },
                headers=world.headers(X),
            ),
            201,
        )["courseId"]
        mine = media_api.post(
            uploads.UPLOAD,
            data={"courseId": str(course)},
            files={"file": ("notes.pdf", samples.PDF, "application/pdf")},
            headers=world.headers(X),
        )
        key = key_of(data(mine, 201)["mediaUrl"])
        theirs = data(upload(Y, samples.PNG, course=Y, name="cover.png"), 201)

        data(media_api.delete(f"/api/data/courses/{course}", headers=world.headers(X)))

        assert files_in(media_root) == [media_root / key_of(theirs["mediaUrl"])]
        assert media_api.get(f"/media/{key}", headers=world.headers(ADMIN)).status_code == 404


class TestAnUploadedFileIsFixed:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("mediaType", "video"), ("mediaUrl", "https://cdn.example.com/other.pdf")],
    )
    def test_its_type_and_url_are_refused(
        self,
        media_api: TestClient,
        world: World,
        stored: dict[str, Any],
        field: str,
        value: str,
    ) -> None:
        refused = media_api.patch(
            f"{MEDIA}/{stored['mediaId']}", json={field: value}, headers=world.headers(X)
        )
        assert invalid_fields(refused) == [field]
        read = data(media_api.get(f"{MEDIA}/{stored['mediaId']}", headers=world.headers(X)))
        assert read == stored

    def test_sending_its_own_values_back_is_no_change(
        self, media_api: TestClient, world: World, stored: dict[str, Any]
    ) -> None:
        same = {"mediaType": stored["mediaType"], "mediaUrl": stored["mediaUrl"]}
        answer = media_api.patch(
            f"{MEDIA}/{stored['mediaId']}", json=same, headers=world.headers(X)
        )
        assert data(answer) == stored


class TestAnExternalLinkMayChange:
    def test_its_type_and_url_change(self, media_api: TestClient, world: World) -> None:
        link = world.rows["media_repository"][X]
        changes = {"mediaType": "video", "mediaUrl": "https://videos.example.com/new.mp4"}
        changed = data(media_api.patch(f"{MEDIA}/{link}", json=changes, headers=world.headers(X)))
        assert (changed["mediaType"], changed["mediaUrl"]) == ("video", changes["mediaUrl"])

    @pytest.mark.parametrize("url", ["javascript:alert(1)", f"{PUBLIC_URL}/media/courses/1/a.png"])
    def test_it_never_becomes_a_script_or_one_of_our_files(
        self, media_api: TestClient, world: World, url: str
    ) -> None:
        link = world.rows["media_repository"][X]
        refused = media_api.patch(
            f"{MEDIA}/{link}", json={"mediaUrl": url}, headers=world.headers(X)
        )
        assert invalid_fields(refused) == ["mediaUrl"]
