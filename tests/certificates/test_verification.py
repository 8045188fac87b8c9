"""Public verification of a certificate: the API (``GET /api/certificates/verify/{uniqueId}``),
the page its QR code opens (``GET /verify/{uniqueId}``), revocation and its list, and the
rate limit both sit behind. No sign-in anywhere here but the admins' revocation."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.app import create_app
from core.settings import Settings
from models import AuditEntry, Certificate
from tests.api.helpers import TIMESTAMP, assert_error, data
from tests.certificates.test_api import NOT_FOUND, School, auth, issue, open_school, pdf_text

# Everything anyone may learn from the id printed on a certificate: no email, no user id.
PUBLIC_KEYS = {
    "uniqueId",
    "learnerName",
    "courseTitle",
    "issuer",
    "issueDate",
    "status",
    "revokedAt",
    "revocationReason",
    "verificationUrl",
}
UNKNOWN = "CERT-0000-0000-0000-0000"


@pytest.fixture
def school(session: Session) -> School:
    return open_school(session)


def the_certificate(session: Session) -> Certificate:
    session.expire_all()
    return session.scalars(select(Certificate)).one()


def verify(client: TestClient, unique_id: str) -> Any:
    return client.get(f"/api/certificates/verify/{unique_id}")


def revoke(
    client: TestClient, session: Session, actor: Any, certificate_id: int, reason: str
) -> Any:
    return client.post(
        f"/api/certificates/{certificate_id}/revoke",
        json={"reason": reason},
        headers=auth(session, actor),
    )


class TestVerificationApi:
    def test_anyone_learns_the_name_course_date_and_status_and_nothing_more(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        issue(auth_client, session, school.learner, school.free)
        row = the_certificate(session)
        found = data(verify(auth_client, row.unique_id))
        assert set(found) == PUBLIC_KEYS
        assert found["uniqueId"] == row.unique_id
        assert (found["learnerName"], found["courseTitle"]) == ("Ada Lovelace", "Rust Basics")
        assert TIMESTAMP.match(found["issueDate"])
        assert found["status"] == "valid"
        assert (found["revokedAt"], found["revocationReason"]) == (None, None)
        assert found["verificationUrl"] == row.verification_url
        assert found["verificationUrl"].endswith(f"/verify/{row.unique_id}")
        assert school.learner.email not in str(found)

    def test_the_id_is_found_however_a_person_types_it(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        """Lower case, O for zero, I or L for one, spaces or no separators at all."""
        issue(auth_client, session, school.learner, school.free)
        # An id with zeros and ones in it, to type them wrongly.
        printed = "CERT-0A1B-2C3D-4E5F-6G7H"
        session.execute(update(Certificate).values(unique_id=printed))
        session.commit()
        for typed in (
            printed.lower(),
            "CERT-OA1B-2C3D-4E5F-6G7H",
            "cert-oaib-2c3d-4e5f-6g7h",
            "CERT-0ALB-2C3D-4E5F-6G7H",
            "CERT0A1B2C3D4E5F6G7H",
            "cert 0a1b 2c3d 4e5f 6g7h",
        ):
            assert data(verify(auth_client, typed))["uniqueId"] == printed, typed

    @pytest.mark.parametrize(
        "unique_id",
        [
            pytest.param(UNKNOWN, id="unknown"),
            pytest.param("CERT-0000-0000-0000", id="too-short"),
            pytest.param("CERT-UUUU-0000-0000-0000", id="not-crockford"),
            pytest.param("' OR 1=1 --", id="sql"),
            pytest.param("CERT-0000'; DROP TABLE certificates; --", id="sql-drop"),
            pytest.param("CERT-ÄÖÜ0-٣٤٥٦-漢字漢字-🎓🎓🎓🎓", id="unicode"),
            pytest.param("%00", id="nul"),
        ],
    )
    def test_an_id_nobody_has_is_404(
        self, auth_client: TestClient, session: Session, unique_id: str
    ) -> None:
        assert_error(verify(auth_client, unique_id), 404, NOT_FOUND)

    def test_a_very_long_id_is_404_too(self, auth_client: TestClient, session: Session) -> None:
        assert_error(verify(auth_client, "CERT-" + "A" * 500), 404, NOT_FOUND)

    def test_an_issuing_certificate_is_not_found(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        """A reservation whose PDF is not stored yet is nobody's to see."""
        session.add(
            Certificate(
                user_id=school.learner.user_id,
                course_id=school.free.course_id,
                unique_id="CERT-1111-2222-3333-4444",
            )
        )
        session.commit()
        assert_error(verify(auth_client, "CERT-1111-2222-3333-4444"), 404, NOT_FOUND)


