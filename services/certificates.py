"""The Certificate Service: who may have a certificate, issuing it once, finding it,
verifying it, revoking and re-issuing it.

Issuing takes three steps, because rendering and storing the PDF must not hold a
transaction open: ``reserve`` (a short unit: the rules, then the row, ``issuing``, which the
unique (user_id, course_id) constraint makes the only one), the document rendered and
stored outside any transaction, and ``finish`` (a short unit: the row names its file and
becomes ``valid`` by a conditional UPDATE, with the learner's notice and the analytics
record). A row is never valid without its file; a reservation left by a crash is finished
by the next request for it or by the certificate job's sweep, under the same unique id, and
its file key is the row's own, so a retry overwrites rather than adds. The orchestration of
the steps is ``services.certificate_flows``; the API, the job and the admin panel call it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import rows_changed
from core.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from core.events import EventType
from core.settings import Settings
from core.sql import insert_unless_present
from core.tasks import TaskName, enqueue_after_commit
from models import (
    Certificate,
    CertificateStatus,
    Course,
    Enrollment,
    EnrollmentStatus,
    OutboxEvent,
    Payment,
    PaymentStatus,
    RefundStatus,
    Role,
    User,
)
from services.analytics import record
from services.audit import record as audit
from services.certificate_documents import CertificateDocument
from services.credentials import CredentialFacts, RevokedCredential
from services.notifications import notify

# -- unique ids ---------------------------------------------------------------------------------

# Crockford's base 32: digits and capitals without I, L, O and U, so an id read aloud or
# typed from paper survives; 16 characters are 80 random bits.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_CHARACTERS = 16
_GROUP = 4
_PREFIX = "CERT"
# What people type for what they read: lower case, O for zero, I and L for one.
_READ_AS = str.maketrans("OIL", "011")
_SEPARATORS = re.compile(r"[\s\-_.]+")


def new_unique_id() -> str:
    """A fresh public id such as ``CERT-7KQ2-M9XD-4TPA-B3HC``: random, 80 bits."""
    bits = secrets.randbits(5 * _ID_CHARACTERS)
    characters = "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(_ID_CHARACTERS))
    groups = [characters[i : i + _GROUP] for i in range(0, _ID_CHARACTERS, _GROUP)]
    return "-".join([_PREFIX, *groups])


def canonical_unique_id(text: str) -> str | None:
    """The id ``text`` spells (case, separators and look-alike letters forgiven), or None
    when it cannot be one of ours: nothing malformed reaches the database."""
    compact = _SEPARATORS.sub("", text.strip().upper())
    if not compact.startswith(_PREFIX) or len(compact) > 64:
        return None
    body = compact.removeprefix(_PREFIX).translate(_READ_AS)
    if len(body) != _ID_CHARACTERS or any(c not in _ALPHABET for c in body):
        return None
    return "-".join([_PREFIX, *(body[i : i + _GROUP] for i in range(0, _ID_CHARACTERS, _GROUP))])


def file_key(unique_id: str, revision: int, draft: str | None = None) -> str:
    """Where a certificate's PDF is stored: one file per revision. The first is named by the
    row alone (a retried issue overwrites it); a re-issue's carries a token of its own draft,
    so two re-issues racing never write, nor delete, each other's file."""
    suffix = f"-{draft}" if draft else ""
    return f"certificates/{unique_id}/r{revision}{suffix}.pdf"


def download_url(public_url: str, certificate_id: int) -> str:
    # Our own URL, whatever the store: the route checks who asks, a bucket URL would not.
    return f"{public_url.rstrip('/')}/api/certificates/{certificate_id}/download"


def credential_url(public_url: str, certificate_id: int) -> str:
    """Where its learner downloads the certificate's signed credential."""
    return f"{public_url.rstrip('/')}/api/certificates/{certificate_id}/credential"


def verification_url(public_url: str, unique_id: str) -> str:
    """The public page of a certificate (the one its QR code holds)."""
    return f"{public_url.rstrip('/')}/verify/{unique_id}"


# -- refusals -----------------------------------------------------------------------------------


class NotEligible(InvalidInput):
    """The learner has no certificate to get (yet): the seed's one refusal, with the reason
    in the details."""

    message = "Invalid input data or incomplete course"


