"""Certificates in the panel, in a real browser: an admin revokes one with a reason and
re-issues another with a corrected name, through the list's Actions menu and the small
forms it opens; an instructor sees their course's certificates and no such actions.

Every page is photographed into ``var/artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import sync_session_factory, units_of_work
from core.settings import Settings
from integrations.storage import make_storage
from models import Certificate, EnrollmentStatus, Role, User
from services.certificate_flows import issue
from tests.browser.conftest import PASSWORD, OpenPanel
from tests.browser.panel import Panel
from tests.models.factories import make_course, make_enrollment, make_user

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # The rules behind the panel are tested on both backends in tests/admin; one is enough.
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

LIST = "/admin/certificates/list"


@pytest.fixture
def certified(session: Session, engine: Engine, settings: Settings, password_hash: str) -> None:
    """An admin; Ines, who teaches "Watercolour for Beginners"; and two learners who
    completed it, their certificates issued for real (rendered and stored)."""
    make_user(session, email="root@example.com", name="Ada Admin", role=Role.ADMIN,
              password_hash=password_hash)  # fmt: skip
    ines = make_user(
        session,
        email="ines@example.com",
        name="Ines Instructor",
        role=Role.INSTRUCTOR,
        password_hash=password_hash,
    )
    course = make_course(session, instructor=ines, title="Watercolour for Beginners")
    learners = [
        make_user(session, email="mary@example.com", name="Mary Shelley"),
        make_user(session, email="jon@example.com", name="Jon Snoww"),
    ]
    for learner in learners:
        enrollment = make_enrollment(session, learner, course)
        enrollment.status = EnrollmentStatus.COMPLETED
        enrollment.completed_at = utcnow()
    session.commit()
    units, storage = units_of_work(sync_session_factory(engine)), make_storage(settings)
    for learner in learners:
        issue(units, storage, settings, user_id=learner.user_id, course_id=course.course_id)


def select_row(panel: Panel, text: str) -> None:
    panel.rows(text).locator("input.select-box").check()


def run_action(panel: Panel, label: str, step: str) -> None:
    """Open the list's Actions menu and choose ``label``."""
    panel.page.get_by_role("button", name="Actions").click()
    with panel.page.expect_navigation():
        panel.page.get_by_role("link", name=label, exact=True).click()
    panel.snap(step)


def certificate(session: Session, learner_name: str) -> Certificate:
    session.expire_all()
    found = session.scalars(
        select(Certificate)
        .join(User, User.user_id == Certificate.user_id)
        .where(User.name == learner_name)
    ).one()
    session.rollback()
    return found


def test_an_admin_revokes_with_a_reason_and_reissues_with_a_corrected_name(
    open_panel: OpenPanel, certified: None, session: Session
) -> None:
    admin = open_panel("admin")
    admin.sign_in("root@example.com", PASSWORD)
    admin.visit(LIST, "list")
    expect(admin.rows("Mary Shelley")).to_contain_text("Valid")

    select_row(admin, "Mary Shelley")
    run_action(admin, "Revoke", "revoke-form")
    expect(admin.page.get_by_role("heading", name="Revoke certificates")).to_have_count(1)
    # Blanks are no reason (an empty field the browser itself refuses to send).
    admin.fill(reason="   ")
    with admin.page.expect_navigation():
        admin.page.get_by_role("button", name="Revoke 1 certificate").click()
    admin.snap("revoke-form-refused")
    expect(admin.page.locator(".invalid-feedback")).to_have_text(
        "Say why the certificates are revoked."
    )
    admin.fill(reason="Plagiarised the final painting")
    admin.snap("revoke-form-filled")
    with admin.page.expect_navigation():
        admin.page.get_by_role("button", name="Revoke 1 certificate").click()
    admin.snap("revoked")
    expect(admin.rows("Mary Shelley")).to_contain_text("Revoked")
    expect(admin.rows("Mary Shelley")).to_contain_text("Plagiarised the final painting")
    admin.open_row("Mary Shelley", "revoked-details")
    expect(admin.page.locator("table")).to_contain_text("Plagiarised the final painting")
    admin.visit(LIST, "list-again")

    select_row(admin, "Jon Snoww")
    run_action(admin, "Re-issue", "reissue-form")
    admin.fill(learner_name="Jon Snow")
    admin.snap("reissue-form-filled")
    with admin.page.expect_navigation():
        admin.page.get_by_role("button", name="Re-issue").click()
    admin.snap("reissued")
    expect(admin.rows("jon@example.com")).to_contain_text("Jon Snow")
    assert certificate(session, "Jon Snoww").revision == 2

    # Re-issuing is one certificate at a time: the page says so.
    select_row(admin, "Mary Shelley")
    select_row(admin, "jon@example.com")
    run_action(admin, "Re-issue", "reissue-two-refused")
    expect(admin.page.get_by_role("alert")).to_contain_text("Re-issue one certificate at a time")


def test_an_instructor_sees_their_courses_certificates_without_actions(
    open_panel: OpenPanel, certified: None
) -> None:
    ines = open_panel("instructor")
    ines.sign_in("ines@example.com", PASSWORD)
    ines.visit(LIST, "list")
    expect(ines.rows("Mary Shelley")).to_contain_text("Watercolour for Beginners")
    # Nothing to act with: the menu is greyed out.
    expect(ines.page.get_by_role("button", name="Actions")).to_be_disabled()
    expect(ines.page.get_by_role("link", name="Revoke", exact=True)).to_have_count(0)
    expect(ines.page.get_by_role("link", name="Re-issue", exact=True)).to_have_count(0)
