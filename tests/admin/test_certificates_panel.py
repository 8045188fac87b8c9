"""The Certificates page of the panel: who was certified for which course, by the names as
certified; each certificate's PDF; and the admins' Revoke (with a reason) and Re-issue (with
a corrected name), which are the API's (``services.certificates.revoke``,
``services.certificate_flows.reissue``) and audit themselves, once."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from io import BytesIO
from urllib.parse import unquote_plus

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from admin.auth import STUDENT_REFUSED
from api.state import AppState
from core.clock import utcnow
from core.database import sync_session_factory, units_of_work
from integrations.storage import LocalStorage
from models import AuditEntry, Certificate, CertificateStatus, EnrollmentStatus, User
from services.certificate_flows import issue
from services.certificates import new_unique_id
from tests.admin.conftest import PANEL_PASSWORD, SignIn
from tests.admin.html_forms import as_post, read_form
from tests.models.factories import make_course, make_enrollment, make_user
from tests.world import World

LIST = "/admin/certificates/list"
DAY = r"\d{4}-\d{2}-\d{2}"


@dataclass
class Certified:
    certificate_id: int
    unique_id: str
    learner_id: int


Certify = Callable[[str, str, str, str], Certified]


@pytest.fixture
def certify(panel_app: FastAPI, panel_world: World, engine: Engine, session: Session) -> Certify:
    """``certify(name, email, instructor, course title)``: a learner who completed a course
    of that instructor, and their certificate issued for real (rendered and stored by the
    job's flow, into the panel's own storage)."""
    state: AppState = panel_app.state.lms
    units = units_of_work(sync_session_factory(engine))

    def certified(name: str, email: str, instructor: str, title: str) -> Certified:
        teacher = session.get(User, panel_world.users[instructor])
        learner = make_user(session, name=name, email=email)
        course = make_course(session, instructor=teacher, title=title)
        enrollment = make_enrollment(session, learner, course)
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = utcnow()
        session.commit()
        issued = issue(
            units,
            state.storage,
            state.settings,
            user_id=learner.user_id,
            course_id=course.course_id,
        )
        assert issued is not None
        assert issued.created
        certificate = reread(session, issued.certificate_id)
        return Certified(issued.certificate_id, certificate.unique_id, learner.user_id)

    return certified


@pytest.fixture
def ada(certify: Certify) -> Certified:
    """Ada Lovelace, certified for instructor_x's "Analytical Engines"."""
    return certify("Ada Lovelace", "ada@example.com", "instructor_x", "Analytical Engines")


@pytest.fixture
def issuing(panel_world: World, session: Session) -> int:
    """Edsger's certificate for instructor_x's course, reserved and still being rendered."""
    learner = make_user(session, name="Edsger Dijkstra", email="edsger@example.com")
    course_id = panel_world.rows["courses"]["instructor_x"]
    certificate = Certificate(
        user_id=learner.user_id,
        course_id=course_id,
        unique_id=new_unique_id(),
        status=CertificateStatus.ISSUING,
        learner_name=learner.name,
        course_title="Course of instructor_x",
    )
    session.add(certificate)
    session.commit()
    return certificate.certificate_id


@pytest.fixture
def grace(certify: Certify) -> Certified:
    """Grace Hopper, certified for instructor_y's "Compilers"."""
    return certify("Grace Hopper", "grace@example.com", "instructor_y", "Compilers")


# -- reading pages and rows -------------------------------------------------------------------


def text(html: str) -> str:
    """What a page shows: tags and runs of blanks removed, entities read."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def rows(page: str) -> dict[int, str]:
    """Each row of a list page by its primary key: the row's text, tags and blanks removed."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    found = {}
    for row in body.split("<tr>")[1:]:
        match = re.search(r'<input type="hidden" value="(\d+)">', row)
        assert match is not None
        found[int(match.group(1))] = text(row)
    return found


def header(page: str) -> str:
    return text(page.split("<thead>", 1)[1].split("</thead>", 1)[0])