class CertificateNotFound(NotFound):
    message = "Certificate not found"


class CertificateRevoked(Conflict):
    message = "The certificate is revoked"


class AlreadyRevoked(Conflict):
    message = "The certificate is already revoked"


class CertificateStorageUnavailable(ServiceUnavailable):
    message = "Certificates cannot be stored right now; try again in a minute"


# -- issuing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reservation:
    """A learner's certificate row after ``reserve``: ``document`` is what to render when the
    row is still issuing, None when it already has its file."""

    certificate: Certificate
    document: CertificateDocument | None

    @property
    def key(self) -> str:
        return file_key(self.certificate.unique_id, self.certificate.revision)


def check_requester(actor: User, user_id: int) -> None:
    """A learner asks for their own certificate; an admin for anyone's."""
    if actor.role is not Role.ADMIN and actor.user_id != user_id:
        raise Forbidden()


def eligible_enrollment(session: Session, *, user_id: int, course_id: int) -> Enrollment:
    """The learner's completed enrollment in the course, its payment (when it was paid for)
    still standing; otherwise ``NotEligible`` saying why. Completion itself (every module
    at 100%, every quiz passed) is decided once, by ``services.progress.complete_if_done``."""
    row = session.execute(
        select(Enrollment, Payment.payment_status, Payment.refund_status)
        .outerjoin(Payment, Payment.payment_id == Enrollment.payment_id)
        .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)
    ).one_or_none()
    if row is None:
        raise NotEligible("the learner is not enrolled in this course", field="course_id")
    enrollment: Enrollment = row[0]
    paid, refund = row[1], row[2]
    if enrollment.status is not EnrollmentStatus.COMPLETED:
        raise NotEligible("the learner has not completed this course yet", field="course_id")
    if enrollment.payment_id is not None:
        problem = _payment_problem(paid, refund)
        if problem:
            raise NotEligible(problem, field="course_id")
    return enrollment


def _payment_problem(paid: PaymentStatus | None, refund: RefundStatus | None) -> str | None:
    # The seed's "payment verification": the payment the enrollment was bought with holds.
    if paid is PaymentStatus.REFUNDED or refund is RefundStatus.PROCESSED:
        return "the payment for this course was refunded"
    if refund is RefundStatus.PENDING:
        return "the payment for this course is being refunded"
    if paid is not PaymentStatus.SUCCESS:
        return "the payment for this course has not succeeded"
    return None


def reserve(
    session: Session, *, user_id: int, course_id: int, public_url: str, platform_name: str
) -> Reservation:
    """Check the rules and make sure the learner's certificate row exists (its insert is one
    statement the unique constraint decides, so concurrent requests share one row and one
    unique id)."""
    mine = select(Certificate).where(
        Certificate.user_id == user_id, Certificate.course_id == course_id
    )
    certificate = session.scalars(mine).one_or_none()
    # An issued certificate is the answer whatever happened since (a refund revokes nothing
    # by itself); a revoked one is refused.
    if certificate is not None and certificate.status is CertificateStatus.VALID:
        return Reservation(certificate, None)
    if certificate is not None and certificate.status is CertificateStatus.REVOKED:
        raise CertificateRevoked()
    enrollment = eligible_enrollment(session, user_id=user_id, course_id=course_id)
    if certificate is None:
        # The names as they are now are the names certified.
        learner, course = session.execute(
            select(User.name, Course.title)
            .join(Course, Course.course_id == course_id)
            .where(User.user_id == user_id)
        ).one()
        unique_id = new_unique_id()
        insert_unless_present(
            session,
            Certificate,
            {
                "user_id": user_id,
                "course_id": course_id,
                "unique_id": unique_id,
                "status": CertificateStatus.ISSUING,
                "learner_name": learner,
                "course_title": course,
                "verification_url": verification_url(public_url, unique_id),
                "issue_date": utcnow(),
            },
            unique=["user_id", "course_id"],
        )
        # Ours, or the one a concurrent request inserted first.
        certificate = session.scalars(mine.execution_options(populate_existing=True)).one()
    if certificate.status is CertificateStatus.REVOKED:
        # Revoked in between (not "generated successfully": the learner hears why).
        raise CertificateRevoked()
    if certificate.status is not CertificateStatus.ISSUING:
        return Reservation(certificate, None)
    document = document_of(session, certificate, platform_name, enrollment=enrollment)
    return Reservation(certificate, document)


