"""Uploading course media from the panel: checked by content, stored, numbered in upload order,
all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.app import create_app
from core.settings import Settings
from models import AuditEntry, MediaFile, MediaType
from tests.admin.conftest import PANEL_PASSWORD, SignIn
from tests.services import media_samples as samples
from tests.world import World


@pytest.fixture
def panel_app(settings: Settings) -> Iterator[FastAPI]:
    """An app of this test's own: its files land in this test's folder, where the test
    can see exactly what was stored."""
    relaxed = settings.model_copy(
        update={"ratelimit": settings.ratelimit.model_copy(update={"enabled": False})}
    )
    app = create_app(relaxed)
    with TestClient(app):
        yield app


def upload(client: TestClient, course_id: int, name: str, content: bytes, kind: str) -> Response:
    answer: Response = client.post(
        "/admin/media-repository/create",
        data={"course_id": str(course_id), "save": "Save"},
        files={"file": (name, content, kind)},
    )
    return answer


def media_of(session: Session, course_id: int) -> list[MediaFile]:
    session.expire_all()
    return list(
        session.scalars(
            select(MediaFile).where(MediaFile.course_id == course_id).order_by(MediaFile.index)
        )
    )


def stored_files(settings: Settings) -> list[Path]:
    root = settings.path(settings.storage.local_root)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


class TestUploadingFromThePanel:
    def test_an_image_and_a_pdf_are_stored_and_listed_in_upload_order(
        self, sign_in: SignIn, panel_world: World, session: Session, settings: Settings
    ) -> None:
        instructor = sign_in("instructor_x")
        course_id = panel_world.rows["courses"]["instructor_x"]

        for name, content, kind in [
            ("cover.png", samples.PNG, "image/png"),
            ("syllabus.pdf", samples.PDF, "application/pdf"),
        ]:
            answer = upload(instructor, course_id, name, content, kind)
            assert answer.status_code == 302, answer.text

        media = media_of(session, course_id)
        # The world's course already had one file (index 0).
        assert [(m.index, m.media_type) for m in media] == [
            (0, MediaType.IMAGE),
            (1, MediaType.IMAGE),
            (2, MediaType.DOCUMENT),
        ]
        files = stored_files(settings)
        assert sorted(path.read_bytes() for path in files) == sorted([samples.PNG, samples.PDF])
        for item in media[1:]:
            assert item.media_url.startswith(f"{settings.app.public_url}/media/courses/")
            assert item.instructor_id == panel_world.users["instructor_x"]
        audited = session.scalars(
            select(AuditEntry.row_id).where(AuditEntry.table_name == "media_repository")
        ).all()
        assert sorted(map(str, audited)) == sorted(str(m.media_id) for m in media[1:])

    def test_the_type_comes_from_the_content_not_the_name(
        self, sign_in: SignIn, panel_world: World, session: Session, settings: Settings
    ) -> None:
        instructor = sign_in("instructor_x")
        course_id = panel_world.rows["courses"]["instructor_x"]

        answer = upload(instructor, course_id, "notes.pdf", samples.HTML, "application/pdf")

        assert answer.status_code == 400
        assert "type text/html is not allowed" in answer.text
        assert len(media_of(session, course_id)) == 1
        assert stored_files(settings) == []

    def test_another_instructors_course_is_refused_and_nothing_is_stored(
        self, sign_in: SignIn, panel_world: World, session: Session, settings: Settings
    ) -> None:
        # A forged form: y's course is not among x's choices.
        other_course = panel_world.rows["courses"]["instructor_y"]
        answer = upload(sign_in("instructor_x"), other_course, "a.png", samples.PNG, "image/png")
        assert answer.status_code == 400
        assert len(media_of(session, other_course)) == 1
        assert stored_files(settings) == []

    def test_an_empty_form_asks_for_a_file(self, sign_in: SignIn, panel_world: World) -> None:
        answer = sign_in("instructor_x").post(
            "/admin/media-repository/create",
            data={"course_id": str(panel_world.rows["courses"]["instructor_x"]), "save": "Save"},
        )
        assert answer.status_code == 400

    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    def test_a_file_over_the_limit_is_refused(
        self, settings: Settings, panel_world: World, session: Session
    ) -> None:
        small = settings.model_copy(
            update={
                "media": settings.media.model_copy(update={"max_upload_bytes": 64}),
                "ratelimit": settings.ratelimit.model_copy(update={"enabled": False}),
            }
        )
        course_id = panel_world.rows["courses"]["instructor_x"]
        with TestClient(create_app(small), follow_redirects=False) as client:
            client.post(
                "/admin/login", data={"username": "x@example.com", "password": PANEL_PASSWORD}
            )
            answer = upload(client, course_id, "big.pdf", samples.PDF + bytes(100), "x/y")
        assert answer.status_code == 400
        assert "larger than the upload limit" in answer.text
        assert len(media_of(session, course_id)) == 1
        assert stored_files(small) == []

    def test_media_is_not_edited_by_hand(self, sign_in: SignIn, panel_world: World) -> None:
        media_id = panel_world.rows["media_repository"]["instructor_x"]
        assert (
            sign_in("instructor_x").get(f"/admin/media-repository/edit/{media_id}").status_code
            == 403
        )


class TestSeeingTheFiles:
    def test_the_panel_shows_a_file_to_those_who_reach_its_row(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        course_id = panel_world.rows["courses"]["instructor_x"]
        upload(instructor, course_id, "syllabus.pdf", samples.PDF, "application/pdf")
        media = media_of(session, course_id)[-1]
        page = f"/admin/media-repository/file/{media.media_id}"

        shown = instructor.get(page)
        assert shown.status_code == 200
        assert shown.content == samples.PDF
        assert shown.headers["content-type"] == "application/pdf"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert sign_in("admin").get(page).content == samples.PDF
        assert sign_in("instructor_y").get(page).status_code == 404
        # The details page links to it.
        assert page in instructor.get(f"/admin/media-repository/details/{media.media_id}").text


class TestThePanelNeverRedirectsOffSite:
    def test_an_external_link_is_listed_as_itself_and_has_no_file_page(
        self, sign_in: SignIn, panel_world: World
    ) -> None:
        instructor = sign_in("instructor_x")
        media_id = panel_world.rows["media_repository"]["instructor_x"]
        answer = instructor.get(f"/admin/media-repository/file/{media_id}")
        assert answer.status_code == 404
        assert "location" not in answer.headers
        details = instructor.get(f"/admin/media-repository/details/{media_id}").text
        assert 'href="https://cdn.example.com/instructor_x.png"' in details

    @pytest.mark.parametrize(
        "url", ["javascript:alert(1)", "https://evil.example.com/x.png", "//evil.example.com/x"]
    )
    def test_a_row_of_any_url_is_never_a_redirect(
        self, sign_in: SignIn, panel_world: World, session: Session, url: str
    ) -> None:
        # Written before the URL rule (or by hand in the database): the panel stays safe.
        media_id = panel_world.rows["media_repository"]["instructor_x"]
        session.execute(
            update(MediaFile).where(MediaFile.media_id == media_id).values(media_url=url)
        )
        session.commit()
        instructor = sign_in("instructor_x")
        answer = instructor.get(f"/admin/media-repository/file/{media_id}")
        assert answer.status_code == 404
        assert "location" not in answer.headers
        listed = instructor.get("/admin/media-repository/list").text
        assert 'href="javascript:' not in listed
        assert 'href="//evil' not in listed

    def test_a_row_naming_another_courses_file_shows_nothing_of_it(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        course_x = panel_world.rows["courses"]["instructor_x"]
        upload(sign_in("instructor_x"), course_x, "notes.pdf", samples.PDF, "application/pdf")
        stored = media_of(session, course_x)[-1]
        intruder = dead_link(session, panel_world, stored.media_url)
        answer = sign_in("instructor_y").get(f"/admin/media-repository/file/{intruder}")
        assert answer.status_code == 404


def dead_link(session: Session, world: World, url: str) -> int:
    """A row of instructor Y's course naming instructor X's stored file, with no key: what
    the data API accepted before, and what migration 0007 leaves of such a row."""
    media = MediaFile(
        course_id=world.rows["courses"]["instructor_y"],
        instructor_id=world.users["instructor_y"],
        media_type=MediaType.DOCUMENT,
        media_url=url,
        index=7,
    )
    session.add(media)
    session.commit()
    return media.media_id


class TestDeletingAFile:
    def test_deleting_the_row_removes_the_stored_file(
        self, sign_in: SignIn, panel_world: World, session: Session, settings: Settings
    ) -> None:
        instructor = sign_in("instructor_x")
        course_id = panel_world.rows["courses"]["instructor_x"]
        upload(instructor, course_id, "cover.png", samples.PNG, "image/png")
        media = media_of(session, course_id)[-1]
        media_id = media.media_id
        assert len(stored_files(settings)) == 1

        answer = instructor.delete(f"/admin/media-repository/delete?pks={media_id}")

        assert answer.status_code == 200
        assert "error" not in answer.text
        assert [m.media_id for m in media_of(session, course_id)] == [
            panel_world.rows["media_repository"]["instructor_x"]
        ]
        assert stored_files(settings) == []
        # Logged by the write pipeline, as a delete through the data API is.
        deleted = session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "delete", AuditEntry.row_id == str(media_id)
            )
        ).one()
        assert deleted.table_name == "media_repository"

    def test_deleting_a_row_naming_another_courses_file_leaves_that_file(
        self, sign_in: SignIn, panel_world: World, session: Session, settings: Settings
    ) -> None:
        course_x = panel_world.rows["courses"]["instructor_x"]
        upload(sign_in("instructor_x"), course_x, "notes.pdf", samples.PDF, "application/pdf")
        stored = media_of(session, course_x)[-1]
        intruder = dead_link(session, panel_world, stored.media_url)

        answer = sign_in("instructor_y").delete(f"/admin/media-repository/delete?pks={intruder}")

        assert answer.status_code == 200
        assert [path.read_bytes() for path in stored_files(settings)] == [samples.PDF]
        shown = sign_in("instructor_x").get(f"/admin/media-repository/file/{stored.media_id}")
        assert shown.content == samples.PDF

    def test_another_instructor_cannot_delete_it(
        self, sign_in: SignIn, panel_world: World, session: Session, settings: Settings
    ) -> None:
        course_id = panel_world.rows["courses"]["instructor_x"]
        upload(sign_in("instructor_x"), course_id, "cover.png", samples.PNG, "image/png")
        media = media_of(session, course_id)[-1]
        answer = sign_in("instructor_y").delete(
            f"/admin/media-repository/delete?pks={media.media_id}"
        )
        assert answer.status_code == 403
        assert len(media_of(session, course_id)) == 2
        assert len(stored_files(settings)) == 1
