"""The Enrollments page of the panel: learners and courses by name, each enrollment's overall
progress, and the admin's Drop, which is the API's drop (``services.enrollments.drop``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import unquote_plus

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.events import EventType
from models import (
    Analytics,
    AuditEntry,
    Enrollment,
    EnrollmentStatus,
    ProgressTracking,
    Role,
    User,
)
from tests.admin.conftest import SignIn
from tests.models.factories import make_course, make_enrollment, make_module, make_user
from tests.world import World

LIST = "/admin/enrollments/list"
REFUSED = "A completed course cannot be dropped"


@dataclass
class Learning:
    """Ada in instructor_x's "Analytical Engines" (two modules: done and half done, so 75%),
    Grace in instructor_y's "Compilers" (its one module at 99.6%: shown as 99%, not yet
    100%); and, from the world, student A in X's course and student B in Y's (50% each)."""

    ada: int
    grace: int
    ada_user: int
    engines: int


@pytest.fixture
def learning(panel_world: World, session: Session) -> Learning:
    x = session.get(User, panel_world.users["instructor_x"])
    y = session.get(User, panel_world.users["instructor_y"])
    assert x is not None
    assert y is not None
    ada = make_user(session, name="Ada Lovelace", email="ada@example.com")
    grace = make_user(session, name="Grace Hopper", email="grace@example.com")
    engines = make_course(session, instructor=x, title="Analytical Engines")
    compilers = make_course(session, instructor=y, title="Compilers")
    first = make_module(session, engines, title="Cards", position=0)
    second = make_module(session, engines, title="Mill", position=1)
    parsing = make_module(session, compilers, title="Parsing", position=0)
    ada_in = make_enrollment(session, ada, engines)
    grace_in = make_enrollment(session, grace, compilers)
    session.add_all(
        [
            ProgressTracking(
                enrollment_id=ada_in.enrollment_id, module_id=first.module_id, progress=100
            ),
            ProgressTracking(
                enrollment_id=ada_in.enrollment_id,
                module_id=second.module_id,
                progress=Decimal("50"),
            ),
            ProgressTracking(
                enrollment_id=grace_in.enrollment_id,
                module_id=parsing.module_id,
                progress=Decimal("99.6"),
            ),
        ]
    )
    session.commit()
    return Learning(
        ada=ada_in.enrollment_id,
        grace=grace_in.enrollment_id,
        ada_user=ada.user_id,
        engines=engines.course_id,
    )


# -- reading pages ----------------------------------------------------------------------------


def rows(page: str) -> dict[int, str]:
    """Each row of a list page by its primary key: the row's text, tags and blanks removed."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in body.split("<tr>")[1:]:
        match = re.search(r'<input type="hidden" value="(\d+)">', row)
        assert match is not None
        found[int(match.group(1))] = text(row)
    return found


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def details(page: str) -> dict[str, str]:
    """A details page's fields: label -> value, as shown."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", body, re.S)
    return {text(label): text(value) for label, value in zip(cells[::2], cells[1::2], strict=True)}


def drop(client: TestClient, *enrollment_ids: int) -> Response:
    """Run Drop on the selected rows, as the list's Actions menu does."""
    pks = ",".join(str(pk) for pk in enrollment_ids)
    answer: Response = client.get(
        f"/admin/enrollments/action/drop?pks={pks}",
        headers={"referer": f"http://testserver{LIST}"},
    )
    return answer


def status_of(session: Session, enrollment_id: int) -> EnrollmentStatus:
    session.expire_all()
    status = session.scalar(
        select(Enrollment.status).where(Enrollment.enrollment_id == enrollment_id)
    )
    session.rollback()  # end the read: the panel writes through its own connections
    assert status is not None
    return status


def audited(session: Session) -> list[tuple[str, str | None, int | None]]:
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "drop").order_by(AuditEntry.audit_id)
    ).all()
    found = [(entry.table_name, entry.row_id, entry.user_id) for entry in entries]
    session.rollback()
    return found


