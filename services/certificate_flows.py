"""Issuing and re-issuing certificates in short units of work around the slow part.

Rendering a PDF is CPU work and storing it is a call to the file store (S3 at scale): both
happen between two units of work, never inside one, and never on the event loop (the API
runs them in a worker thread; the job runs in a worker already). The rules are in
``services.certificates``; these functions only put its steps in order, once for the API and
the panel (async) and once for the job (sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import anyio.to_thread

from core.clock import utcnow
from core.database import AsyncUnitsOfWork, UnitsOfWork
from core.errors import Conflict
from core.logging import get_logger
from core.settings import Settings
from integrations.storage import Storage, StorageUnavailable
from models import Certificate, User
from services import certificates
from services.certificate_documents import CertificateDocument, render_pdf
from services.certificates import (
    CertificateRevoked,
    CertificateStorageUnavailable,
    NotEligible,
    ReissueDraft,
    check_requester,
)

log = get_logger("services.certificate_flows")

PDF = "application/pdf"


@dataclass(frozen=True, slots=True)
class Issued:
    certificate_id: int
    certificate_url: str
    # Whether this call issued it (False: it was there already, or a concurrent call won).
    created: bool


def _issued(certificate: Certificate, created: bool) -> Issued:
    return Issued(certificate.certificate_id, certificate.certificate_url or "", created)


def render_and_store(storage: Storage, document: CertificateDocument, key: str) -> None:
    """Blocking: the PDF rendered and written under ``key`` (replacing a retry's earlier
    copy, which says the same)."""
    pdf = render_pdf(document)
    try:
        storage.save(key, pdf, content_type=PDF)
    except StorageUnavailable as exc:
        log.warning("certificate not stored", key=key, error=str(exc))
        raise CertificateStorageUnavailable() from exc


async def generate(
    units: AsyncUnitsOfWork,
    storage: Storage,
    settings: Settings,
    *,
    actor: User,
    user_id: int,
    course_id: int,
) -> Issued:
    """The learner's certificate for the course, issued now if it was not yet."""
    check_requester(actor, user_id)
    public_url, name = settings.app.public_url, settings.app.name
    async with units() as session:
        reservation = await session.run_sync(
            lambda s: certificates.reserve(
                s, user_id=user_id, course_id=course_id, public_url=public_url, platform_name=name
            )
        )
    if reservation.document is None:
        return _issued(reservation.certificate, created=False)
    await anyio.to_thread.run_sync(render_and_store, storage, reservation.document, reservation.key)
    certificate_id = reservation.certificate.certificate_id
    async with units() as session:
        certificate, done = await session.run_sync(
            lambda s: certificates.finish(
                s, certificate_id=certificate_id, key=reservation.key, public_url=public_url
            )
        )
    return _issued(certificate, created=done)


def issue(
    units: UnitsOfWork, storage: Storage, settings: Settings, *, user_id: int, course_id: int
) -> Issued | None:
    """The job's issuance (a completed course, or the sweep): the same steps; None when the
    learner is not (or no longer) eligible. A failure to render or store raises, for the
    queue to retry: the row stays issuing, and nobody sees it until its file is stored."""
    public_url, name = settings.app.public_url, settings.app.name
    try:
        with units() as session:
            reservation = certificates.reserve(
                session,
                user_id=user_id,
                course_id=course_id,
                public_url=public_url,
                platform_name=name,
            )
    except NotEligible as refusal:
        log.info("no certificate", user_id=user_id, course_id=course_id, reason=refusal.problem)
        return None
    except CertificateRevoked:
        log.info("certificate revoked", user_id=user_id, course_id=course_id)
        return None
    if reservation.document is None:
        return _issued(reservation.certificate, created=False)
    render_and_store(storage, reservation.document, reservation.key)
    with units() as session:
        certificate, done = certificates.finish(
            session,
            certificate_id=reservation.certificate.certificate_id,
            key=reservation.key,
            public_url=public_url,
        )
    return _issued(certificate, created=done)


def issue_owed(
    units: UnitsOfWork, storage: Storage, settings: Settings, *, older_than: timedelta
) -> int:
    """Issue, one after another, every certificate still owed (``certificates.unfinished``);
    how many were issued. For a command (the demo's certificates); the worker's sweep hands
    each to a task instead."""
    issued = 0
    while True:
        with units() as session:
            owed = certificates.unfinished(session, older_than=older_than)
        results = [
            issue(units, storage, settings, user_id=user_id, course_id=course_id)
            for user_id, course_id in owed
        ]
        done = sum(1 for result in results if result is not None and result.created)
        issued += done
        if len(owed) < certificates.SWEEP_BATCH or not done:
            return issued


async def reissue(
    units: AsyncUnitsOfWork,
    storage: Storage,
    settings: Settings,
    *,
    actor: User,
    certificate_id: int,
    learner_name: str | None,
) -> Certificate:
    """A new PDF for the certificate (a corrected name), under the same unique id; the
    previous revision's file is deleted once the row no longer names it."""
    name = settings.app.name
    async with units() as session:
        draft: ReissueDraft = await session.run_sync(
            lambda s: certificates.draft_reissue(
                s,
                actor=actor,
                certificate_id=certificate_id,
                learner_name=learner_name,
                platform_name=name,
            )
        )
    await anyio.to_thread.run_sync(render_and_store, storage, draft.document, draft.key)
    try:
        async with units() as session:
            certificate, old_key = await session.run_sync(
                lambda s: certificates.complete_reissue(s, actor=actor, draft=draft, now=utcnow())
            )
    except Conflict:
        # Another re-issue or a revocation came first: this revision's file is nobody's.
        await anyio.to_thread.run_sync(_forget, storage, draft.key)
        raise
    if old_key and old_key != draft.key:
        await anyio.to_thread.run_sync(_forget, storage, old_key)
    return certificate


def _forget(storage: Storage, key: str) -> None:
    # Best effort: a file left behind is unreachable (no row names it), never harmful.
    try:
        storage.delete(key)
    except Exception as exc:  # the store's failure must not undo a re-issue
        log.warning("old certificate file not deleted", key=key, error=str(exc))
