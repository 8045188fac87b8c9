"""The admin panel in a real browser: what admins, instructors and students see and can do.

Each test is a story told by people at their own browser windows (their own cookies), on
the whole app served on a loopback port. Every page they see is saved as a screenshot in
``var/artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from models import Course, Role, User
from tests.browser.conftest import PASSWORD, OpenPanel
from tests.browser.panel import Panel
from tests.models.factories import make_course, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # The scopes behind the panel are tested on both backends elsewhere; through a browser
    # one backend is enough, and the second would add half a minute to the suite.
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

ADMIN_EMAIL = "root@example.com"
INSTRUCTOR_EMAIL = "ines@example.com"
OTHER_INSTRUCTOR_EMAIL = "otto@example.com"
STUDENT_EMAIL = "sam@example.com"
COURSE_TITLE = "Watercolour for Beginners"
OTHER_COURSE_TITLE = "Otto's Secret Course"

STUDENT_REFUSED = "The admin panel is for instructors and admins; students use the learning app."


# -- the people and what already exists -----------------------------------------------------


@pytest.fixture
def admin(session: Session, password_hash: str) -> User:
    user = make_user(
        session, email=ADMIN_EMAIL, name="Ada Admin", role=Role.ADMIN, password_hash=password_hash
    )
    session.commit()
    return user


@pytest.fixture
def instructor(session: Session, password_hash: str) -> User:
    user = make_user(
        session,
        email=INSTRUCTOR_EMAIL,
        name="Ines Instructor",
        role=Role.INSTRUCTOR,
        password_hash=password_hash,
    )
    make_course(session, instructor=user, title=COURSE_TITLE)
    session.commit()
    return user


@pytest.fixture
def other_course(session: Session, password_hash: str) -> Course:
    otto = make_user(
        session,
        email=OTHER_INSTRUCTOR_EMAIL,
        name="Otto Other",
        role=Role.INSTRUCTOR,
        password_hash=password_hash,
    )
    course = make_course(session, instructor=otto, title=OTHER_COURSE_TITLE)
    session.commit()
    return course


@pytest.fixture
def student(session: Session, password_hash: str) -> User:
    user = make_user(
        session,
        email=STUDENT_EMAIL,
        name="Sam Student",
        role=Role.STUDENT,
        password_hash=password_hash,
    )
    session.commit()
    return user


# -- files an instructor uploads ------------------------------------------------------------


def tiny_png() -> bytes:
    """A valid 1x1 white PNG: the signature, then IHDR, IDAT and IEND chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")  # one scanline: no filter, one white pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def tiny_pdf() -> bytes:
    """A valid one-page PDF, with a cross-reference table at the right offsets."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, content)
    table = b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    table += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        len(body),
    )
    return body + table + trailer


# -- the steps of the stories ---------------------------------------------------------------


def create_instructor(admin: Panel, *, email: str, name: str, password: str) -> None:
    admin.visit("/admin/users/create", "new-user-form")
    admin.fill(email=email, name=name, password=password)
    admin.choose("role", "instructor")
    admin.save(lands_on="/admin/users/list", step="instructor-created")
    expect(admin.rows(email)).to_contain_text("instructor")


def create_course(teacher: Panel, title: str) -> int:
    """Fill the course form; the new course's id (read from its details page)."""
    teacher.visit("/admin/courses/create", "new-course-form")
    teacher.fill(
        title=title,
        description="Paint loose, luminous landscapes in six short lessons.",
        category="Art",
        duration="90",
        price="19.99",
    )
    teacher.choose("difficulty", "Beginner")
    teacher.save(lands_on="/admin/courses/list", step="course-created")
    return teacher.open_row(title, "course-details")


def add_module(teacher: Panel, course: str, *, title: str, position: int) -> None:
    teacher.visit("/admin/course-modules/create", f"new-module-{position}-form")
    teacher.choose("course_id", course)
    teacher.fill(title=title, position=str(position), duration="15")
    teacher.save(lands_on="/admin/course-modules/list", step=f"module-{position}-created")
    expect(teacher.rows(title)).to_be_visible()


def upload(teacher: Panel, course: str, path: Path) -> None:
    teacher.visit("/admin/media-repository/create", f"upload-{path.stem}-form")
    teacher.choose("course_id", course)
    teacher.page.set_input_files("input[type=file][name=file]", str(path))
    teacher.save(lands_on="/admin/media-repository/list", step=f"{path.stem}-uploaded")


def served_file(teacher: Panel, media_type: str) -> tuple[str, bytes]:
    """The content type and bytes behind the file link of the media row of ``media_type``,
    fetched with the teacher's cookies (the link opens in a new tab)."""
    link = teacher.rows(media_type).locator("a[href*='/file/']").first
    answer = teacher.page.request.get(teacher.url(link.get_attribute("href") or ""))
    assert answer.status == 200, answer.text()
    return answer.headers["content-type"], answer.body()


def publish(teacher: Panel, course_id: int) -> None:
    """The details page's Publish button, confirmed in its dialog."""
    teacher.visit(f"/admin/courses/details/{course_id}", "course-before-publishing")
    teacher.page.get_by_role("link", name="Publish", exact=True).click()
    dialog = teacher.page.locator("#modal-confirmation-publish")
    expect(dialog).to_contain_text("List in the catalog?")
    teacher.snap("publish-confirmation")
    with teacher.page.expect_navigation():
        dialog.get_by_role("link", name="Yes").click()
    teacher.snap("course-published")