def document_of(
    session: Session,
    certificate: Certificate,
    platform_name: str,
    *,
    enrollment: Enrollment | None = None,
) -> CertificateDocument:
    """What the PDF of ``certificate`` says: the names as certified, the course's instructor
    as they are now, the completion date, the issue date."""
    if enrollment is None:
        enrollment = session.scalars(
            select(Enrollment).where(
                Enrollment.user_id == certificate.user_id,
                Enrollment.course_id == certificate.course_id,
            )
        ).one()
    teacher = session.scalar(
        select(User.name)
        .join(Course, Course.instructor_id == User.user_id)
        .where(Course.course_id == certificate.course_id)
    )
    completed = enrollment.completed_at or certificate.issue_date
    return CertificateDocument(
        platform_name=platform_name,
        learner_name=certificate.learner_name,
        course_title=certificate.course_title,
        instructor_name=teacher or "",
        completed_on=completed.date(),
        issued_on=certificate.issue_date.date(),
        unique_id=certificate.unique_id,
        verification_url=certificate.verification_url or "",
    )


def finish(
    session: Session, *, certificate_id: int, key: str, public_url: str
) -> tuple[Certificate, bool]:
    """Make an issuing certificate valid now that its file is stored under ``key``; whether
    this call did it (False: another request or a retry finished it first, with the same
    file). The learner hears of it and analytics records it exactly once, here."""
    done = rows_changed(
        session,
        update(Certificate)
        .where(
            Certificate.certificate_id == certificate_id,
            Certificate.status == CertificateStatus.ISSUING,
        )
        .values(
            status=CertificateStatus.VALID,
            file_key=key,
            certificate_url=download_url(public_url, certificate_id),
        ),
    )
    certificate = session.scalars(
        select(Certificate)
        .where(Certificate.certificate_id == certificate_id)
        .execution_options(populate_existing=True)
    ).one()
    if done:
        _issued(session, certificate)
    return certificate, bool(done)


def _issued(session: Session, certificate: Certificate) -> None:
    record(
        session,
        EventType.CERTIFICATE_ISSUED,
        user_id=certificate.user_id,
        course_id=certificate.course_id,
        data={"certificateId": certificate.certificate_id, "uniqueId": certificate.unique_id},
        at=certificate.issue_date,
    )
    certificate_issued(session, certificate)


def certificate_issued(session: Session, certificate: Certificate) -> None:
    """The learner's notice (email and in-app, as their preferences say) with the links."""
    title = certificate.course_title or "your course"
    notify(
        session,
        EventType.CERTIFICATE_ISSUED,
        user_id=certificate.user_id,
        subject=f"Your certificate for {title}",
        message=(
            f"Congratulations on completing {title}! Download your certificate: "
            f"{certificate.certificate_url}. Anyone can verify it at "
            f"{certificate.verification_url}."
        ),
        link=certificate.certificate_url,
        dedupe_key=f"certificate-issued:{certificate.certificate_id}",
        certificate_id=certificate.certificate_id,
    )


SWEEP_BATCH = 100


