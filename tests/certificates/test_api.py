"""The Certificate Service over HTTP: generate (the seed's), download (the seed's), the
learner's certificates, the unique id, issuing on completion, re-issuing, and the signed
credential.

Every certificate here is issued for real (rules, PDF rendered, file stored, row finished)
by the app of ``auth_client``, whose tasks run inline after each commit; a PDF costs a
few tenths of a second, so each test issues only the certificates its assertions need.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.events import EventType
from core.settings import Settings
from models import (
    Analytics,
    AuditEntry,
    Certificate,
    Course,
    CourseModule,
    Enrollment,
    EnrollmentStatus,
    OutboxEvent,
    Payment,
    PaymentStatus,
    RefundStatus,
    Role,
    User,
)
from services.certificates import new_unique_id
from tests.api.helpers import assert_error, data
from tests.fakes.smtp import SmtpServer, bodies
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)
from tests.world import token_for

GENERATED = "Certificate generated successfully"
NOT_ELIGIBLE = "Invalid input data or incomplete course"
NOT_FOUND = "Certificate not found"
# CERT and four groups of four Crockford base-32 characters (no I, L, O, U): 80 bits.
UNIQUE_ID = re.compile(r"^CERT(-[0-9A-HJKMNP-TV-Z]{4}){4}$")
RACERS = 3
CONTRACT_HEADERS = {
    "content-type": "application/pdf",
    "content-disposition": "attachment; filename=certificate.pdf",
}


# -- the school and its helpers (test_verification.py and test_s3.py use them too) -----------


@dataclass
class School:
    learner: User
    other: User  # another student
    teacher: User  # the instructor of both courses
    admin: User
    free: Course
    paid: Course


def open_school(session: Session, *, learner_name: str = "Ada Lovelace") -> School:
    teacher = make_user(session, role=Role.INSTRUCTOR, name="Grace Hopper")
    school = School(
        learner=make_user(session, name=learner_name),
        other=make_user(session, name="Bob Other"),
        teacher=teacher,
        admin=make_user(session, role=Role.ADMIN, name="Root Admin"),
        free=make_course(session, instructor=teacher, title="Rust Basics", price=Decimal(0)),
        paid=make_course(session, instructor=teacher, title="Paid SQL", price=Decimal("5000")),
    )
    session.commit()
    return school


@pytest.fixture
def school(session: Session) -> School:
    return open_school(session)


def auth(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(session, user.user_id)}"}


def completed(
    session: Session, learner: User, course: Course, *, payment: Payment | None = None
) -> Enrollment:
    """A finished enrollment, as ``complete_if_done`` leaves it (without its event: the
    certificate is then the generate call's to issue)."""
    enrollment = make_enrollment(
        session,
        learner,
        course,
        status=EnrollmentStatus.COMPLETED,
        completed_at=utcnow(),
        payment_id=payment.payment_id if payment else None,
    )
    session.commit()
    return enrollment


def generate(
    client: TestClient,
    session: Session,
    actor: User,
    course_id: int,
    *,
    user_id: int | None = None,
) -> Any:
    body: dict[str, int] = {"courseId": course_id}
    if user_id is not None:
        body["userId"] = user_id
    return client.post("/api/certificates/generate", json=body, headers=auth(session, actor))


def issue(client: TestClient, session: Session, learner: User, course: Course) -> dict[str, Any]:
    """A completed course and its certificate (the learner asks for it): the 201's data."""
    completed(session, learner, course)
    issued: dict[str, Any] = data(generate(client, session, learner, course.course_id), 201)
    return issued


def pdf_text(body: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def certificate_rows(session: Session) -> list[Certificate]:
    session.expire_all()
    return list(session.scalars(select(Certificate)))


def count(session: Session, statement: Any) -> int:
    session.expire_all()
    return int(session.scalar(statement) or 0)


# -- generate -----------------------------------------------------------------------------------


class TestGenerate:
    def test_a_completed_free_course_answers_201_with_our_own_download_url(
        self, auth_client: TestClient, session: Session, auth_settings: Settings, school: School
    ) -> None:
        completed(session, school.learner, school.free)
        response = generate(
            auth_client,
            session,
            school.learner,
            school.free.course_id,
            user_id=school.learner.user_id,
        )
        body = data(response, 201)
        assert set(body) == {"certificateId", "certificateUrl", "message"}
        assert body["message"] == GENERATED
        public = auth_settings.app.public_url.rstrip("/")
        # Our own URL, which checks who asks: never the store's (a bucket or /media/ URL).
        assert body["certificateUrl"] == (
            f"{public}/api/certificates/{body['certificateId']}/download"
        )
        [row] = certificate_rows(session)
        assert (row.certificate_id, row.user_id, row.course_id) == (
            body["certificateId"],
            school.learner.user_id,
            school.free.course_id,
        )
        assert row.status.value == "valid"
        assert row.file_key is not None
        assert row.certificate_url == body["certificateUrl"]

    def test_asking_again_answers_200_with_the_same_certificate_and_writes_nothing(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        first = issue(auth_client, session, school.learner, school.free)
        again = data(generate(auth_client, session, school.learner, school.free.course_id), 200)
        assert again == first
        assert len(certificate_rows(session)) == 1
        issued_kind = EventType.CERTIFICATE_ISSUED
        analytics = select(func.count()).where(Analytics.event_type == issued_kind.value)
        assert count(session, analytics) == 1
        notices = select(func.count()).where(OutboxEvent.event_type == issued_kind)
        assert count(session, notices) == 1

    def test_requests_at_once_share_one_certificate(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        """The unique (learner, course) row decides: one 201, the others 200 with it."""
        completed(session, school.learner, school.free)
        headers = auth(session, school.learner)
        body = {"courseId": school.free.course_id}
        start = threading.Barrier(RACERS)

        def one(_: int) -> Any:
            start.wait()
            return auth_client.post("/api/certificates/generate", json=body, headers=headers)

        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            answers = list(pool.map(one, range(RACERS)))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200] * (RACERS - 1) + [201], [answer.text for answer in answers]
        assert len({answer.json()["data"]["certificateId"] for answer in answers}) == 1
        assert len(certificate_rows(session)) == 1
        issued_kind = EventType.CERTIFICATE_ISSUED
        assert (
            count(session, select(func.count()).where(OutboxEvent.event_type == issued_kind)) == 1
        )

    def test_the_learner_defaults_to_the_caller(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        completed(session, school.learner, school.free)
        body = data(generate(auth_client, session, school.learner, school.free.course_id), 201)
        [row] = certificate_rows(session)
        assert (row.certificate_id, row.user_id) == (body["certificateId"], school.learner.user_id)

    def test_a_paid_course_with_a_successful_payment_is_201(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        payment = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        completed(session, school.learner, school.paid, payment=payment)
        body = data(generate(auth_client, session, school.learner, school.paid.course_id), 201)
        assert body["message"] == GENERATED


def _not_enrolled(session: Session, school: School) -> int:
    return school.free.course_id


def _in_progress(session: Session, school: School) -> int:
    make_enrollment(session, school.learner, school.free)
    return school.free.course_id


def _dropped(session: Session, school: School) -> int:
    make_enrollment(session, school.learner, school.free, status=EnrollmentStatus.DROPPED)
    return school.free.course_id


def _paid_then(**payment: object) -> Any:
    def situation(session: Session, school: School) -> int:
        paid = make_payment(session, school.learner, school.paid, **payment)
        completed(session, school.learner, school.paid, payment=paid)
        return school.paid.course_id

    return situation


def _unknown_course(session: Session, school: School) -> int:
    return school.paid.course_id + 10_000


class TestNotEligible:
    """The seed's one refusal, 400, with the reason named in the details; nothing written."""

    @pytest.mark.parametrize(
        ("situation", "reason"),
        [
            pytest.param(
                _not_enrolled, "the learner is not enrolled in this course", id="not-enrolled"
            ),
            pytest.param(
                _in_progress, "the learner has not completed this course yet", id="in-progress"
            ),
            pytest.param(_dropped, "the learner has not completed this course yet", id="dropped"),
            pytest.param(
                _paid_then(payment_status=PaymentStatus.REFUNDED),
                "the payment for this course was refunded",
                id="refunded",
            ),
            pytest.param(
                _paid_then(
                    payment_status=PaymentStatus.SUCCESS, refund_status=RefundStatus.PENDING
                ),
                "the payment for this course is being refunded",
                id="being-refunded",
            ),
            pytest.param(
                _paid_then(
                    payment_status=PaymentStatus.SUCCESS, refund_status=RefundStatus.PROCESSED
                ),
                "the payment for this course was refunded",
                id="refund-processed",
            ),
            pytest.param(
                _paid_then(payment_status=PaymentStatus.PENDING),
                "the payment for this course has not succeeded",
                id="payment-pending",
            ),
            pytest.param(
                _unknown_course, "the learner is not enrolled in this course", id="unknown-course"
            ),
        ],
    )
    def test_is_400_naming_the_course_and_the_reason(
        self,
        auth_client: TestClient,
        session: Session,
        school: School,
        situation: Any,
        reason: str,
    ) -> None:
        course_id = situation(session, school)
        session.commit()
        response = generate(auth_client, session, school.learner, course_id)
        body = assert_error(response, 400, NOT_ELIGIBLE)
        assert body["error"]["details"] == [{"field": "courseId", "message": reason}]
        assert certificate_rows(session) == []


class TestWhoMayGenerate:
    def test_a_student_asking_for_another_user_is_403(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        completed(session, school.learner, school.free)
        response = generate(
            auth_client,
            session,
            school.other,
            school.free.course_id,
            user_id=school.learner.user_id,
        )
        assert_error(response, 403, "Access denied")
        assert certificate_rows(session) == []

    def test_an_instructor_asking_for_a_learner_is_403(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        completed(session, school.learner, school.free)
        response = generate(
            auth_client,
            session,
            school.teacher,
            school.free.course_id,
            user_id=school.learner.user_id,
        )
        assert_error(response, 403, "Access denied")

    def test_an_admin_generates_for_anyone(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        completed(session, school.learner, school.free)
        response = generate(
            auth_client,
            session,
            school.admin,
            school.free.course_id,
            user_id=school.learner.user_id,
        )
        body = data(response, 201)
        [row] = certificate_rows(session)
        assert (row.certificate_id, row.user_id) == (body["certificateId"], school.learner.user_id)

    def test_without_a_token_is_401(self, auth_client: TestClient, school: School) -> None:
        response = auth_client.post(
            "/api/certificates/generate", json={"courseId": school.free.course_id}
        )
        assert response.status_code == 401


# -- issued on completion -----------------------------------------------------------------------


class TestIssuedOnCompletion:
    def test_completing_the_course_issues_the_certificate_and_tells_the_learner(
        self,
        auth_client: TestClient,
        session: Session,
        smtp_server: SmtpServer,
        school: School,
    ) -> None:
        """The smallest completion: one module, no quiz, reported at 100% through the API;
        no generate call."""
        module: CourseModule = make_module(session, school.free, title="The only part")
        enrollment = make_enrollment(session, school.learner, school.free)
        session.commit()
        headers = auth(session, school.learner)
        report = {
            "enrollmentId": enrollment.enrollment_id,
            "moduleId": module.module_id,
            "progress": 1.0,
            "timeSpent": 60,
        }
        answer = data(auth_client.post("/api/progress/update", json=report, headers=headers))
        assert answer["courseCompleted"] is True

        mine = data(auth_client.get("/api/certificates", headers=headers))
        [listed] = mine["certificates"]
        assert listed["status"] == "valid"
        assert listed["courseId"] == school.free.course_id
        assert UNIQUE_ID.match(listed["uniqueId"])

        subject = "Your certificate for Rust Basics"
        inbox = data(auth_client.get("/api/notifications", headers=headers))["items"]
        [notice] = [item for item in inbox if item["subject"] == subject]
        assert listed["certificateUrl"] in notice["message"]
        for message in smtp_server.mailbox.wait_for(2):
            if message["Subject"] == subject:
                break
        else:
            raise AssertionError("no certificate email")
        assert message["To"] == school.learner.email
        text, html = bodies(message)
        for link in (listed["certificateUrl"], listed["verificationUrl"]):
            assert link in text
            assert link in html


# -- download -----------------------------------------------------------------------------------


class TestDownload:
    def test_its_learner_and_an_admin_download_the_pdf_with_the_contracts_headers(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        issued = issue(auth_client, session, school.learner, school.free)
        [row] = certificate_rows(session)
        url = f"/api/certificates/{issued['certificateId']}/download"
        response = auth_client.get(url, headers=auth(session, school.learner))
        assert response.status_code == 200
        for name, value in CONTRACT_HEADERS.items():
            assert response.headers[name] == value
        assert response.content.startswith(b"%PDF")
        text = pdf_text(response.content)
        for words in ("Ada Lovelace", "Rust Basics", row.unique_id):
            assert words in text
        by_admin = auth_client.get(url, headers=auth(session, school.admin))
        assert by_admin.status_code == 200
        assert by_admin.content == response.content

    def test_anyone_else_hears_it_does_not_exist(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        """Another student, the course's own instructor and an id nobody has get the same
        answer: a certificate's existence is not disclosed."""
        issued = issue(auth_client, session, school.learner, school.free)
        mine = f"/api/certificates/{issued['certificateId']}/download"
        nobodys = f"/api/certificates/{issued['certificateId'] + 1000}/download"
        answers = [
            auth_client.get(mine, headers=auth(session, school.other)),
            auth_client.get(mine, headers=auth(session, school.teacher)),
            auth_client.get(nobodys, headers=auth(session, school.learner)),
        ]
        shapes = []
        for response in answers:
            body = assert_error(response, 404, NOT_FOUND)
            shapes.append({key: value for key, value in body.items() if key != "timestamp"})
        assert shapes[0] == shapes[1] == shapes[2]

    def test_without_a_token_is_401(self, auth_client: TestClient, session: Session) -> None:
        response = auth_client.get("/api/certificates/1/download")
        assert response.status_code == 401
        assert response.json()["error"]["errorCode"] == 401


# -- the learner's certificates and the unique id -----------------------------------------------


class TestMyCertificates:
    def test_lists_only_the_callers_newest_first_with_paging(
        self, auth_client: TestClient, session: Session, auth_settings: Settings, school: School
    ) -> None:
        older = issue(auth_client, session, school.learner, school.free)
        payment = make_payment(
            session, school.learner, school.paid, payment_status=PaymentStatus.SUCCESS
        )
        completed(session, school.learner, school.paid, payment=payment)
        newer = data(generate(auth_client, session, school.learner, school.paid.course_id), 201)
        theirs = issue(auth_client, session, school.other, school.free)
        headers = auth(session, school.learner)

        page = data(auth_client.get("/api/certificates", headers=headers))
        assert (page["total"], page["offset"]) == (2, 0)
        ids = [item["certificateId"] for item in page["certificates"]]
        assert ids == [newer["certificateId"], older["certificateId"]]
        assert theirs["certificateId"] not in ids
        first = page["certificates"][0]
        public = auth_settings.app.public_url.rstrip("/")
        assert first["courseTitle"] == "Paid SQL"
        assert first["learnerName"] == "Ada Lovelace"
        assert first["status"] == "valid"
        assert first["certificateUrl"] == newer["certificateUrl"]
        assert first["verificationUrl"] == f"{public}/verify/{first['uniqueId']}"
        assert first["credentialUrl"] == (
            f"{public}/api/certificates/{newer['certificateId']}/credential"
        )

        second = data(auth_client.get("/api/certificates?limit=1&offset=1", headers=headers))
        assert (second["total"], second["limit"], second["offset"]) == (2, 1, 1)
        assert [item["certificateId"] for item in second["certificates"]] == [
            older["certificateId"]
        ]

    def test_someone_with_none_gets_an_empty_page(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        page = data(auth_client.get("/api/certificates", headers=auth(session, school.other)))
        assert (page["certificates"], page["total"]) == ([], 0)


class TestUniqueId:
    def test_is_80_random_bits_in_four_groups_of_crockford_base_32(self) -> None:
        ids = {new_unique_id() for _ in range(2000)}
        assert len(ids) == 2000
        assert all(UNIQUE_ID.match(unique_id) for unique_id in ids)

    def test_each_certificate_has_its_own(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        issue(auth_client, session, school.learner, school.free)
        issue(auth_client, session, school.other, school.free)
        unique_ids = [row.unique_id for row in certificate_rows(session)]
        assert len(set(unique_ids)) == 2
        assert all(UNIQUE_ID.match(unique_id) for unique_id in unique_ids)


# -- re-issue -----------------------------------------------------------------------------------


class TestReissue:
    def test_keeps_the_ids_and_prints_the_corrected_name(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        issued = issue(auth_client, session, school.learner, school.free)
        [before] = certificate_rows(session)
        certificate_id = issued["certificateId"]
        response = auth_client.post(
            f"/api/certificates/{certificate_id}/reissue",
            json={"learnerName": "Augusta Ada King"},
            headers=auth(session, school.admin),
        )
        body = data(response)
        assert (body["certificateId"], body["uniqueId"]) == (certificate_id, before.unique_id)
        assert body["learnerName"] == "Augusta Ada King"
        assert body["reissuedAt"] is not None

        download = auth_client.get(
            f"/api/certificates/{certificate_id}/download", headers=auth(session, school.learner)
        )
        assert download.status_code == 200
        text = pdf_text(download.content)
        assert "Augusta Ada King" in text
        assert before.unique_id in text
        verified = data(auth_client.get(f"/api/certificates/verify/{before.unique_id}"))
        assert verified["learnerName"] == "Augusta Ada King"

        session.expire_all()
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "reissue")).all()
        assert (entry.table_name, entry.row_id, entry.user_id) == (
            "certificates",
            str(certificate_id),
            school.admin.user_id,
        )

    def test_only_an_admin_reissues_and_never_a_revoked_certificate(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        certificate_id = issue(auth_client, session, school.learner, school.free)["certificateId"]
        url = f"/api/certificates/{certificate_id}/reissue"
        name = {"learnerName": "Someone Else"}
        for actor in (school.learner, school.teacher):
            assert_error(
                auth_client.post(url, json=name, headers=auth(session, actor)), 403, "Access denied"
            )
        admin = auth(session, school.admin)
        revoke = auth_client.post(
            f"/api/certificates/{certificate_id}/revoke", json={"reason": "Fraud"}, headers=admin
        )
        data(revoke)
        assert_error(
            auth_client.post(url, json=name, headers=admin), 409, "The certificate is revoked"
        )
        [row] = certificate_rows(session)
        assert (row.learner_name, row.revision) == ("Ada Lovelace", 1)
        # Nor does the learner get it "generated successfully" again.
        body = {"courseId": school.free.course_id}
        generate_again = auth_client.post(
            "/api/certificates/generate", json=body, headers=auth(session, school.learner)
        )
        assert_error(generate_again, 409, "The certificate is revoked")


# -- the signed credential ----------------------------------------------------------------------

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58_decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + BASE58.index(char)
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


def jcs(value: object) -> bytes:
    # RFC 8785 for the documents at hand (strings, integers, objects, arrays: no floats).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def published_key(did_document: dict[str, Any], method_id: str) -> Ed25519PublicKey:
    """The Ed25519 key of the DID document's verification method ``method_id`` (a Multikey:
    'z' + base58btc of the multicodec header 0xed 0x01 and the 32 key bytes)."""
    [method] = [m for m in did_document["verificationMethod"] if m["id"] == method_id]
    assert method_id in did_document["assertionMethod"]
    multikey = method["publicKeyMultibase"]
    assert multikey.startswith("z")
    raw = base58_decode(multikey[1:])
    assert raw[:2] == b"\xed\x01"
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def the_proof(credential: dict[str, Any]) -> dict[str, Any]:
    """The credential's one proof (VC 2.0 allows a proof or a set of them)."""
    proofs = credential["proof"]
    [proof] = proofs if isinstance(proofs, list) else [proofs]
    return dict(proof)


def check_proof(credential: dict[str, Any], key: Ed25519PublicKey) -> None:
    """eddsa-jcs-2022's Verify Proof, written from the specification: raises when the
    signature does not hold for this very document."""
    proof = the_proof(credential)
    assert (proof["type"], proof["cryptosuite"]) == ("DataIntegrityProof", "eddsa-jcs-2022")
    value = proof.pop("proofValue")
    assert value.startswith("z")
    document = {name: item for name, item in credential.items() if name != "proof"}
    proof["@context"] = document["@context"]
    hash_data = hashlib.sha256(jcs(proof)).digest() + hashlib.sha256(jcs(document)).digest()
    key.verify(base58_decode(value[1:]), hash_data)


class TestCredential:
    def test_is_an_open_badge_signed_by_the_key_the_platform_publishes(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        issued = issue(auth_client, session, school.learner, school.free)
        url = f"/api/certificates/{issued['certificateId']}/credential"
        response = auth_client.get(url, headers=auth(session, school.learner))
        assert response.status_code == 200, response.text
        credential = response.json()
        assert "OpenBadgeCredential" in credential["type"]
        achievement = credential["credentialSubject"]["achievement"]
        assert achievement["name"] == "Rust Basics"
        did = auth_client.get("/.well-known/did.json")
        assert did.status_code == 200
        document = did.json()
        assert credential["issuer"]["id"] == document["id"]
        key = published_key(document, the_proof(credential)["verificationMethod"])
        check_proof(credential, key)

        # The same key as a JWKS, for JOSE verifiers.
        [jwk] = auth_client.get("/.well-known/jwks.json").json()["keys"]
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        check_proof(credential, Ed25519PublicKey.from_public_bytes(raw))

        tampered = {**credential, "name": credential["name"] + " (with honours)"}
        with pytest.raises(InvalidSignature):
            check_proof(tampered, key)

    def test_anyone_else_hears_it_does_not_exist(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        issued = issue(auth_client, session, school.learner, school.free)
        url = f"/api/certificates/{issued['certificateId']}/credential"
        assert_error(auth_client.get(url, headers=auth(session, school.other)), 404, NOT_FOUND)
