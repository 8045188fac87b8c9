"""Issuing certificates: exactly once under concurrent requests, automatically after a
completed course through a real Huey consumer, never half-issued when storing fails, and
finished later by the sweep; the demo's certificates are real PDFs."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.app import create_app
from core.clock import utcnow
from core.crypto import TokenCipher
from core.database import sync_session_factory, units_of_work
from core.events import EventType
from core.settings import Settings
from core.tasks import TaskName
from integrations.storage import LocalStorage, make_storage, storage_info
from jobs.certificates import finish_certificates
from jobs.runtime import Jobs
from jobs.tasks import build_jobs
from models import (
    Analytics,
    Certificate,
    CertificateStatus,
    Course,
    Enrollment,
    EnrollmentStatus,
    Notification,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    PaymentStatus,
    Role,
    User,
)
from services import certificate_flows
from services.certificates import CertificateStorageUnavailable, file_key, unfinished
from services.demo import seed_demo
from tests.fakes.smtp import SmtpServer, bodies
from tests.learning.test_races import at_once
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)
from tests.payments.conftest import Platform
from tests.world import token_for


def eventually(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def completed(session: Session, **course: object) -> Enrollment:
    """A learner's completed enrollment in a course of their own."""
    learner = make_user(session, name="Ada Obi")
    offer = make_course(session, title="Data Analysis with Python", **course)
    enrollment = make_enrollment(session, learner, offer)
    enrollment.status = EnrollmentStatus.COMPLETED
    # Completed an hour ago: past the sweep's grace for a task still at work.
    enrollment.completed_at = utcnow() - timedelta(hours=1)
    session.commit()
    return enrollment


def count(engine: Engine, model: type, *criteria: object) -> int:
    with Session(engine) as check:
        return int(check.scalar(select(func.count()).select_from(model).where(*criteria)) or 0)


class TestGeneratingAtOnce:
    def test_ten_requests_issue_one_certificate_and_answer_it_ten_times(
        self, platform: Platform, session: Session, engine: Engine
    ) -> None:
        enrollment = completed(session)
        headers = {"Authorization": f"Bearer {token_for(session, enrollment.user_id)}"}
        body = {"userId": enrollment.user_id, "courseId": enrollment.course_id}
        answers = at_once(
            10,
            lambda http, _: http.post("/api/certificates/generate", json=body, headers=headers),
            platform,
        )
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] * 9 + [201], [a.text for a in answers if a.status_code >= 300]
        assert len({a.json()["data"]["certificateId"] for a in answers}) == 1
        assert count(engine, Certificate) == 1
        assert count(engine, Certificate, Certificate.status == CertificateStatus.VALID) == 1
        kind = EventType.CERTIFICATE_ISSUED.value
        assert count(engine, Analytics, Analytics.event_type == kind) == 1
        assert count(engine, OutboxEvent, OutboxEvent.event_type == kind) == 1

    def test_two_final_updates_complete_once_and_issue_once(
        self, platform: Platform, session: Session, engine: Engine
    ) -> None:
        learner = make_user(session)
        course = make_course(session, price=Decimal(0))
        module = make_module(session, course)
        enrollment = make_enrollment(session, learner, course)
        session.commit()
        headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}
        body = {
            "enrollmentId": enrollment.enrollment_id,
            "moduleId": module.module_id,
            "progress": 1,
            "timeSpent": 60,
        }
        answers = at_once(
            2,
            lambda http, _: http.post("/api/progress/update", json=body, headers=headers),
            platform,
        )
        assert [a.status_code for a in answers] == [200, 200]
        # The completion's handler issues the certificate in a task after the commit.
        eventually(lambda: count(engine, Certificate, Certificate.status == "valid") == 1)
        assert count(engine, Certificate) == 1


@pytest.fixture
def worker_client(worker: Jobs) -> Iterator[TestClient]:
    with TestClient(create_app(worker.settings)) as client:
        yield client