class TestVerificationPage:
    def test_shows_the_escaped_name_the_course_and_valid(
        self, auth_client: TestClient, session: Session
    ) -> None:
        school = open_school(session, learner_name="<script>alert(1)</script>")
        issue(auth_client, session, school.learner, school.free)
        row = the_certificate(session)
        assert row.verification_url is not None
        response = auth_client.get(f"/verify/{row.unique_id}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = response.text
        assert html.escape("<script>alert(1)</script>") in page
        assert "<script>" not in page
        assert "Rust Basics" in page
        assert "Valid" in page
        assert row.unique_id in page
        # The page the certificate's QR code holds is this one.
        assert row.verification_url.endswith(f"/verify/{row.unique_id}")
        # And the PDF prints the name as written, not as markup.
        pdf = auth_client.get(
            f"/api/certificates/{row.certificate_id}/download",
            headers=auth(session, school.learner),
        )
        assert "<script>alert(1)</script>" in pdf_text(pdf.content)

    def test_an_unknown_id_is_a_404_page(self, auth_client: TestClient, session: Session) -> None:
        response = auth_client.get(f"/verify/{UNKNOWN}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Certificate not found" in response.text

    def test_a_very_long_id_is_a_404_page_too(
        self, auth_client: TestClient, session: Session
    ) -> None:
        response = auth_client.get("/verify/CERT-" + "A" * 500)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")

    def test_what_was_asked_is_escaped_on_the_404_page(
        self, auth_client: TestClient, session: Session
    ) -> None:
        response = auth_client.get("/verify/<img src=x onerror=alert(1)>")
        assert response.status_code == 404
        assert "<img" not in response.text


class TestRevoke:
    def test_a_revoked_certificate_verifies_as_revoked_with_the_date_and_reason(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        certificate_id = issue(auth_client, session, school.learner, school.free)["certificateId"]
        row = the_certificate(session)
        credential = auth_client.get(
            f"/api/certificates/{certificate_id}/credential", headers=auth(session, school.learner)
        ).json()
        empty = auth_client.get("/api/certificates/revocation-list").json()
        assert empty["revokedCredentials"] == []

        reason = "Plagiarised final project"
        revoked = data(revoke(auth_client, session, school.admin, certificate_id, reason))
        assert (revoked["status"], revoked["revocationReason"]) == ("revoked", reason)
        assert TIMESTAMP.match(revoked["revokedAt"])

        found = data(verify(auth_client, row.unique_id))
        assert (found["status"], found["revocationReason"]) == ("revoked", reason)
        assert found["revokedAt"] == revoked["revokedAt"]
        assert set(found) == PUBLIC_KEYS

        page = auth_client.get(f"/verify/{row.unique_id}")
        assert page.status_code == 200
        assert "Revoked" in page.text
        assert reason in page.text
        assert "Valid certificate" not in page.text

        listed = auth_client.get("/api/certificates/revocation-list")  # public: no token
        assert listed.status_code == 200
        [entry] = listed.json()["revokedCredentials"]
        assert entry["id"] == credential["id"]
        assert entry["revocationReason"] == reason

        session.expire_all()
        [audited] = session.scalars(select(AuditEntry).where(AuditEntry.action == "revoke")).all()
        assert (audited.table_name, audited.row_id, audited.user_id) == (
            "certificates",
            str(certificate_id),
            school.admin.user_id,
        )

    def test_only_an_admin_revokes_once_and_with_a_reason(
        self, auth_client: TestClient, session: Session, school: School
    ) -> None:
        certificate_id = issue(auth_client, session, school.learner, school.free)["certificateId"]
        for actor in (school.learner, school.teacher):
            response = revoke(auth_client, session, actor, certificate_id, "Because")
            assert_error(response, 403, "Access denied")
        for empty in ("", "   "):
            response = revoke(auth_client, session, school.admin, certificate_id, empty)
            body = assert_error(response, 400, "Invalid input data")
            assert [problem["field"] for problem in body["error"]["details"]] == ["reason"]
        assert the_certificate(session).status.value == "valid"

        data(revoke(auth_client, session, school.admin, certificate_id, "Fraud"))
        again = revoke(auth_client, session, school.admin, certificate_id, "Fraud again")
        assert_error(again, 409, "The certificate is already revoked")
        assert the_certificate(session).revocation_reason == "Fraud"

    def test_an_unknown_certificate_is_404(self, auth_client: TestClient, session: Session) -> None:
        school = open_school(session)
        response = revoke(auth_client, session, school.admin, 999_999, "Fraud")
        assert_error(response, 404, NOT_FOUND)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
class TestRateLimit:
    def test_the_api_and_the_page_share_the_callers_budget(self, settings: Settings) -> None:
        limits = settings.ratelimit.model_copy(
            update={"requests_per_minute": 2, "window_seconds": 3600}
        )
        with TestClient(create_app(settings.model_copy(update={"ratelimit": limits}))) as client:
            assert verify(client, UNKNOWN).status_code == 404
            assert client.get(f"/verify/{UNKNOWN}").status_code == 404
            for response in (verify(client, UNKNOWN), client.get(f"/verify/{UNKNOWN}")):
                assert_error(response, 429, "Too many requests, try again later")
                assert int(response.headers["Retry-After"]) > 0
