"""The Certificate Service: generate (seed), download (seed), the learner's certificates,
public verification, the signed credential and its revocation list, and the admins'
revocation and re-issue.

Generating and re-issuing render a PDF and store it: they write through short units of
work (``UnitsDep``) around that work, which runs in a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from api.auth import CurrentUser
from api.deps import SessionDep, StateDep, UnitsDep
from api.envelope import Envelope, error_responses, ok
from api.files import stored_file
from api.schemas.base import Offset, RowId
from api.schemas.certificates import (
    CertificateItem,
    CertificatePage,
    GenerateRequest,
    GenerateResult,
    ReissueRequest,
    RevokeRequest,
    Verification,
)
from core.clock import utcnow
from core.errors import ServiceUnavailable
from core.settings import Settings
from integrations.storage import StorageUnavailable, StoredFileMissing
from models import Certificate
from services import certificate_flows, certificates, credentials
from services.certificate_flows import PDF
from services.certificates import CertificateNotFound

router = APIRouter(prefix="/api/certificates", tags=["certificates"])

CertificateId = Annotated[RowId, Path(alias="id")]
UniqueId = Annotated[str, Path(alias="uniqueId")]

_PDF_ANSWER = {
    "description": "The certificate's PDF",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}
_JSON_DOCUMENT = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _standard(name: str) -> dict[str, str]:
    # A document a standard shapes, answered bare (verifiers and wallets read it as the
    # standard says), not in the API's envelope; the OpenAPI document says which standard.
    return {"x-standard-document": name}


def _item(certificate: Certificate, settings: Settings) -> CertificateItem:
    return CertificateItem(
        certificate_id=certificate.certificate_id,
        course_id=certificate.course_id,
        course_title=certificate.course_title,
        learner_name=certificate.learner_name,
        unique_id=certificate.unique_id,
        status=certificate.status,
        issue_date=certificate.issue_date,
        reissued_at=certificate.reissued_at,
        revoked_at=certificate.revoked_at,
        revocation_reason=certificate.revocation_reason,
        certificate_url=certificate.certificate_url or "",
        verification_url=certificate.verification_url or "",
        credential_url=certificates.credential_url(
            settings.app.public_url, certificate.certificate_id
        ),
    )


@router.post(
    "/generate",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[GenerateResult],
    responses=error_responses(400, 401, 403, 409, 503)
    | {200: {"description": "The learner's certificate existed already: the same one"}},
    summary="Issue the learner's certificate for a course they completed (paid courses: "
    "with their payment standing); asking again answers the same certificate",
)
async def generate(
    body: GenerateRequest, user: CurrentUser, units: UnitsDep, state: StateDep
) -> JSONResponse:
    issued = await certificate_flows.generate(
        units,
        state.storage,
        state.settings,
        actor=user,
        user_id=body.user_id or user.user_id,
        course_id=body.course_id,
    )
    data = GenerateResult(
        certificate_id=issued.certificate_id,
        certificate_url=issued.certificate_url,
        message="Certificate generated successfully",
    )
    code = status.HTTP_201_CREATED if issued.created else status.HTTP_200_OK
    return JSONResponse(ok(data).model_dump(mode="json", by_alias=True), status_code=code)


@router.get(
    "",
    response_model=Envelope[CertificatePage],
    responses=error_responses(400, 401),
    summary="The caller's certificates, newest first",
)
async def my_certificates(
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    limit: Annotated[int | None, Query(ge=1, description="Page size, at most 100")] = None,
    offset: Annotated[Offset, Query()] = 0,
) -> Envelope[CertificatePage]:
    size = state.settings.api.page_size(limit)
    rows, total = await session.run_sync(
        lambda s: certificates.certificates_of(s, learner=user, limit=size, offset=offset)
    )
    items = [_item(row, state.settings) for row in rows]
    return ok(CertificatePage(certificates=items, total=total, limit=size, offset=offset))


@router.get(
    "/revocation-list",
    responses={
        200: {"description": "The revoked credentials (1EdTech Revocation List)"} | _JSON_DOCUMENT
    },
    summary="The credentials' revocation list, which each credential's status points at "
    "(public; a bare document, not the envelope: verifiers read it as the standard says)",
    openapi_extra=_standard("1EdTech Revocation List (Open Badges 3.0)"),
)
async def revocation_list(session: SessionDep, state: StateDep) -> JSONResponse:
    revoked = await session.run_sync(certificates.revoked_credentials)
    document = credentials.revocation_list(state.settings, revoked)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=60"})


@router.get(
    "/verify/{uniqueId}",
    response_model=Envelope[Verification],
    responses=error_responses(404, 429),
    summary="Verify a certificate by the id printed on it (public, no sign-in): who, which "
    "course, when, and whether it is valid or revoked",
)
async def verify(
    unique_id: UniqueId, session: SessionDep, state: StateDep
) -> Envelope[Verification]:
    certificate = await session.run_sync(lambda s: certificates.verified(s, unique_id))
    return ok(verification_of(certificate, state.settings))


def verification_of(certificate: Certificate, settings: Settings) -> Verification:
    return Verification(
        unique_id=certificate.unique_id,
        learner_name=certificate.learner_name,
        course_title=certificate.course_title,
        issuer=settings.app.name,
        issue_date=certificate.issue_date,
        status=certificate.status,
        revoked_at=certificate.revoked_at,
        revocation_reason=certificate.revocation_reason,
        verification_url=certificate.verification_url or "",
    )


@router.get(
    "/{id}/download",
    response_class=Response,
    responses=error_responses(401, 404, 503) | {200: _PDF_ANSWER},
    summary="Download a certificate's PDF (its learner, or an admin)",
)
async def download(
    certificate_id: CertificateId, user: CurrentUser, session: SessionDep, state: StateDep
) -> Response:
    certificate = await session.run_sync(
        lambda s: certificates.certificate_for(s, viewer=user, certificate_id=certificate_id)
    )
    key = certificate.file_key or ""
    headers = {
        "Content-Disposition": "attachment; filename=certificate.pdf",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }
    try:
        return await stored_file(state.storage, key, media_type=PDF, headers=headers)
    except StoredFileMissing:
        raise CertificateNotFound() from None
    except StorageUnavailable:
        raise ServiceUnavailable("Certificates cannot be read right now") from None


@router.get(
    "/{id}/credential",
    responses=error_responses(401, 404)
    | {200: {"description": "The signed Open Badges 3.0 credential"} | _JSON_DOCUMENT},
    summary="Download a certificate's verifiable credential: an Open Badges 3.0 "
    "OpenBadgeCredential signed by the platform (its learner, or an admin)",
    openapi_extra=_standard("Open Badges 3.0 OpenBadgeCredential (W3C VC Data Model 2.0)"),
)
async def credential(
    certificate_id: CertificateId, user: CurrentUser, session: SessionDep, state: StateDep
) -> JSONResponse:
    def facts(s: Session) -> credentials.CredentialFacts:
        found = certificates.certificate_for(s, viewer=user, certificate_id=certificate_id)
        return certificates.credential_facts(s, found)

    signed = credentials.signed_credential(state.settings, await session.run_sync(facts))
    return JSONResponse(
        signed,
        headers={
            "Content-Disposition": "attachment; filename=certificate-credential.json",
            "Cache-Control": "private, no-cache",
        },
    )


@router.post(
    "/{id}/revoke",
    response_model=Envelope[CertificateItem],
    responses=error_responses(400, 401, 403, 404, 409),
    summary="Revoke a certificate (admins): it verifies as revoked, with the date and reason",
)
async def revoke(
    certificate_id: CertificateId,
    body: RevokeRequest,
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
) -> Envelope[CertificateItem]:
    certificate = await session.run_sync(
        lambda s: certificates.revoke(
            s, actor=user, certificate_id=certificate_id, reason=body.reason, now=utcnow()
        )
    )
    return ok(_item(certificate, state.settings))


@router.post(
    "/{id}/reissue",
    response_model=Envelope[CertificateItem],
    responses=error_responses(400, 401, 403, 404, 409, 503),
    summary="Re-issue a certificate (admins): a new PDF, for a corrected name, under the "
    "same unique id and links",
)
async def reissue(
    certificate_id: CertificateId,
    body: ReissueRequest,
    user: CurrentUser,
    units: UnitsDep,
    state: StateDep,
) -> Envelope[CertificateItem]:
    certificate = await certificate_flows.reissue(
        units,
        state.storage,
        state.settings,
        actor=user,
        certificate_id=certificate_id,
        learner_name=body.learner_name,
    )
    return ok(_item(certificate, state.settings))