def unfinished(
    session: Session, *, older_than: timedelta, limit: int = SWEEP_BATCH
) -> list[tuple[int, int]]:
    """(user_id, course_id) of the certificates the sweep should issue: reservations left
    issuing for longer than ``older_than`` (a crash, storage down past the retries), and
    completed enrollments with no certificate at all (a lost enqueue); only those whose
    payment still stands. ``reserve`` checks every rule again."""
    cutoff = utcnow() - older_than
    owed = (
        select(Enrollment.user_id, Enrollment.course_id)
        .outerjoin(Payment, Payment.payment_id == Enrollment.payment_id)
        .outerjoin(
            Certificate,
            and_(
                Certificate.user_id == Enrollment.user_id,
                Certificate.course_id == Enrollment.course_id,
            ),
        )
        .where(
            Enrollment.status == EnrollmentStatus.COMPLETED,
            # The payment rule of ``_payment_problem``, in SQL: nobody refunded is asked for
            # again every sweep.
            or_(
                Enrollment.payment_id.is_(None),
                and_(
                    Payment.payment_status == PaymentStatus.SUCCESS,
                    or_(
                        Payment.refund_status.is_(None),
                        Payment.refund_status == RefundStatus.FAILED,
                    ),
                ),
            ),
            or_(
                and_(
                    Certificate.status == CertificateStatus.ISSUING,
                    Certificate.issue_date < cutoff,
                ),
                and_(
                    Certificate.certificate_id.is_(None),
                    or_(Enrollment.completed_at.is_(None), Enrollment.completed_at < cutoff),
                ),
            ),
        )
        # In no fixed order: a hundred that keep failing must not starve the rest.
        .order_by(func.random())
    )
    rows = session.execute(owed.limit(limit)).all()
    return [(user_id, course_id) for user_id, course_id in rows]


def request_certificate(session: Session, event: OutboxEvent, settings: Settings) -> None:
    """The ``course.completed`` handler: the certificate is issued by its own task, after
    this unit commits (rendering and storing must not run inside it). Asking twice is
    harmless: issuing is idempotent, and the sweep asks again for any lost request."""
    payload = event.payload or {}
    enqueue_after_commit(
        session, TaskName.ISSUE_CERTIFICATE, int(payload["user_id"]), int(payload["course_id"])
    )


# -- reading ------------------------------------------------------------------------------------

_ISSUED = Certificate.status != CertificateStatus.ISSUING


def certificate_for(session: Session, *, viewer: User, certificate_id: int) -> Certificate:
    """An issued certificate, to its learner or an admin; anyone else hears it does not
    exist (the same answer as for an id nobody has)."""
    certificate = session.scalars(
        select(Certificate).where(Certificate.certificate_id == certificate_id, _ISSUED)
    ).one_or_none()
    if certificate is None or (
        viewer.role is not Role.ADMIN and certificate.user_id != viewer.user_id
    ):
        raise CertificateNotFound()
    return certificate