@pytest.mark.slow
def test_a_completed_course_is_certified_by_the_worker_and_the_learner_told(
    worker_client: TestClient, worker: Jobs, session: Session, smtp_server: SmtpServer
) -> None:
    learner = make_user(session, email="ada@example.com", name="Ada Obi")
    course = make_course(session, title="Data Analysis with Python", price=Decimal(0))
    module = make_module(session, course)
    enrollment = make_enrollment(session, learner, course)
    session.commit()
    headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}
    body = {
        "enrollmentId": enrollment.enrollment_id,
        "moduleId": module.module_id,
        "progress": 1,
        "timeSpent": 60,
    }
    assert worker_client.post("/api/progress/update", json=body, headers=headers).status_code == 200

    # course.completed -> its handlers (the congratulation, the certificate task) -> the
    # certificate -> certificate.issued -> its notice, each step a task of the consumer.
    messages = smtp_server.mailbox.wait_for(2, timeout=30)
    subjects = sorted(message["Subject"] for message in messages)
    assert subjects == [
        "You completed Data Analysis with Python",
        "Your certificate for Data Analysis with Python",
    ]
    [notice] = [m for m in messages if m["Subject"].startswith("Your certificate")]
    text, _ = bodies(notice)
    session.expire_all()
    certificate = session.scalars(select(Certificate)).one()
    assert certificate.status is CertificateStatus.VALID
    assert f"/api/certificates/{certificate.certificate_id}/download" in text
    assert f"/verify/{certificate.unique_id}" in text
    in_app = select(Notification).where(
        Notification.user_id == learner.user_id,
        Notification.type == NotificationType.IN_APP,
        Notification.message.contains(certificate.unique_id),
    )
    eventually(lambda: session.scalars(in_app).first() is not None)
    listed = worker_client.get("/api/certificates", headers=headers).json()["data"]
    assert [c["uniqueId"] for c in listed["certificates"]] == [certificate.unique_id]
    pdf = worker_client.get(
        f"/api/certificates/{certificate.certificate_id}/download", headers=headers
    )
    assert "Ada Obi" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert worker.tasks[TaskName.ISSUE_CERTIFICATE].retries > 0  # a failure is retried
    # Nothing is left for the sweep, and the email notice was delivered, not just queued.
    eventually(
        lambda: all(
            n.status is NotificationStatus.SENT
            for n in session.scalars(select(Notification).execution_options(populate_existing=True))
        )
    )