def details(page: str) -> dict[str, str]:
    """A details page's fields: label -> value, as shown."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", body, re.S)
    return {text(label): text(value) for label, value in zip(cells[::2], cells[1::2], strict=True)}


def reread(session: Session, certificate_id: int) -> Certificate:
    """The row as committed now (the panel writes through its own connections)."""
    session.expire_all()
    certificate = session.get(Certificate, certificate_id)
    assert certificate is not None
    session.expunge(certificate)
    session.rollback()
    return certificate


def audited(session: Session, action: str) -> list[tuple[str, str | None, int | None]]:
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.audit_id)
    ).all()
    found = [(entry.table_name, entry.row_id, entry.user_id) for entry in entries]
    session.rollback()
    return found


def open_action(client: TestClient, slug: str, *certificate_ids: int) -> Response:
    """Follow an action of the list's Actions menu on the selected rows."""
    pks = ",".join(str(pk) for pk in certificate_ids)
    answer: Response = client.get(
        f"/admin/certificates/action/{slug}?pks={pks}",
        headers={"referer": f"http://testserver{LIST}"},
    )
    return answer


def submit(
    client: TestClient, slug: str, certificate_ids: tuple[int, ...], **typed: str
) -> Response:
    """Open the action's form, type into it and send it, as a browser would."""
    page = open_action(client, slug, *certificate_ids)
    assert page.status_code == 200, page.text
    form = read_form(page.text, f"/admin/certificates/action/{slug}")
    sent = [(name, value) for name, value in form.submission() if name not in typed]
    answer: Response = client.post(form.action, data=as_post(sent + list(typed.items())))
    return answer


def revoke(client: TestClient, *certificate_ids: int, reason: str) -> Response:
    return submit(client, "revoke", certificate_ids, reason=reason)


def reissue(client: TestClient, certificate_id: int, learner_name: str = "") -> Response:
    return submit(client, "reissue", (certificate_id,), learner_name=learner_name)


def refusal(answer: Response) -> str:
    assert answer.status_code == 302
    location = unquote_plus(answer.headers["location"])
    assert location.startswith(f"{LIST}?"), location
    return location.split("error=", 1)[1]


# -- the tests --------------------------------------------------------------------------------