def certificates_of(
    session: Session, *, learner: User, limit: int, offset: int
) -> tuple[Sequence[Certificate], int]:
    """The learner's issued certificates, newest first, and how many there are."""
    mine = and_(Certificate.user_id == learner.user_id, _ISSUED)
    total = session.scalar(select(func.count()).select_from(Certificate).where(mine)) or 0
    rows = session.scalars(
        select(Certificate)
        .where(mine)
        .order_by(Certificate.issue_date.desc(), Certificate.certificate_id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def verified(session: Session, unique_id: str) -> Certificate:
    """The issued certificate a public id names (through the unique index), for anyone."""
    canonical = canonical_unique_id(unique_id)
    certificate = None
    if canonical is not None:
        certificate = session.scalars(
            select(Certificate).where(Certificate.unique_id == canonical, _ISSUED)
        ).one_or_none()
    if certificate is None:
        raise CertificateNotFound()
    return certificate


def credential_facts(session: Session, certificate: Certificate) -> CredentialFacts:
    description = session.scalar(
        select(Course.description).where(Course.course_id == certificate.course_id)
    )
    return CredentialFacts(
        unique_id=certificate.unique_id,
        learner_name=certificate.learner_name,
        course_id=certificate.course_id,
        course_title=certificate.course_title,
        course_description=description,
        issued_at=certificate.issue_date,
        signed_at=certificate.reissued_at or certificate.issue_date,
        verification_url=certificate.verification_url or "",
    )


def revoked_credentials(session: Session) -> list[RevokedCredential]:
    rows = session.execute(
        select(Certificate.unique_id, Certificate.revocation_reason, Certificate.revoked_at)
        .where(Certificate.status == CertificateStatus.REVOKED)
        .order_by(Certificate.revoked_at, Certificate.certificate_id)
    ).all()
    return [
        RevokedCredential(unique_id=unique_id, reason=reason, revoked_at=revoked_at)
        for unique_id, reason, revoked_at in rows
    ]


# -- revoking and re-issuing (admins) -----------------------------------------------------------


def _admin_only(actor: User) -> None:
    if actor.role is not Role.ADMIN:
        raise Forbidden()


def _locked(session: Session, certificate_id: int) -> Certificate:
    certificate = session.scalars(
        select(Certificate)
        .where(Certificate.certificate_id == certificate_id, _ISSUED)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if certificate is None:
        raise CertificateNotFound()
    return certificate


def revoke(
    session: Session, *, actor: User, certificate_id: int, reason: str, now: datetime
) -> Certificate:
    """Revoke a valid certificate: it stays verifiable, as revoked, with the date and the
    reason; its credential's status list says so too. Audited."""
    _admin_only(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the certificate is revoked", field="reason")
    certificate = _locked(session, certificate_id)
    if certificate.status is CertificateStatus.REVOKED:
        raise AlreadyRevoked()
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = now
    certificate.revocation_reason = reason
    session.flush()
    changes = {"status": "revoked", "revocation_reason": reason}
    audit(
        session,
        actor=actor,
        action="revoke",
        table_name="certificates",
        row_id=certificate_id,
        changes=changes,
    )
    record(
        session,
        EventType.CERTIFICATE_REVOKED,
        user_id=certificate.user_id,
        course_id=certificate.course_id,
        data={"certificateId": certificate_id, "reason": reason},
    )
    return certificate


@dataclass(frozen=True, slots=True)
class ReissueDraft:
    certificate_id: int
    revision: int  # the revision being replaced
    learner_name: str
    document: CertificateDocument
    token: str = field(default_factory=lambda: secrets.token_hex(4))

    @property
    def key(self) -> str:
        return file_key(self.document.unique_id, self.revision + 1, self.token)


def draft_reissue(
    session: Session,
    *,
    actor: User,
    certificate_id: int,
    learner_name: str | None,
    platform_name: str,
) -> ReissueDraft:
    """What a re-issued certificate will say: the learner's name as given (a correction), or
    as their account spells it now; everything else as certified (the issue date too: the
    learner earned it then)."""
    _admin_only(actor)
    certificate = session.scalars(
        select(Certificate).where(Certificate.certificate_id == certificate_id, _ISSUED)
    ).one_or_none()
    if certificate is None:
        raise CertificateNotFound()
    if certificate.status is CertificateStatus.REVOKED:
        raise CertificateRevoked()
    name = (learner_name or "").strip()
    if not name:
        name = session.scalar(select(User.name).where(User.user_id == certificate.user_id)) or ""
    if not name:
        raise InvalidInput("the learner's name is empty", field="learner_name")
    if len(name) > 255:
        raise InvalidInput("at most 255 characters", field="learner_name")
    document = replace(document_of(session, certificate, platform_name), learner_name=name)
    return ReissueDraft(
        certificate_id=certificate_id,
        revision=certificate.revision,
        learner_name=name,
        document=document,
    )


def complete_reissue(
    session: Session, *, actor: User, draft: ReissueDraft, now: datetime
) -> tuple[Certificate, str | None]:
    """Point the certificate at its re-rendered file, under the same unique id; and the key
    of the file it no longer uses (to delete after the commit). None when another re-issue
    or a revocation came first: the new file is then the one left over."""
    certificate = _locked(session, draft.certificate_id)
    if certificate.revision != draft.revision or certificate.status is not CertificateStatus.VALID:
        raise Conflict("The certificate changed meanwhile; try again")
    old_key = certificate.file_key
    before = certificate.learner_name
    certificate.revision = draft.revision + 1
    certificate.file_key = draft.key
    certificate.learner_name = draft.learner_name
    certificate.reissued_at = now
    session.flush()
    audit(
        session,
        actor=actor,
        action="reissue",
        table_name="certificates",
        row_id=certificate.certificate_id,
        changes={
            "revision": certificate.revision,
            "learner_name": {"from": before, "to": draft.learner_name},
        },
    )
    record(
        session,
        EventType.CERTIFICATE_REISSUED,
        user_id=certificate.user_id,
        course_id=certificate.course_id,
        data={"certificateId": certificate.certificate_id, "revision": certificate.revision},
    )
    return certificate, old_key
