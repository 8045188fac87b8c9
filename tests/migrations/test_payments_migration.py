"""Migration 0010: before the index allowing one pending card payment per learner and course,
of several pending card payments of one learner and course all but the newest become failed,
marked for an admin to look at; nothing else changes. Down and up again works."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import models
from core import migrations
from core.database import make_sync_engine
from core.settings import Settings
from tests.conftest import base_settings, fresh_database_url
from tests.models.factories import make_course, make_user

BEFORE = "0009"
REVISION = "0010"
REASON = (
    "Failed by migration 0010: a newer card payment of this learner for this course was pending"
)

# payment_gateway as revision 0009 left it (the columns these tests write).
OLD_PAYMENTS = sa.table(
    "payment_gateway",
    sa.column("payment_id", sa.Integer),
    sa.column("user_id", sa.Integer),
    sa.column("course_id", sa.Integer),
    sa.column("amount", sa.Numeric),
    sa.column("transaction_id", sa.String),
    sa.column("method", sa.String),
    sa.column("payment_status", sa.String),
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
    """A fresh database at revision 0009."""
    engine = make_sync_engine(own_settings)
    migrations.upgrade(engine, BEFORE)
    yield engine
    engine.dispose()


def migrate(engine: Engine, settings: Settings, revision: str, *, down: bool = False) -> None:
    with engine.begin() as connection:
        config = migrations.alembic_config(connection)
        config.attributes["settings"] = settings
        (command.downgrade if down else command.upgrade)(config, revision)


@dataclass(frozen=True)
class People:
    ada: int
    bola: int
    python: int
    design: int


@pytest.fixture
def people(old_engine: Engine) -> People:
    with Session(old_engine) as session:
        ada, bola = make_user(session), make_user(session)
        python, design = make_course(session), make_course(session)
        made = People(ada.user_id, bola.user_id, python.course_id, design.course_id)
        session.commit()
    return made


_references = itertools.count(1)
# What the database says when the one-pending-card-payment index refuses a row.
ONE_PENDING_CARD = (
    r"uq_payment_gateway_one_pending_card"
    r"|UNIQUE constraint failed: payment_gateway\.user_id, payment_gateway\.course_id"
)


def insert(engine: Engine, *rows: tuple[int, int, str, str]) -> list[int]:
    """Payments (learner, course, method, status) in the old form, in this order; their ids."""
    ids: list[int] = []
    with engine.begin() as connection:
        for user_id, course_id, method, status in rows:
            values = {
                "user_id": user_id,
                "course_id": course_id,
                "amount": 49.99,
                "transaction_id": f"tx-old-{next(_references)}",
                "method": method,
                "payment_status": status,
            }
            ids.append(
                connection.execute(
                    sa.insert(OLD_PAYMENTS).values(values).returning(OLD_PAYMENTS.c.payment_id)
                ).scalar_one()
            )
    return ids


def found(engine: Engine, ids: list[int]) -> list[tuple[str, str | None]]:
    """(status, review reason) of each payment, in the order of ``ids``."""
    reviewed = sa.table(
        "payment_gateway",
        sa.column("payment_id", sa.Integer),
        sa.column("payment_status", sa.String),
        sa.column("review_reason", sa.String),
    )
    query = sa.select(reviewed).where(reviewed.c.payment_id.in_(ids))
    with engine.connect() as connection:
        rows = {
            row.payment_id: (row.payment_status, row.review_reason)
            for row in connection.execute(query)
        }
    return [rows[i] for i in ids]


def statuses(engine: Engine, ids: list[int]) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(OLD_PAYMENTS.c.payment_id, OLD_PAYMENTS.c.payment_status).where(
                OLD_PAYMENTS.c.payment_id.in_(ids)
            )
        ).all()
    by_id = {payment_id: status for payment_id, status in rows}
    return [by_id[i] for i in ids]


def columns(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {column["name"] for column in sa.inspect(connection).get_columns("payment_gateway")}


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


class TestUpgrade:
    def test_of_several_pending_card_payments_only_the_newest_stays_pending(
        self, old_engine: Engine, own_settings: Settings, people: People
    ) -> None:
        ada, python = people.ada, people.python
        ids = insert(
            old_engine,
            (ada, python, "card", "pending"),
            (ada, python, "card", "pending"),
            (ada, python, "card", "pending"),
        )
        migrate(old_engine, own_settings, REVISION)
        assert found(old_engine, ids) == [
            ("failed", REASON),
            ("failed", REASON),
            ("pending", None),
        ]

    def test_every_other_payment_is_untouched(
        self, old_engine: Engine, own_settings: Settings, people: People
    ) -> None:
        p = people
        rows: list[tuple[int, int, str, str]] = [
            (p.ada, p.python, "card", "pending"),  # 0: older pending card: failed
            (p.ada, p.python, "paystack", "pending"),  # 1: a checkout, not a card
            (p.ada, p.python, "card", "success"),  # 2: settled already
            (p.ada, p.python, "card", "failed"),  # 3: settled already
            (p.ada, p.design, "card", "pending"),  # 4: the only one of its course
            (p.bola, p.python, "card", "pending"),  # 5: another learner's: older, failed
            (p.ada, p.python, "paystack", "pending"),  # 6: another checkout
            (p.ada, p.python, "card", "pending"),  # 7: the newest of ada's python cards
            (p.bola, p.python, "card", "pending"),  # 8: the newest of bola's
            (p.bola, p.design, "card", "refunded"),  # 9
        ]
        ids = insert(old_engine, *rows)
        before = self.everything_but_status(old_engine)
        migrate(old_engine, own_settings, REVISION)
        assert found(old_engine, ids) == [
            ("failed", REASON),
            ("pending", None),
            ("success", None),
            ("failed", None),
            ("pending", None),
            ("failed", REASON),
            ("pending", None),
            ("pending", None),
            ("pending", None),
            ("refunded", None),
        ]
        # Apart from the status of the two it failed, every row is as it was.
        assert self.everything_but_status(old_engine) == before

    def everything_but_status(self, engine: Engine) -> list[tuple[Any, ...]]:
        query = sa.text(
            "SELECT payment_id, user_id, course_id, amount, currency, transaction_id, method, "
            "payment_date, paystack_reference, created_at, updated_at "
            "FROM payment_gateway ORDER BY payment_id"
        )
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]

    def test_nothing_to_fail_changes_nothing(
        self, old_engine: Engine, own_settings: Settings, people: People
    ) -> None:
        ids = insert(
            old_engine,
            (people.ada, people.python, "card", "pending"),
            (people.bola, people.python, "card", "pending"),
        )
        migrate(old_engine, own_settings, REVISION)
        assert found(old_engine, ids) == [("pending", None), ("pending", None)]

    def test_then_the_database_allows_one_pending_card_payment(
        self, old_engine: Engine, own_settings: Settings, people: People
    ) -> None:
        insert(old_engine, *[(people.ada, people.python, "card", "pending")] * 2)
        migrate(old_engine, own_settings, REVISION)
        with pytest.raises(IntegrityError, match=ONE_PENDING_CARD):
            insert(old_engine, (people.ada, people.python, "card", "pending"))
        # Not a pending card payment: allowed.
        insert(
            old_engine,
            (people.ada, people.python, "paystack", "pending"),
            (people.ada, people.python, "card", "failed"),
        )

    def test_leaves_the_schema_the_models_declare(
        self, old_engine: Engine, own_settings: Settings, people: People
    ) -> None:
        insert(old_engine, *[(people.ada, people.python, "card", "pending")] * 2)
        migrate(old_engine, own_settings, "head")
        assert migrations.schema_differences(old_engine, models.Base.metadata) == []


class TestDowngrade:
    NEW_COLUMNS: ClassVar[set[str]] = {
        "access_code",
        "authorization_url",
        "gateway_response",
        "review_reason",
        "refund_status",
        "refund_reference",
        "refunded_at",
    }

    def test_removes_what_it_added_and_keeps_the_payments(
        self, old_engine: Engine, own_settings: Settings, people: People
    ) -> None:
        ids = insert(old_engine, *[(people.ada, people.python, "card", "pending")] * 2)
        migrate(old_engine, own_settings, REVISION)
        assert columns(old_engine) >= self.NEW_COLUMNS
        migrate(old_engine, own_settings, BEFORE, down=True)
        assert not self.NEW_COLUMNS & columns(old_engine)
        assert not {"payment_events", "idempotency_keys"} & tables(old_engine)
        # What was failed stays failed: the payments themselves are history.
        assert statuses(old_engine, ids) == ["failed", "pending"]
        # The index is gone: 0009 allowed a second pending card payment.
        insert(old_engine, (people.ada, people.python, "card", "pending"))

    def test_and_up_again(self, old_engine: Engine, own_settings: Settings, people: People) -> None:
        first = insert(old_engine, *[(people.ada, people.python, "card", "pending")] * 2)
        migrate(old_engine, own_settings, REVISION)
        migrate(old_engine, own_settings, BEFORE, down=True)
        again = insert(old_engine, (people.ada, people.python, "card", "pending"))
        migrate(old_engine, own_settings, REVISION)
        # The first upgrade's reason went with its column; the second fails the one that
        # is no longer the newest.
        assert found(old_engine, first + again) == [
            ("failed", None),
            ("failed", REASON),
            ("pending", None),
        ]
        assert migrations.current_revision(old_engine) == REVISION
        with pytest.raises(IntegrityError, match=ONE_PENDING_CARD):
            insert(old_engine, (people.ada, people.python, "card", "pending"))