class TestTheList:
    def test_shows_learners_courses_ids_and_status_by_name(
        self, sign_in: SignIn, ada: Certified, grace: Certified, issuing: int
    ) -> None:
        page = sign_in("admin").get(LIST)

        assert page.status_code == 200
        shown = rows(page.text)
        learner, course = "Ada Lovelace ada@example.com", "Analytical Engines"
        assert re.fullmatch(
            f"{ada.certificate_id} {learner} {course} Valid {DAY} {ada.unique_id} PDF",
            shown[ada.certificate_id],
        )
        learner, course = "Grace Hopper grace@example.com", "Compilers"
        assert re.fullmatch(
            f"{grace.certificate_id} {learner} {course} Valid {DAY} {grace.unique_id} PDF",
            shown[grace.certificate_id],
        )
        # Still being rendered: no PDF yet.
        learner, course = "Edsger Dijkstra edsger@example.com", "Course of instructor_x"
        assert re.fullmatch(f"{issuing} {learner} {course} Issuing {DAY} CERT-\\S+", shown[issuing])
        assert header(page.text) == "ID Learner Course Status Issued Unique ID"
        # Where the file is kept is the store's business.
        assert "File key" not in page.text
        assert "certificates/CERT-" not in page.text

    def test_shows_the_names_as_certified_and_an_account_renamed_since(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        learner = session.get(User, ada.learner_id)
        assert learner is not None
        learner.name = "<b>Ada King</b>"
        session.commit()

        page = sign_in("admin").get(LIST).text

        shown = rows(page)[ada.certificate_id]
        assert "Ada Lovelace ada@example.com Account name: <b>Ada King</b>" in shown
        assert "&lt;b&gt;Ada King&lt;/b&gt;" in page  # as text, not markup

    def test_a_revoked_certificate_shows_when_and_why(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        admin = sign_in("admin")
        revoke(admin, ada.certificate_id, reason="Plagiarised final project")

        shown = rows(admin.get(LIST).text)[ada.certificate_id]

        assert re.search(f"Revoked on {DAY} Plagiarised final project {DAY} {ada.unique_id}", shown)

    def test_costs_the_same_for_2_rows_and_12(
        self,
        sign_in: SignIn,
        panel_app: FastAPI,
        panel_world: World,
        session: Session,
    ) -> None:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        admin = sign_in("admin")
        engine = panel_app.state.lms.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert len(rows(admin.get(LIST).text)) == 2  # the world's
            for_two = list(seen)
            instructor = session.get(User, panel_world.users["instructor_x"])
            for n in range(10):
                learner = make_user(session, name=f"Learner {n}")
                course = make_course(session, instructor=instructor, title=f"Course {n}")
                session.add(
                    Certificate(
                        user_id=learner.user_id, course_id=course.course_id, unique_id=f"c-{n}"
                    )
                )
            session.commit()
            seen.clear()
            assert len(rows(admin.get(LIST).text)) == 12
        finally:
            event.remove(engine, "before_cursor_execute", count)

        assert len(seen) == len(for_two), "\n".join(seen)


class TestTheDetails:
    def test_shows_each_name_before_its_id_and_the_pdf(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        page = sign_in("admin").get(f"/admin/certificates/details/{ada.certificate_id}")

        assert page.status_code == 200
        fields = details(page.text)
        assert list(fields)[:5] == ["ID", "Learner", "Learner ID", "Course", "Course ID"]
        assert fields["Learner"] == "Ada Lovelace ada@example.com"
        assert fields["Learner ID"] == str(ada.learner_id)
        assert fields["Course"] == "Analytical Engines"
        assert (fields["Status"], fields["Unique ID"], fields["PDF"]) == (
            "Valid",
            ada.unique_id,
            "PDF",
        )
        assert f'href="/admin/certificates/file/{ada.certificate_id}"' in page.text
        assert "File key" not in fields


class TestWhoSeesWhat:
    def test_an_instructor_sees_their_courses_certificates_and_no_actions(
        self, sign_in: SignIn, panel_world: World, ada: Certified, grace: Certified
    ) -> None:
        instructor = sign_in("instructor_x")

        listing = instructor.get(LIST)
        details = instructor.get(f"/admin/certificates/details/{ada.certificate_id}")

        assert (listing.status_code, details.status_code) == (200, 200)
        student_a = panel_world.rows["certificates"]["student_a"]
        assert set(rows(listing.text)) == {ada.certificate_id, student_a}
        assert "Grace Hopper" not in listing.text
        for page in (listing, details):
            assert "/admin/certificates/action/revoke" not in page.text
            assert "/admin/certificates/action/reissue" not in page.text

    def test_an_instructor_cannot_revoke_or_reissue_by_address(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        instructor = sign_in("instructor_x")
        action = f"/admin/certificates/action/revoke?pks={ada.certificate_id}"

        assert instructor.get(action).status_code == 403
        assert instructor.post(action, data={"reason": "no"}).status_code == 403
        renamed = f"/admin/certificates/action/reissue?pks={ada.certificate_id}"
        assert instructor.post(renamed, data={"learner_name": "X"}).status_code == 403
        certificate = reread(session, ada.certificate_id)
        assert (certificate.status, certificate.revision) == (CertificateStatus.VALID, 1)
        assert audited(session, "revoke") == audited(session, "reissue") == []

    def test_the_admin_is_offered_both_actions_on_the_list_and_the_details(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        admin = sign_in("admin")
        for page in (
            admin.get(LIST),
            admin.get(f"/admin/certificates/details/{ada.certificate_id}"),
        ):
            assert "/admin/certificates/action/revoke" in page.text
            assert "/admin/certificates/action/reissue" in page.text

    def test_a_student_cannot_reach_the_panel(self, panel_app: FastAPI, panel_world: World) -> None:
        client = TestClient(panel_app, follow_redirects=False)
        answer = client.post(
            "/admin/login", data={"username": "a@example.com", "password": PANEL_PASSWORD}
        )
        assert answer.status_code == 403
        assert STUDENT_REFUSED in answer.text
        assert client.get(LIST).headers["location"].endswith("/admin/login")


class TestThePdf:
    def test_is_served_to_an_admin_as_a_download(self, sign_in: SignIn, ada: Certified) -> None:
        answer = sign_in("admin").get(f"/admin/certificates/file/{ada.certificate_id}")

        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"] == "attachment; filename=certificate.pdf"
        assert answer.content.startswith(b"%PDF")
        assert ada.unique_id in pdf_text(answer.content)

    def test_is_not_served_to_instructors_even_of_the_course(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        # The API's rule: the PDF is its learner's and the admins'. The instructor sees the
        # row (who was certified), not the document, and no link to it.
        address = f"/admin/certificates/file/{ada.certificate_id}"
        teacher = sign_in("instructor_x")
        assert teacher.get(address).status_code == 404
        assert sign_in("instructor_y").get(address).status_code == 404
        assert address not in teacher.get(LIST).text

    def test_a_certificate_still_being_issued_has_none(self, sign_in: SignIn, issuing: int) -> None:
        assert sign_in("admin").get(f"/admin/certificates/file/{issuing}").status_code == 404

    def test_a_file_missing_from_the_store_is_not_found(
        self, sign_in: SignIn, panel_world: World
    ) -> None:
        # The world's certificates are valid, their files never rendered.
        never_rendered = panel_world.rows["certificates"]["student_a"]
        answer = sign_in("admin").get(f"/admin/certificates/file/{never_rendered}")
        assert answer.status_code == 404


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


class TestRevoking:
    def test_the_form_names_the_certificates_and_asks_why(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        page = open_action(sign_in("admin"), "revoke", ada.certificate_id)

        assert page.status_code == 200
        assert f"{ada.unique_id} Ada Lovelace ada@example.com Analytical Engines Valid" in (
            text(page.text)
        )
        form = read_form(page.text, "/admin/certificates/action/revoke")
        assert "reason" in form.textareas
        assert re.search(r'<textarea[^>]*maxlength="500"[^>]*required', page.text)

    def test_revokes_with_the_reason_once_audited_and_verifies_as_revoked(
        self, sign_in: SignIn, panel_world: World, ada: Certified, session: Session
    ) -> None:
        admin = sign_in("admin")

        answer = revoke(admin, ada.certificate_id, reason="  Plagiarised final project  ")

        assert answer.status_code == 302
        assert answer.headers["location"] == LIST  # back to the list, no error
        certificate = reread(session, ada.certificate_id)
        assert certificate.status is CertificateStatus.REVOKED
        assert certificate.revoked_at is not None
        assert certificate.revocation_reason == "Plagiarised final project"
        assert audited(session, "revoke") == [
            ("certificates", str(ada.certificate_id), panel_world.users["admin"])
        ]
        verified = admin.get(f"/api/certificates/verify/{ada.unique_id}")
        assert verified.status_code == 200
        data = verified.json()["data"]
        assert data["status"] == "revoked"
        assert data["revocationReason"] == "Plagiarised final project"

    def test_returns_to_the_page_it_was_started_from_without_an_earlier_refusal(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        admin = sign_in("admin")
        started = f"http://testserver{LIST}?search=Ada&error=An+earlier+refusal"
        page = admin.get(
            f"/admin/certificates/action/revoke?pks={ada.certificate_id}",
            headers={"referer": started},
        )
        form = read_form(page.text, "/admin/certificates/action/revoke")

        answer = admin.post(form.action, data={"reason": "Fraud"})

        assert answer.headers["location"] == f"{LIST}?search=Ada"

    def test_revoking_again_is_refused_on_the_page_and_writes_nothing(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        admin = sign_in("admin")
        revoke(admin, ada.certificate_id, reason="Plagiarised final project")

        answer = revoke(admin, ada.certificate_id, reason="Again")

        message = f"Certificate #{ada.certificate_id}: The certificate is already revoked"
        assert refusal(answer) == message
        assert f'role="alert">{message}</div>' in admin.get(answer.headers["location"]).text
        assert reread(session, ada.certificate_id).revocation_reason == "Plagiarised final project"
        assert len(audited(session, "revoke")) == 1

    def test_one_refusal_revokes_none_of_the_selection(
        self, sign_in: SignIn, ada: Certified, grace: Certified, session: Session
    ) -> None:
        admin = sign_in("admin")
        revoke(admin, grace.certificate_id, reason="Paid with a stolen card")

        answer = revoke(admin, ada.certificate_id, grace.certificate_id, reason="Both")

        assert refusal(answer).startswith(f"Certificate #{grace.certificate_id}: ")
        assert reread(session, ada.certificate_id).status is CertificateStatus.VALID
        assert len(audited(session, "revoke")) == 1

    def test_revokes_a_selection_in_one_go(
        self, sign_in: SignIn, ada: Certified, grace: Certified, session: Session
    ) -> None:
        answer = revoke(sign_in("admin"), ada.certificate_id, grace.certificate_id, reason="Fraud")

        assert answer.headers["location"] == LIST
        for certificate_id in (ada.certificate_id, grace.certificate_id):
            assert reread(session, certificate_id).status is CertificateStatus.REVOKED
        assert len(audited(session, "revoke")) == 2

    @pytest.mark.parametrize("typed", ["", "   ", "x" * 501])
    def test_a_missing_or_too_long_reason_is_refused_on_the_form(
        self, sign_in: SignIn, ada: Certified, session: Session, typed: str
    ) -> None:
        answer = revoke(sign_in("admin"), ada.certificate_id, reason=typed)

        assert answer.status_code == 400
        problem = (
            "At most 500 characters."
            if len(typed) > 500
            else "Say why the certificates are revoked."
        )
        assert f'<div class="invalid-feedback">{problem}</div>' in answer.text
        # The form is shown again, for the same certificate.
        assert ada.unique_id in answer.text
        assert reread(session, ada.certificate_id).status is CertificateStatus.VALID
        assert audited(session, "revoke") == []

    def test_a_post_from_elsewhere_arrives_signed_out_and_changes_nothing(
        self, panel_app: FastAPI, ada: Certified, session: Session
    ) -> None:
        # The panel's cookie is SameSite=Strict: another site's form posts without it.
        stranger = TestClient(panel_app, follow_redirects=False)
        answer = stranger.post(
            f"/admin/certificates/action/revoke?pks={ada.certificate_id}", data={"reason": "x"}
        )
        assert answer.status_code == 302
        assert answer.headers["location"].endswith("/admin/login")
        assert reread(session, ada.certificate_id).status is CertificateStatus.VALID

    def test_a_row_out_of_reach_or_no_selection_is_refused(
        self, sign_in: SignIn, ada: Certified
    ) -> None:
        admin = sign_in("admin")
        missing = ada.certificate_id + 1000
        assert refusal(open_action(admin, "revoke", missing)) == (
            f"Certificate #{missing}: Certificate not found"
        )
        assert refusal(open_action(admin, "revoke")) == "Select the certificates first"


class TestReissuing:
    def test_reissues_with_a_corrected_name_under_the_same_unique_id(
        self,
        sign_in: SignIn,
        panel_app: FastAPI,
        panel_world: World,
        ada: Certified,
        session: Session,
    ) -> None:
        admin = sign_in("admin")

        answer = reissue(admin, ada.certificate_id, learner_name="Augusta Ada King")

        assert answer.status_code == 302
        assert answer.headers["location"] == LIST
        certificate = reread(session, ada.certificate_id)
        assert certificate.revision == 2
        assert certificate.learner_name == "Augusta Ada King"
        assert certificate.unique_id == ada.unique_id
        storage = panel_app.state.lms.storage
        assert isinstance(storage, LocalStorage)
        assert certificate.file_key is not None
        assert certificate.file_key.startswith(f"certificates/{ada.unique_id}/r2-")
        new = storage.path(certificate.file_key)
        assert new.is_file()
        assert not storage.path(f"certificates/{ada.unique_id}/r1.pdf").exists()
        assert "Augusta Ada King" in pdf_text(new.read_bytes())
        assert audited(session, "reissue") == [
            ("certificates", str(ada.certificate_id), panel_world.users["admin"])
        ]
        served = admin.get(f"/admin/certificates/file/{ada.certificate_id}")
        assert "Augusta Ada King" in pdf_text(served.content)
        listed = rows(admin.get(LIST).text)[ada.certificate_id]
        assert re.search("Augusta Ada King ada@example.com Account name: Ada Lovelace", listed)
        assert re.search(f"Valid Re-issued {DAY}", listed)

    def test_the_form_shows_the_certified_and_the_account_name(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        learner = session.get(User, ada.learner_id)
        assert learner is not None
        learner.name = "Ada King"
        session.commit()

        page = open_action(sign_in("admin"), "reissue", ada.certificate_id)

        assert page.status_code == 200
        shown = text(page.text)
        assert "Ada Lovelace ada@example.com Account name: Ada King" in shown
        assert "Left empty: Ada King, as on the learner's account." in shown
        form = read_form(page.text, "/admin/certificates/action/reissue")
        assert ("learner_name", "") in form.inputs

    def test_without_a_name_takes_the_accounts(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        learner = session.get(User, ada.learner_id)
        assert learner is not None
        learner.name = "Ada King"
        session.commit()

        answer = reissue(sign_in("admin"), ada.certificate_id)

        assert answer.headers["location"] == LIST
        certificate = reread(session, ada.certificate_id)
        assert (certificate.revision, certificate.learner_name) == (2, "Ada King")

    def test_several_at_once_are_refused(
        self, sign_in: SignIn, panel_world: World, ada: Certified
    ) -> None:
        other = panel_world.rows["certificates"]["student_a"]
        answer = open_action(sign_in("admin"), "reissue", ada.certificate_id, other)

        assert refusal(answer) == "Re-issue one certificate at a time: select exactly one"

    def test_a_revoked_certificate_is_refused(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        admin = sign_in("admin")
        revoke(admin, ada.certificate_id, reason="Fraud")

        answer = reissue(admin, ada.certificate_id, learner_name="Ada King")

        assert refusal(answer) == f"Certificate #{ada.certificate_id}: The certificate is revoked"
        assert reread(session, ada.certificate_id).revision == 1
        assert audited(session, "reissue") == []

    def test_a_name_over_255_characters_is_refused_on_the_form(
        self, sign_in: SignIn, ada: Certified, session: Session
    ) -> None:
        answer = reissue(sign_in("admin"), ada.certificate_id, learner_name="A" * 256)

        assert answer.status_code == 400
        assert '<div class="invalid-feedback">At most 255 characters.</div>' in answer.text
        assert reread(session, ada.certificate_id).revision == 1


class TestOtherActions:
    def test_an_action_after_a_refusal_does_not_show_the_old_refusal(
        self, sign_in: SignIn, panel_world: World
    ) -> None:
        review = panel_world.rows["course_reviews"]["student_a"]
        started = "http://testserver/admin/course-reviews/list?error=An+earlier+refusal"

        answer = sign_in("admin").get(
            f"/admin/course-reviews/action/hide?pks={review}", headers={"referer": started}
        )

        assert answer.status_code == 302
        assert "error=" not in answer.headers["location"]


class TestCraftedSelections:
    @pytest.mark.parametrize("pks", ["²", "12345678901234567890123", "1,-2", "x"])
    def test_a_selection_naming_no_row_is_refused_on_the_page(
        self, sign_in: SignIn, panel_world: World, pks: str
    ) -> None:
        # "²" passes str.isdigit() yet int() refuses it; 23 digits overflow the id column.
        admin = sign_in("admin")
        address = f"/admin/certificates/action/revoke?pks={pks}"
        for answer in (admin.get(address), admin.post(address, data={"reason": "Fraud"})):
            assert answer.status_code == 302, answer.text[:200]
            assert "error=" in answer.headers["location"]