class TestWhenStoringFails:
    @pytest.fixture
    def sessions(self, engine: Engine, auth_settings: Settings):  # type: ignore[no-untyped-def]
        return sync_session_factory(engine, info=storage_info(make_storage(auth_settings)))

    @pytest.fixture
    def broken(self, tmp_path: Path) -> LocalStorage:
        # A store whose folder is a file: every write fails as a full or read-only disk does.
        root = tmp_path / "not-a-folder"
        root.write_text("")
        return LocalStorage(root, "http://127.0.0.1:8000/media")

    def test_nothing_is_issued_and_nobody_sees_the_reservation(
        self,
        sessions,  # type: ignore[no-untyped-def]
        broken: LocalStorage,
        auth_settings: Settings,
        auth_client: TestClient,
        session: Session,
        engine: Engine,
    ) -> None:
        enrollment = completed(session)
        with pytest.raises(CertificateStorageUnavailable):
            certificate_flows.issue(
                units_of_work(sessions),
                broken,
                auth_settings,
                user_id=enrollment.user_id,
                course_id=enrollment.course_id,
            )
        reservation = session.scalars(select(Certificate)).one()
        assert reservation.status is CertificateStatus.ISSUING
        assert reservation.file_key is None
        assert not list(Path(broken.root).parent.glob("**/*.pdf"))
        headers = {"Authorization": f"Bearer {token_for(session, enrollment.user_id)}"}
        assert auth_client.get("/api/certificates", headers=headers).json()["data"]["total"] == 0
        verify = auth_client.get(f"/api/certificates/verify/{reservation.unique_id}")
        assert verify.status_code == 404
        assert count(engine, OutboxEvent, OutboxEvent.event_type == "certificate.issued") == 0
        assert count(engine, Analytics, Analytics.event_type == "certificate.issued") == 0

    def test_the_next_attempt_issues_it_under_the_same_id(
        self,
        sessions,  # type: ignore[no-untyped-def]
        broken: LocalStorage,
        auth_settings: Settings,
        session: Session,
    ) -> None:
        enrollment = completed(session)
        units = units_of_work(sessions)
        asked = {"user_id": enrollment.user_id, "course_id": enrollment.course_id}
        with pytest.raises(CertificateStorageUnavailable):
            certificate_flows.issue(units, broken, auth_settings, **asked)
        reserved = session.scalars(select(Certificate.unique_id)).one()
        storage = make_storage(auth_settings)
        issued = certificate_flows.issue(units, storage, auth_settings, **asked)
        assert issued is not None
        assert issued.created
        session.expire_all()
        certificate = session.scalars(select(Certificate)).one()
        assert (certificate.unique_id, certificate.status) == (reserved, CertificateStatus.VALID)
        assert certificate.file_key == file_key(reserved, 1)
        assert storage.read(certificate.file_key).startswith(b"%PDF")

    def test_the_api_answers_503_and_the_next_request_issues_it(
        self, auth_settings: Settings, auth_client: TestClient, session: Session, tmp_path: Path
    ) -> None:
        enrollment = completed(session)
        blocked = tmp_path / "not-a-folder"
        blocked.write_text("")
        broken = auth_settings.model_copy(
            update={"storage": auth_settings.storage.model_copy(update={"local_root": blocked})}
        )
        headers = {"Authorization": f"Bearer {token_for(session, enrollment.user_id)}"}
        body = {"courseId": enrollment.course_id}
        with TestClient(create_app(broken)) as down:
            answer = down.post("/api/certificates/generate", json=body, headers=headers)
        assert answer.status_code == 503
        assert answer.json()["error"]["message"] == (
            "Certificates cannot be stored right now; try again in a minute"
        )
        assert auth_client.get("/api/certificates", headers=headers).json()["data"]["total"] == 0
        again = auth_client.post("/api/certificates/generate", json=body, headers=headers)
        assert again.status_code == 201

    def test_a_certificate_whose_file_is_gone_is_not_found(
        self, auth_settings: Settings, auth_client: TestClient, session: Session
    ) -> None:
        enrollment = completed(session)
        headers = {"Authorization": f"Bearer {token_for(session, enrollment.user_id)}"}
        issued = auth_client.post(
            "/api/certificates/generate", json={"courseId": enrollment.course_id}, headers=headers
        )
        certificate_id = issued.json()["data"]["certificateId"]
        key = session.scalars(select(Certificate.file_key)).one()
        make_storage(auth_settings).delete(key or "")
        answer = auth_client.get(f"/api/certificates/{certificate_id}/download", headers=headers)
        assert answer.status_code == 404
        assert answer.json()["error"]["message"] == "Certificate not found"


class TestTheSweep:
    def test_finds_stale_reservations_and_uncertified_completions_only(
        self, session: Session, auth_settings: Settings
    ) -> None:
        owed = completed(session)
        refunded = completed(session, price=Decimal("5000"))
        payment = make_payment(
            session,
            session.get(User, refunded.user_id),
            session.get(Course, refunded.course_id),
            payment_status=PaymentStatus.REFUNDED,
        )
        refunded.payment_id = payment.payment_id
        make_enrollment(session, make_user(session), make_course(session))  # in progress
        certified = completed(session)
        session.add(
            Certificate(
                user_id=certified.user_id,
                course_id=certified.course_id,
                unique_id="CERT-0000-0000-0000-0001",
                status=CertificateStatus.VALID,
                file_key="certificates/CERT-0000-0000-0000-0001/r1.pdf",
            )
        )
        session.commit()
        found = set(unfinished(session, older_than=timedelta(0)))
        assert found == {(owed.user_id, owed.course_id)}

    def test_the_periodic_task_hands_each_owed_certificate_to_a_task(
        self, session: Session, auth_settings: Settings
    ) -> None:
        completed(session)
        session.commit()
        jobs = build_jobs(auth_settings)  # immediate: the handed task runs at once
        try:
            assert finish_certificates(jobs) == 1
            assert finish_certificates(jobs) == 0
        finally:
            jobs.close()
        session.expire_all()
        assert session.scalars(select(Certificate.status)).one() is CertificateStatus.VALID


