"""Certificates: a status (issuing, valid, revoked), the stored document and its revision,
the names as certified, revocation.

A certificate is ``valid`` only once its PDF is stored (``file_key``); until then the row is
``issuing``, a reservation nobody but the issuer sees. Rows made before this revision have
no document: they become ``issuing`` and the certificate job finishes them (renders and
stores their PDF). Nobody could have seen them, so they get ids of the new form
(``CERT-XXXX-XXXX-XXXX-XXXX``, the only form verification looks up) and new links.

Revision ID: 0012
Revises: 0011
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_CHECK = "status IN ('issuing', 'valid', 'revoked')"
# services.certificates.new_unique_id as of this revision (a migration keeps its own copy:
# the service may change, what this revision wrote may not).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

certificates = sa.table(
    "certificates",
    sa.column("certificate_id", sa.Integer),
    sa.column("unique_id", sa.String),
    sa.column("verification_url", sa.String),
    sa.column("certificate_url", sa.String),
)


def _new_unique_id() -> str:
    characters = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(["CERT", *(characters[i : i + 4] for i in range(0, 16, 4))])


def _renew_ids() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            certificates.c.certificate_id,
            certificates.c.unique_id,
            certificates.c.verification_url,
        )
    ).all()
    for certificate_id, old, link in rows:
        new = _new_unique_id()
        bind.execute(
            certificates.update()
            .where(certificates.c.certificate_id == certificate_id)
            .values(
                unique_id=new,
                verification_url=link.replace(old, new) if link else None,
                # The download link is made when the PDF is stored.
                certificate_url=None,
            )
        )


def upgrade() -> None:
    # Nothing references certificates: SQLite may rebuild the table to add the CHECKs.
    with op.batch_alter_table("certificates", recreate="auto") as batch:
        batch.add_column(
            sa.Column("status", sa.String(20), server_default="issuing", nullable=False)
        )
        batch.add_column(
            sa.Column("learner_name", sa.String(255), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("course_title", sa.String(255), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("file_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("reissued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("revocation_reason", sa.String(500), nullable=True))
        batch.create_check_constraint(
            op.f("ck_certificates_certificate_status"), sa.text(_STATUS_CHECK)
        )
        batch.create_check_constraint(
            op.f("ck_certificates_issued_has_file"),
            sa.text("status = 'issuing' OR file_key IS NOT NULL"),
        )
        batch.create_check_constraint(
            op.f("ck_certificates_revoked_has_date"),
            sa.text("status <> 'revoked' OR revoked_at IS NOT NULL"),
        )
    # The names as certified, for the rows the job will finish.
    op.execute(
        "UPDATE certificates SET "
        "learner_name = COALESCE((SELECT name FROM users "
        "WHERE users.user_id = certificates.user_id), ''), "
        "course_title = COALESCE((SELECT title FROM courses "
        "WHERE courses.course_id = certificates.course_id), '')"
    )
    _renew_ids()


def downgrade() -> None:
    with op.batch_alter_table("certificates", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_certificates_revoked_has_date"), type_="check")
        batch.drop_constraint(op.f("ck_certificates_issued_has_file"), type_="check")
        batch.drop_constraint(op.f("ck_certificates_certificate_status"), type_="check")
        for column in (
            "revocation_reason",
            "revoked_at",
            "reissued_at",
            "revision",
            "file_key",
            "course_title",
            "learner_name",
            "status",
        ):
            batch.drop_column(column)
