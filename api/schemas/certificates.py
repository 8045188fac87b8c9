"""The Certificate Service's request and answer shapes: the seed's generate, plus the
learner's list, public verification, and the admins' revocation and re-issue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import CamelModel, RowId
from api.schemas.learning import Timestamped
from models import CertificateStatus


class GenerateRequest(CamelModel):
    user_id: Annotated[
        RowId | None,
        Field(description="The learner; the caller when omitted (admins: anyone)"),
    ] = None
    course_id: RowId


class GenerateResult(CamelModel):
    certificate_id: int
    certificate_url: Annotated[
        str, Field(description="Where the PDF is downloaded (with the learner's sign-in)")
    ]
    message: str


class CertificateItem(Timestamped):
    certificate_id: int
    course_id: int
    course_title: Annotated[str, Field(description="The course's title as certified")]
    learner_name: Annotated[str, Field(description="The learner's name as certified")]
    unique_id: Annotated[str, Field(description="The public id printed on the certificate")]
    status: Literal[CertificateStatus.VALID, CertificateStatus.REVOKED]
    issue_date: datetime
    reissued_at: datetime | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    certificate_url: str
    verification_url: Annotated[str, Field(description="The public verification page")]
    credential_url: Annotated[
        str, Field(description="The signed Open Badges 3.0 credential (JSON)")
    ]


class CertificatePage(CamelModel):
    certificates: list[CertificateItem]
    total: int
    limit: int
    offset: int


class Verification(Timestamped):
    """What anyone may learn from a certificate's public id, and nothing more."""

    unique_id: str
    learner_name: str
    course_title: str
    issuer: Annotated[str, Field(description="The platform that issued it")]
    issue_date: datetime
    status: Literal[CertificateStatus.VALID, CertificateStatus.REVOKED]
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    verification_url: str


class RevokeRequest(CamelModel):
    reason: Annotated[
        str,
        Field(
            min_length=1,
            max_length=500,
            description="Why (shown to anyone who verifies the certificate)",
        ),
    ]


class ReissueRequest(CamelModel):
    learner_name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="The corrected name to print; the learner's account name when omitted",
        ),
    ] = None
