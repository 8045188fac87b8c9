"""Migration 0006: card details already stored in the clear come out encrypted (brand, last
four and expiry only), or cleared; never left as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

import models
from core import migrations
from core.crypto import TokenCipher
from core.database import make_sync_engine
from core.settings import Settings
from services.cards import CardSummary, open_card
from tests.conftest import base_settings, fresh_database_url
from tests.models.factories import make_course, make_user

BEFORE = "0005"
VISA = {"brand": "visa", "last4": "4081", "expiry": "12/29"}
# What an early integration might have stored: more than may be kept.
TOO_MUCH = VISA | {"number": "4111111111111111", "cvv": "123"}
NOT_A_SUMMARY = {"brand": "visa", "last4": "4111111111111111"}

# payment_gateway as revision 0005 left it.
OLD_PAYMENTS = sa.table(
    "payment_gateway",
    sa.column("payment_id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("amount", sa.Numeric),
    sa.column("transaction_id", sa.String),
    sa.column("method", sa.String),
    sa.column("card_details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
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
    """A fresh database at revision 0005."""
    engine = make_sync_engine(own_settings)
    migrations.upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def migrate(engine: Engine, settings: Settings, revision: str, *, down: bool = False) -> None:
    """Run Alembic with the caller's settings handed over, as ``lms migrate`` would."""
    with engine.begin() as connection:
        config = migrations.alembic_config(connection)
        config.attributes["settings"] = settings
        (command.downgrade if down else command.upgrade)(config, revision)


def old_payments(engine: Engine, *card_details: dict[str, Any] | None) -> list[int]:
    """One payment per value (each with an enrollment pointing at it), in the old form."""
    with Session(engine) as session:
        payer, course = make_user(session), make_course(session)
        ids = []
        for number, details in enumerate(card_details):
            values = {
                "user_id": payer.user_id,
                "course_id": course.course_id,
                "amount": 10,
                "transaction_id": f"tx_old_{number}",
                "method": "card",
                "card_details": details,
            }
            ids.append(
                session.execute(
                    sa.insert(OLD_PAYMENTS).values(values).returning(OLD_PAYMENTS.c.payment_id)
                ).scalar_one()
            )
        # As the schema was at this revision (the ORM's enrollments have grown since).
        session.execute(
            sa.text(
                "INSERT INTO enrollments (user_id, course_id, payment_id, enrollment_date, status)"
                " VALUES (:user_id, :course_id, :payment_id, CURRENT_TIMESTAMP, 'in_progress')"
            ),
            {"user_id": payer.user_id, "course_id": course.course_id, "payment_id": ids[0]},
        )
        session.commit()
    return ids


def stored(engine: Engine, payment_ids: list[int]) -> list[Any]:
    query = sa.text("SELECT card_details FROM payment_gateway WHERE payment_id = :id")
    with engine.connect() as connection:
        return [connection.execute(query, {"id": id_}).scalar_one() for id_ in payment_ids]


class TestUpgrade:
    def test_encrypts_brand_last_four_and_expiry_and_clears_the_rest(
        self, old_engine: Engine, own_settings: Settings
    ) -> None:
        ids = old_payments(old_engine, VISA, TOO_MUCH, NOT_A_SUMMARY, None)
        migrate(old_engine, own_settings, "head")
        visa, too_much, not_a_summary, none = stored(old_engine, ids)
        cipher = TokenCipher.from_settings(own_settings)
        assert open_card(cipher, visa) == CardSummary(**VISA)
        assert open_card(cipher, too_much) == CardSummary(**VISA)
        assert (not_a_summary, none) == (None, None)
        assert migrations.schema_differences(old_engine, models.Base.metadata) == []

    def test_without_a_key_clears_card_details(self, old_engine: Engine, tmp_path: Path) -> None:
        ids = old_payments(old_engine, VISA, TOO_MUCH)
        no_key = base_settings(tmp_path, "", security={"encryption_key": None})
        migrate(old_engine, no_key, "head")
        assert stored(old_engine, ids) == [None, None]


class TestDowngrade:
    def test_decrypts_back_to_the_summary(self, old_engine: Engine, own_settings: Settings) -> None:
        ids = old_payments(old_engine, TOO_MUCH, None)
        migrate(old_engine, own_settings, "head")
        migrate(old_engine, own_settings, BEFORE, down=True)
        with old_engine.connect() as connection:
            rows = connection.execute(
                sa.select(OLD_PAYMENTS.c.card_details)
                .where(OLD_PAYMENTS.c.payment_id.in_(ids))
                .order_by(OLD_PAYMENTS.c.payment_id)
            ).scalars()
            assert list(rows) == [VISA, None]

    def test_with_another_key_clears_card_details(
        self, old_engine: Engine, own_settings: Settings, tmp_path: Path
    ) -> None:
        ids = old_payments(old_engine, VISA)
        migrate(old_engine, own_settings, "head")
        other_key = base_settings(
            tmp_path, "", security={"encryption_key": Fernet.generate_key().decode()}
        )
        migrate(old_engine, other_key, BEFORE, down=True)
        assert stored(old_engine, ids) == [None]
