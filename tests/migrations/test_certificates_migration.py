"""Migration 0012: the certificates made before it (no document, an id of the old form)
become reservations with the names as certified and an id verification can find; the job
then issues them. The downgrade keeps the rows."""

from __future__ import annotations

import re
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
from services.certificates import canonical_unique_id
from tests.conftest import base_settings, fresh_database_url
from tests.models.factories import make_course, make_user

BEFORE = "0011"

# certificates as revision 0011 left it.
OLD_CERTIFICATES = sa.table(
    "certificates",
    sa.column("certificate_id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("unique_id", sa.String),
    sa.column("certificate_url", sa.String),
    sa.column("verification_url", sa.String),
)


@pytest.fixture
def own_settings(
    backend: str,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Settings:
    return base_settings(tmp_path, fresh_database_url(backend, tmp_path_factory, request))


@pytest.fixture
def old_engine(own_settings: Settings) -> Iterator[Engine]:
    engine = make_sync_engine(own_settings)
    migrations.upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = migrations.alembic_config(connection)
        (command.downgrade if down else command.upgrade)(config, revision)


def test_old_certificates_become_findable_reservations_with_their_names(
    old_engine: Engine,
) -> None:
    with Session(old_engine) as session:
        learner = make_user(session, name="Ada Obi")
        course = make_course(session, title="SQL Basics")
        session.commit()
        ids = (learner.user_id, course.course_id)
    with old_engine.begin() as connection:
        connection.execute(
            OLD_CERTIFICATES.insert().values(
                user_id=ids[0],
                course_id=ids[1],
                unique_id="pZ3x-old_token_urlsafe",
                certificate_url="http://127.0.0.1:8000/api/certificates/pZ3x-old_token_urlsafe/download",
                verification_url="http://127.0.0.1:8000/verify/pZ3x-old_token_urlsafe",
            )
        )

    migrate(old_engine, "head")

    with old_engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT status, unique_id, learner_name, course_title, certificate_url, "
                "verification_url, file_key, revision FROM certificates"
            )
        ).one()
    status, unique_id, name, title, download, link, key, revision = row
    assert (status, name, title, key, revision) == ("issuing", "Ada Obi", "SQL Basics", None, 1)
    assert re.fullmatch(r"CERT(-[0-9A-HJKMNP-TV-Z]{4}){4}", unique_id)
    assert canonical_unique_id(unique_id) == unique_id  # what verification looks up
    assert link == f"http://127.0.0.1:8000/verify/{unique_id}"
    assert download is None  # made when the PDF is stored

    migrate(old_engine, BEFORE, down=True)
    with old_engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM certificates")).scalar() == 1
