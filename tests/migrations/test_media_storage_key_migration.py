"""Migration 0007: an uploaded row gets the key of the file stored for it; a row naming
another course's file (or repeating one) gets none, and so serves and deletes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import migrations
from core.database import make_sync_engine
from core.settings import Settings
from models import MediaFile, MediaType
from tests.conftest import base_settings, fresh_database_url
from tests.models.factories import make_course

BEFORE = "0006"
KEY = "courses/{course}/0123456789abcdef0123456789abcdef.pdf"

# media_repository as revision 0006 left it.
OLD_MEDIA = sa.table(
    "media_repository",
    sa.column("media_id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("instructor_id", sa.Integer),
    sa.column("media_type", MediaFile.__table__.c.media_type.type),
    sa.column("media_url", sa.String),
    sa.column("index", sa.Integer),
)


@pytest.fixture
def own_settings(
    backend: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Settings:
    settings = base_settings(tmp_path, fresh_database_url(backend, tmp_path_factory, request))
    return settings.model_copy(
        update={"app": settings.app.model_copy(update={"public_url": "https://lms.example.org"})}
    )


@pytest.fixture
def old_engine(own_settings: Settings) -> Iterator[Engine]:
    engine = make_sync_engine(own_settings)
    migrations.upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def migrate(engine: Engine, settings: Settings, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = migrations.alembic_config(connection)
        config.attributes["settings"] = settings
        (command.downgrade if down else command.upgrade)(config, revision)


class TestBackfill:
    def test_only_a_rows_own_courses_file_becomes_its_key(
        self, old_engine: Engine, own_settings: Settings
    ) -> None:
        with Session(old_engine) as session:
            first, second = make_course(session), make_course(session)
            ids = [(c.course_id, c.instructor_id) for c in (first, second)]
            session.commit()
        (own, own_teacher), (other, other_teacher) = ids
        stored = f"https://lms.example.org/media/{KEY.format(course=own)}"
        rows = [
            (own, own_teacher, stored),  # the upload
            (own, own_teacher, stored + "#again"),  # not a key of ours: an external link
            (other, other_teacher, stored),  # another course's file
            (own, own_teacher, "https://cdn.example.com/a.png"),  # an external link
            (own, own_teacher, "https://lms.example.org/media/courses/1/../../settings.toml"),
        ]
        with old_engine.begin() as connection:
            for index, (course, teacher, url) in enumerate(rows):
                connection.execute(
                    OLD_MEDIA.insert().values(
                        course_id=course,
                        instructor_id=teacher,
                        media_type=MediaType.DOCUMENT,
                        media_url=url,
                        index=index,
                    )
                )

        migrate(old_engine, own_settings, "0007")

        with old_engine.connect() as connection:
            found = connection.execute(
                sa.text(
                    "SELECT course_id, media_url, storage_key FROM media_repository"
                    " ORDER BY media_id"
                )
            ).all()
        assert [row.storage_key for row in found] == [
            KEY.format(course=own),
            None,
            None,
            None,
            None,
        ]
        assert [row.media_url for row in found] == [url for *_, url in rows]

    def test_the_downgrade_keeps_the_urls(self, old_engine: Engine, own_settings: Settings) -> None:
        with Session(old_engine) as session:
            course = make_course(session)
            course_id, teacher = course.course_id, course.instructor_id
            session.commit()
        url = f"https://lms.example.org/media/{KEY.format(course=course_id)}"
        with old_engine.begin() as connection:
            connection.execute(
                OLD_MEDIA.insert().values(
                    course_id=course_id,
                    instructor_id=teacher,
                    media_type=MediaType.DOCUMENT,
                    media_url=url,
                    index=0,
                )
            )
        migrate(old_engine, own_settings, "0007")
        migrate(old_engine, own_settings, BEFORE, down=True)
        with old_engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("media_repository")}
            urls = connection.execute(sa.text("SELECT media_url FROM media_repository")).all()
        assert "storage_key" not in columns
        assert [row.media_url for row in urls] == [url]
