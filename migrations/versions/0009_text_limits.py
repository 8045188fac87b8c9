"""Maximum lengths for the text columns that had none: a course's description (20,000
characters), a notification's message (5,000) and a delivery attempt's error (1,000, what
the delivery code keeps). Longer values are refused by the API and the panel before they get
here; the column types make the database say so too.

Existing longer values are cut to the new length first (the error column is already cut by
the code that writes it).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length, nullable)
LIMITS = (
    ("courses", "description", 20_000, False),
    ("notifications", "message", 5000, False),
    ("notification_log", "error", 1000, True),
)


def _sqlite() -> bool:
    # SQLite stores both types as TEXT and enforces no length: rebuilding ``courses`` (which
    # other tables reference) for a name would gain nothing.
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    for table, column, length, nullable in LIMITS:
        op.execute(
            sa.text(
                f"UPDATE {table} SET {column} = substr({column}, 1, {length}) "  # noqa: S608
                f"WHERE length({column}) > {length}"
            )
        )
        if _sqlite():
            continue
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.Text(),
                type_=sa.String(length),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    if _sqlite():
        return
    for table, column, length, nullable in LIMITS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column,
                existing_type=sa.String(length),
                type_=sa.Text(),
                existing_nullable=nullable,
            )
