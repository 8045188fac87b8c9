"""Media rows own their stored file (storage_key).

``media_repository.storage_key`` (nullable, unique) names the file an upload stored for the
row; files are served and deleted by it, never by the row's URL. The backfill gives a row
the key its URL names when that key is one of its own course's (``courses/<course_id>/...``)
and no earlier row of the course already took it. A row whose URL names another course's
file (or repeats one) gets no key: its URL stays as a dead link that serves and deletes
nothing, and the file stays with the row it was uploaded for.

Which URLs are ours depends on the store the platform was configured with: the settings the
caller hands over (``config.attributes["settings"]``), else the process's, as ``lms migrate``
reads them. The URL rules are copied here, not imported: a migration is a snapshot. Without
settings no row gets a key (nothing is served or deleted by mistake; the files remain).

Revision ID: 0007
Revises: 0006
"""

import logging
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from core.errors import ConfigurationError
from core.settings import Settings, get_settings

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
# The keys uploads make: courses/<course id>/<32 hex digits><extension>.
_KEY = re.compile(r"courses/(\d+)/[0-9a-f]{32}(\.[a-z0-9]{1,8})?")

media = sa.table(
    "media_repository",
    sa.column("media_id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("media_url", sa.String),
    sa.column("storage_key", sa.String),
)


def _url_prefix() -> str | None:
    """The start of every URL the configured store made, up to the key."""
    settings: Settings | None = context.config.attributes.get("settings")
    try:
        settings = settings or get_settings()
    except (ConfigurationError, ValueError):
        return None
    store = settings.storage
    if store.backend == "s3":
        if store.s3_endpoint_url:
            root = f"{store.s3_endpoint_url.rstrip('/')}/{store.s3_bucket}"
        else:
            root = f"https://{store.s3_bucket}.s3.{store.s3_region}.amazonaws.com"
        prefix = store.s3_prefix.strip("/")
        return f"{root}/{prefix}/" if prefix else f"{root}/"
    return f"{settings.app.public_url.rstrip('/')}/media/"


def _backfill() -> None:
    prefix = _url_prefix()
    if prefix is None:
        log.warning("no settings: media rows keep their URLs and get no storage key")
        return
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(media.c.media_id, media.c.course_id, media.c.media_url).order_by(media.c.media_id)
    )
    taken: set[str] = set()
    for media_id, course_id, url in rows.all():
        key = url.removeprefix(prefix) if url.startswith(prefix) else None
        match = _KEY.fullmatch(key) if key is not None else None
        if key is None or match is None or int(match.group(1)) != course_id or key in taken:
            if key is not None:
                log.warning("media %s names a file that is not its own: left without key", media_id)
            continue
        taken.add(key)
        bind.execute(sa.update(media).where(media.c.media_id == media_id).values(storage_key=key))


def upgrade() -> None:
    op.add_column("media_repository", sa.Column("storage_key", sa.String(255), nullable=True))
    op.create_index(
        "ix_media_repository_storage_key", "media_repository", ["storage_key"], unique=True
    )
    _backfill()


def downgrade() -> None:
    # The URLs stay: an uploaded row is served by its URL again, as before.
    with op.batch_alter_table("media_repository") as batch:
        batch.drop_index("ix_media_repository_storage_key")
        batch.drop_column("storage_key")
