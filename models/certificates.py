"""Proof of completion: ``certificates``, one per learner and course.

A row is the certificate, its PDF is a file in the storage adapter (``file_key``), and the
row names the file only once the file is stored: a row still ``issuing`` reserves the
learner's certificate and its unique id while the document is rendered, and nobody but the
issuer sees it (see ``services.certificates``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from models.base import Base, db_enum
from models.courses import Course
from models.enums import CertificateStatus
from models.users import User


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        # A certificate anyone can see has its document; a revoked one says when.
        CheckConstraint("status = 'issuing' OR file_key IS NOT NULL", name="issued_has_file"),
        CheckConstraint("status <> 'revoked' OR revoked_at IS NOT NULL", name="revoked_has_date"),
    )

    certificate_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id", ondelete="RESTRICT"))
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.course_id", ondelete="RESTRICT"), index=True
    )
    certificate_url: Mapped[str | None] = mapped_column(String(255))
    issue_date: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Unguessable public identifier used in verification links (CERT-XXXX-XXXX-XXXX-XXXX).
    unique_id: Mapped[str] = mapped_column(String(50), unique=True)
    verification_url: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[CertificateStatus] = mapped_column(
        db_enum(CertificateStatus, "certificate_status", native=False),
        default=CertificateStatus.ISSUING,
        server_default=CertificateStatus.ISSUING.value,
    )
    # The names as certified: a learner renaming their account later changes neither the
    # document nor what the verification page says (an admin re-issues for a correction).
    learner_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    course_title: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # The stored PDF (storage adapter key); each re-issue stores a new revision of it.
    file_key: Mapped[str | None] = mapped_column(String(255))
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reissued_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(lazy="raise")
    course: Mapped[Course] = relationship(lazy="raise")