def dropped_events(session: Session) -> list[Analytics]:
    events = list(
        session.scalars(
            select(Analytics).where(Analytics.event_type == EventType.ENROLLMENT_DROPPED.value)
        )
    )
    session.rollback()
    return events


# -- the tests --------------------------------------------------------------------------------


class TestTheList:
    def test_shows_learners_courses_and_progress_by_name(
        self, sign_in: SignIn, panel_world: World, learning: Learning
    ) -> None:
        page = sign_in("admin").get(LIST)

        assert page.status_code == 200
        shown = rows(page.text)
        assert "Ada Lovelace ada@example.com Analytical Engines 75%" in shown[learning.ada]
        assert "Grace Hopper grace@example.com Compilers 99%" in shown[learning.grace]
        student_a = panel_world.rows["enrollments"]["student_a"]
        assert "Student A a@example.com Course of instructor_x 50%" in shown[student_a]
        header = text(page.text.split("<thead>", 1)[1].split("</thead>", 1)[0])
        assert "Enrollment ID Learner Course Progress" in header
        # The names replace the ids on the list: no "User ID" column to decode.
        assert "User ID" not in header
        assert "Course ID" not in header

    def test_the_learners_name_is_shown_as_text_not_markup(
        self, sign_in: SignIn, learning: Learning, session: Session
    ) -> None:
        ada = session.get(User, learning.ada_user)
        assert ada is not None
        ada.name = "<b>Ada</b>"
        session.commit()
        page = sign_in("admin").get(LIST)
        assert "&lt;b&gt;Ada&lt;/b&gt;" in page.text
        assert "<b>Ada</b>" not in page.text


class TestTheDetails:
    def test_shows_the_names_the_ids_and_the_progress(
        self, sign_in: SignIn, learning: Learning
    ) -> None:
        page = sign_in("admin").get(f"/admin/enrollments/details/{learning.ada}")

        assert page.status_code == 200
        fields = details(page.text)
        assert fields["Learner"] == "Ada Lovelace ada@example.com"
        assert fields["Learner ID"] == str(learning.ada_user)
        assert fields["Course"] == "Analytical Engines"
        assert fields["Course ID"] == str(learning.engines)
        assert fields["Progress"] == "75%"


class TestDropping:
    def test_the_admin_drops_an_enrollment_through_the_domain(
        self, sign_in: SignIn, panel_world: World, learning: Learning, session: Session
    ) -> None:
        answer = drop(sign_in("admin"), learning.ada)

        assert answer.status_code == 302
        assert answer.headers["location"] == LIST  # back to the list, no error
        assert status_of(session, learning.ada) is EnrollmentStatus.DROPPED
        admin = panel_world.users["admin"]
        assert audited(session) == [("enrollments", str(learning.ada), admin)]
        [dropped] = dropped_events(session)
        assert (dropped.user_id, dropped.course_id) == (learning.ada_user, learning.engines)
        assert dropped.event_data == {"enrollmentId": learning.ada, "reason": "admin"}

    def test_a_completed_enrollment_is_refused_in_words(
        self, sign_in: SignIn, learning: Learning, session: Session
    ) -> None:
        enrollment = session.get(Enrollment, learning.ada)
        assert enrollment is not None
        enrollment.status = EnrollmentStatus.COMPLETED
        session.commit()
        admin = sign_in("admin")

        answer = drop(admin, learning.ada)

        assert REFUSED in unquote_plus(answer.headers["location"])
        page = admin.get(answer.headers["location"])
        alert = f'role="alert">Enrollment #{learning.ada}: {REFUSED}</div>'
        assert alert in page.text
        assert status_of(session, learning.ada) is EnrollmentStatus.COMPLETED
        assert audited(session) == []
        assert dropped_events(session) == []

    def test_one_refusal_drops_none_of_the_selection(
        self, sign_in: SignIn, learning: Learning, session: Session
    ) -> None:
        enrollment = session.get(Enrollment, learning.ada)
        assert enrollment is not None
        enrollment.status = EnrollmentStatus.COMPLETED
        session.commit()

        answer = drop(sign_in("admin"), learning.grace, learning.ada)

        assert REFUSED in unquote_plus(answer.headers["location"])
        assert status_of(session, learning.grace) is EnrollmentStatus.IN_PROGRESS
        assert audited(session) == []

    @pytest.mark.xfail(
        strict=True,
        reason="ActionsView sends a refusal back as ?error=, which only sqladmin's list page "
        "shows: started from a details page, the refusal is not shown at all",
    )
    def test_a_refusal_started_from_the_details_page_is_shown_there(
        self, sign_in: SignIn, learning: Learning, session: Session
    ) -> None:
        enrollment = session.get(Enrollment, learning.ada)
        assert enrollment is not None
        enrollment.status = EnrollmentStatus.COMPLETED
        session.commit()
        admin = sign_in("admin")
        page = f"http://testserver/admin/enrollments/details/{learning.ada}"

        answer = admin.get(
            f"/admin/enrollments/action/drop?pks={learning.ada}", headers={"referer": page}
        )

        assert answer.headers["location"].startswith(f"/admin/enrollments/details/{learning.ada}")
        assert REFUSED in admin.get(answer.headers["location"]).text

    def test_is_offered_to_the_admin_on_the_list_and_the_details(
        self, sign_in: SignIn, learning: Learning
    ) -> None:
        admin = sign_in("admin")
        for page in (admin.get(LIST), admin.get(f"/admin/enrollments/details/{learning.ada}")):
            assert "/admin/enrollments/action/drop" in page.text
            assert "modal-confirmation-drop" in page.text