def catalog_titles(base_url: str) -> list[str]:
    """The public catalog, as the learning app reads it (no sign-in)."""
    answer = httpx.get(f"{base_url}/api/courses/catalog/list", params={"limit": 100})
    assert answer.status_code == 200, answer.text
    envelope = answer.json()
    assert envelope["status"] == "success"
    return [course["title"] for course in envelope["data"]["courses"]]


# -- the stories ----------------------------------------------------------------------------


class TestAnAdminOnboardsAnInstructorWhoPublishesACourse:
    def test_the_course_with_modules_and_media_reaches_the_public_catalog(
        self, admin: User, open_panel: OpenPanel, live_server: str, tmp_path: Path
    ) -> None:
        desk = open_panel("admin")
        desk.sign_in(ADMIN_EMAIL, PASSWORD)
        create_instructor(desk, email=INSTRUCTOR_EMAIL, name="Ines Instructor", password=PASSWORD)

        teacher = open_panel("instructor")
        teacher.sign_in(INSTRUCTOR_EMAIL, PASSWORD)
        course_id = create_course(teacher, COURSE_TITLE)
        course = f"{COURSE_TITLE} (#{course_id})"  # how the forms' drop-downs name it
        add_module(teacher, course, title="Materials and brushes", position=1)
        add_module(teacher, course, title="Your first wash", position=2)

        cover, syllabus = tmp_path / "cover.png", tmp_path / "syllabus.pdf"
        cover.write_bytes(tiny_png())
        syllabus.write_bytes(tiny_pdf())
        upload(teacher, course, cover)
        upload(teacher, course, syllabus)
        # Stored under the platform's public URL, and the same bytes come back.
        expect(teacher.rows(f"{live_server}/media/")).to_have_count(2)
        assert served_file(teacher, "image") == ("image/png", tiny_png())
        assert served_file(teacher, "document") == ("application/pdf", tiny_pdf())

        assert COURSE_TITLE not in catalog_titles(live_server)  # a new course is a draft
        publish(teacher, course_id)
        assert COURSE_TITLE in catalog_titles(live_server)


class TestAnInstructorStaysWithinTheirOwnCourses:
    def test_another_instructors_course_is_not_listed(
        self, instructor: User, other_course: Course, open_panel: OpenPanel
    ) -> None:
        teacher = open_panel("instructor")
        teacher.sign_in(INSTRUCTOR_EMAIL, PASSWORD)
        teacher.visit("/admin/courses/list", "course-list")
        expect(teacher.page.locator("table tbody")).to_contain_text(COURSE_TITLE)
        expect(teacher.page.locator("table tbody")).not_to_contain_text(OTHER_COURSE_TITLE)

    @pytest.mark.parametrize("page", ["details", "edit"])
    def test_another_instructors_course_by_url_is_forbidden(
        self, page: str, instructor: User, other_course: Course, open_panel: OpenPanel
    ) -> None:
        teacher = open_panel("instructor")
        teacher.sign_in(INSTRUCTOR_EMAIL, PASSWORD)
        answer = teacher.visit(f"/admin/courses/{page}/{other_course.course_id}", "other-course")
        assert answer is not None
        assert answer.status == 403
        expect(teacher.page.locator("body")).not_to_contain_text(OTHER_COURSE_TITLE)

    def test_the_users_page_is_not_in_the_menu_and_is_forbidden(
        self, instructor: User, open_panel: OpenPanel
    ) -> None:
        teacher = open_panel("instructor")
        teacher.sign_in(INSTRUCTOR_EMAIL, PASSWORD)
        teacher.expect_menu(has="Courses", lacks="Users")
        answer = teacher.visit("/admin/users/list", "users-page")
        assert answer is not None
        assert answer.status == 403
        expect(teacher.page.locator("body")).not_to_contain_text(INSTRUCTOR_EMAIL)


class TestSigningIn:
    def test_a_student_is_refused_with_a_message(
        self, student: User, open_panel: OpenPanel
    ) -> None:
        learner = open_panel("student")
        learner.sign_in(STUDENT_EMAIL, PASSWORD)
        expect(learner.page).to_have_url(learner.url("/admin/login"))
        expect(learner.page.get_by_text(STUDENT_REFUSED).first).to_be_visible()
        expect(learner.page.locator("#navbar-menu")).to_have_count(0)

    def test_a_wrong_password_is_refused_with_a_message(
        self, admin: User, open_panel: OpenPanel
    ) -> None:
        stranger = open_panel("stranger")
        stranger.sign_in(ADMIN_EMAIL, "not-the-password")
        expect(stranger.page).to_have_url(stranger.url("/admin/login"))
        expect(stranger.page.get_by_text("Invalid email or password.").first).to_be_visible()


class TestSigningOut:
    def test_returns_to_the_sign_in_page_and_old_pages_show_nothing(
        self, instructor: User, open_panel: OpenPanel
    ) -> None:
        teacher = open_panel("instructor")
        teacher.sign_in(INSTRUCTOR_EMAIL, PASSWORD)
        teacher.visit("/admin/courses/list", "course-list")
        expect(teacher.page.locator("table tbody")).to_contain_text(COURSE_TITLE)

        teacher.sign_out()
        expect(teacher.page).to_have_url(teacher.url("/admin/login"))

        teacher.page.go_back()  # the course list must not come back from the browser's cache
        teacher.snap("back-button")
        expect(teacher.page).to_have_url(re.compile(r"/admin/login"))
        expect(teacher.page.locator("body")).not_to_contain_text(COURSE_TITLE)

        teacher.visit("/admin/courses/list", "old-url")
        expect(teacher.page).to_have_url(teacher.url("/admin/login"))
        expect(teacher.page.locator("body")).not_to_contain_text(COURSE_TITLE)
