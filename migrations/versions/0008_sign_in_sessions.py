"""Access tokens bound to their sign-in.

No schema change: an access token names its refresh-token family (claim ``sid``) and each
request looks the family up through ``ix_refresh_tokens_family_id``, which already exists.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