class TestInstructors:
    def test_see_their_own_courses_enrollments_with_names_and_progress(
        self, sign_in: SignIn, panel_world: World, learning: Learning
    ) -> None:
        page = sign_in("instructor_x").get(LIST)

        assert page.status_code == 200
        shown = rows(page.text)
        student_a = panel_world.rows["enrollments"]["student_a"]
        assert set(shown) == {learning.ada, student_a}
        assert "Ada Lovelace ada@example.com Analytical Engines 75%" in shown[learning.ada]
        assert "Grace Hopper" not in page.text
        assert "Student B" not in page.text

    def test_are_not_offered_drop_and_a_forged_drop_is_refused(
        self, sign_in: SignIn, learning: Learning, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        list_page = instructor.get(LIST)
        details_page = instructor.get(f"/admin/enrollments/details/{learning.ada}")
        assert (list_page.status_code, details_page.status_code) == (200, 200)
        for page in (list_page, details_page):
            assert "/admin/enrollments/action/drop" not in page.text
            assert "confirmation-drop" not in page.text

        answer = drop(instructor, learning.ada)

        assert answer.status_code == 403
        assert status_of(session, learning.ada) is EnrollmentStatus.IN_PROGRESS
        assert audited(session) == []


class TestStatements:
    @pytest.fixture
    def statements(self, panel_app: FastAPI) -> Iterator[list[str]]:
        """The SQL the panel's engine runs while the test counts."""
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        engine = panel_app.state.lms.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        yield seen
        event.remove(engine, "before_cursor_execute", count)

    def test_the_list_costs_the_same_for_2_rows_and_12(
        self, sign_in: SignIn, panel_world: World, session: Session, statements: list[str]
    ) -> None:
        admin = sign_in("admin")
        statements.clear()
        assert len(rows(admin.get(LIST).text)) == 2
        for_two = list(statements)

        instructor = session.get(User, panel_world.users["instructor_x"])
        assert instructor is not None
        for n in range(10):
            course = make_course(session, instructor=instructor, title=f"Course {n}")
            make_module(session, course)
            learner = make_user(session, name=f"Learner {n}", role=Role.STUDENT)
            make_enrollment(session, learner, course)
        session.commit()
        statements.clear()
        page = admin.get(LIST)
        shown = rows(page.text)

        assert len(shown) == 12
        # Not started: 0%.
        assert sum(" 0% in_progress " in row for row in shown.values()) == 10
        assert len(statements) == len(for_two), "\n".join(statements)
        # Progress for the whole page, in one statement.
        assert sum("progress_tracking" in sql for sql in statements) == 1
