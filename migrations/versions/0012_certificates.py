"""Certificates: a status (issuing, valid, revoked), the stored document and its revision,
the names as certified, revocation.

A certificate is ``valid`` only once its PDF is stored (``file_key``); until then the row is
``issuing``, a reservation nobody but the issuer sees. Rows made before this revision have
no document: they become ``issuing`` and the certificate job finishes them (renders and
stores their PDF), keeping their unique ids and links.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_CHECK = "status IN ('issuing', 'valid', 'revoked')"


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