def test_the_demo_certificates_are_real_pdfs(
    session: Session, engine: Engine, auth_settings: Settings
) -> None:
    assert seed_demo(session, cipher=TokenCipher.from_settings(auth_settings)) is True
    session.commit()
    storage = make_storage(auth_settings)
    sessions = sync_session_factory(engine, info=storage_info(storage))
    issued = certificate_flows.issue_owed(
        units_of_work(sessions), storage, auth_settings, older_than=timedelta(0)
    )
    session.expire_all()
    certificates = session.scalars(select(Certificate)).all()
    done = [c for c in certificates if c.status is CertificateStatus.VALID]
    assert issued == len(done) == len(certificates) > 0
    sample = done[0]
    text = PdfReader(io.BytesIO(storage.read(sample.file_key or ""))).pages[0].extract_text()
    assert sample.learner_name in text
    assert sample.unique_id in text
    completions = select(func.count()).where(Enrollment.status == EnrollmentStatus.COMPLETED)
    assert session.scalar(completions) == len(certificates)


class TestReissuingAtOnce:
    def test_two_reissues_leave_one_name_and_its_file(
        self, platform: Platform, session: Session, engine: Engine
    ) -> None:
        enrollment = completed(session)
        admin = make_user(session, role=Role.ADMIN)
        session.commit()
        learner = {"Authorization": f"Bearer {token_for(session, enrollment.user_id)}"}
        body = {"userId": enrollment.user_id, "courseId": enrollment.course_id}
        with platform.http() as http:
            issued = http.post("/api/certificates/generate", json=body, headers=learner)
        certificate_id = issued.json()["data"]["certificateId"]
        headers = {"Authorization": f"Bearer {token_for(session, admin.user_id)}"}
        names = ["Name Alpha", "Name Beta"]
        answers = at_once(
            2,
            lambda http, index: http.post(
                f"/api/certificates/{certificate_id}/reissue",
                json={"learnerName": names[index]},
                headers=headers,
            ),
            platform,
        )
        assert 200 in [a.status_code for a in answers], [a.text for a in answers]
        assert {a.status_code for a in answers} <= {200, 409}
        with Session(engine) as check:
            certificate = check.get(Certificate, certificate_id)
            assert certificate is not None
            winner = certificate.learner_name
        # Whoever lost, the row's file is there and says the row's name.
        with platform.http() as http:
            pdf = http.get(f"/api/certificates/{certificate_id}/download", headers=learner)
        assert pdf.status_code == 200
        assert winner in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


def test_a_certificate_once_issued_is_answered_after_a_refund(
    auth_client: TestClient, session: Session
) -> None:
    learner = make_user(session)
    course = make_course(session, price=Decimal("5000"))
    payment = make_payment(session, learner, course, payment_status=PaymentStatus.SUCCESS)
    enrollment = make_enrollment(
        session,
        learner,
        course,
        payment_id=payment.payment_id,
        status=EnrollmentStatus.COMPLETED,
        completed_at=utcnow(),
    )
    session.commit()
    headers = {"Authorization": f"Bearer {token_for(session, learner.user_id)}"}
    body = {"courseId": enrollment.course_id}
    first = auth_client.post("/api/certificates/generate", json=body, headers=headers)
    assert first.status_code == 201
    payment.payment_status = PaymentStatus.REFUNDED
    session.commit()
    again = auth_client.post("/api/certificates/generate", json=body, headers=headers)
    # A refund revokes nothing by itself: the certificate the learner holds is the answer.
    assert again.status_code == 200
    assert again.json()["data"]["certificateId"] == first.json()["data"]["certificateId"]


def test_a_reservation_is_an_admins_to_see_in_the_data_api_only(
    auth_client: TestClient, session: Session
) -> None:
    enrollment = completed(session)
    session.add(
        Certificate(
            user_id=enrollment.user_id,
            course_id=enrollment.course_id,
            unique_id="CERT-0000-0000-0000-0002",
        )
    )
    admin = make_user(session, role=Role.ADMIN)
    session.commit()

    def listed(user_id: int) -> list[str]:
        headers = {"Authorization": f"Bearer {token_for(session, user_id)}"}
        answer = auth_client.get("/api/data/certificates", headers=headers)
        assert answer.status_code == 200, answer.text
        return [row["status"] for row in answer.json()["data"]["items"]]

    assert listed(enrollment.user_id) == []
    assert listed(admin.user_id) == ["issuing"]
