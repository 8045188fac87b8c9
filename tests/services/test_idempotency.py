"""Idempotency keys: the first request under a key runs, a retry gets the first answer, the
same key for another request is refused, and old answers are forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from models import IdempotencyKey, User
from services.idempotency import (
    KEEP,
    KeyReused,
    StillRunning,
    claim,
    fingerprint,
    forget_before,
    release,
    remember,
)
from tests.models.factories import make_user

SECRET = b"test-only-idempotency-secret"
ROUTE = "POST /api/payments/initiate"
BODY = {"userId": 1, "courseId": 2, "amount": "5000.00", "method": "paystack"}
ANSWER = {"status": "success", "data": {"transactionId": "tx-1", "amount": 5000.0}}


@pytest.fixture
def session(db: Session) -> Session:
    return db


@pytest.fixture
def user(session: Session) -> User:
    return make_user(session)


def keys(session: Session) -> list[IdempotencyKey]:
    session.expire_all()
    return list(session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.idempotency_id)))


class TestClaim:
    def test_the_first_request_under_a_key_runs(self, session: Session, user: User) -> None:
        assert claim(session, user_id=user.user_id, key="k1", fingerprint="f1") is None
        (row,) = keys(session)
        assert (row.user_id, row.key, row.fingerprint) == (user.user_id, "k1", "f1")
        assert (row.status_code, row.response) == (None, None)

    def test_a_retry_while_the_first_is_unanswered_is_told_to_wait(
        self, session: Session, user: User
    ) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        with pytest.raises(StillRunning) as caught:
            claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        assert caught.value.status_code == 409
        assert len(keys(session)) == 1

    def test_a_retry_after_the_answer_gets_the_same_answer(
        self, session: Session, user: User
    ) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        remember(session, user_id=user.user_id, key="k1", status_code=201, response=ANSWER)
        assert claim(session, user_id=user.user_id, key="k1", fingerprint="f1") == (201, ANSWER)
        assert claim(session, user_id=user.user_id, key="k1", fingerprint="f1") == (201, ANSWER)

    def test_the_same_key_for_another_request_is_refused(
        self, session: Session, user: User
    ) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        remember(session, user_id=user.user_id, key="k1", status_code=201, response=ANSWER)
        with pytest.raises(KeyReused) as caught:
            claim(session, user_id=user.user_id, key="k1", fingerprint="f2")
        assert caught.value.status_code == 409

    def test_another_request_is_refused_even_while_the_first_runs(
        self, session: Session, user: User
    ) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        with pytest.raises(KeyReused):
            claim(session, user_id=user.user_id, key="k1", fingerprint="f2")

    def test_keys_are_per_user(self, session: Session, user: User) -> None:
        other = make_user(session)
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        remember(session, user_id=user.user_id, key="k1", status_code=201, response=ANSWER)
        # The other user's "k1" is a key of its own: it runs, whatever its fingerprint.
        assert claim(session, user_id=other.user_id, key="k1", fingerprint="f2") is None
        assert claim(session, user_id=user.user_id, key="k2", fingerprint="f2") is None
        assert [(row.user_id, row.key) for row in keys(session)] == [
            (user.user_id, "k1"),
            (other.user_id, "k1"),
            (user.user_id, "k2"),
        ]


class TestRemember:
    def test_stores_the_answer_of_that_users_key_only(self, session: Session, user: User) -> None:
        other = make_user(session)
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        claim(session, user_id=other.user_id, key="k1", fingerprint="f1")
        remember(session, user_id=user.user_id, key="k1", status_code=402, response={"e": 1})
        mine, theirs = keys(session)
        assert (mine.status_code, mine.response) == (402, {"e": 1})
        assert (theirs.status_code, theirs.response) == (None, None)


class TestRelease:
    def test_frees_a_key_whose_first_request_failed(self, session: Session, user: User) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        release(session, user_id=user.user_id, key="k1")
        assert keys(session) == []
        # A retry, even of another body, now runs as a first request.
        assert claim(session, user_id=user.user_id, key="k1", fingerprint="f2") is None

    def test_keeps_a_key_that_has_its_answer(self, session: Session, user: User) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        remember(session, user_id=user.user_id, key="k1", status_code=201, response=ANSWER)
        release(session, user_id=user.user_id, key="k1")
        assert claim(session, user_id=user.user_id, key="k1", fingerprint="f1") == (201, ANSWER)

    def test_frees_only_that_users_key(self, session: Session, user: User) -> None:
        other = make_user(session)
        claim(session, user_id=user.user_id, key="k1", fingerprint="f1")
        claim(session, user_id=other.user_id, key="k1", fingerprint="f1")
        release(session, user_id=other.user_id, key="k1")
        assert [row.user_id for row in keys(session)] == [user.user_id]


class TestForgetBefore:
    def test_forgets_keys_made_before_the_cutoff(self, session: Session, user: User) -> None:
        for key in ("old", "older", "new"):
            claim(session, user_id=user.user_id, key=key, fingerprint="f")
        now = utcnow()
        session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key.in_(["old", "older"]))
            .values(created_at=now - KEEP - timedelta(minutes=1))
        )
        assert forget_before(session, now - KEEP) == 2
        assert [row.key for row in keys(session)] == ["new"]
        # A forgotten key is a new key again.
        assert claim(session, user_id=user.user_id, key="old", fingerprint="other") is None

    def test_keeps_answers_for_a_day(self) -> None:
        assert timedelta(hours=24) == KEEP

    def test_nothing_to_forget(self, session: Session, user: User) -> None:
        claim(session, user_id=user.user_id, key="k1", fingerprint="f")
        assert forget_before(session, utcnow() - KEEP) == 0
        assert len(keys(session)) == 1


class TestFingerprint:
    def test_equal_for_a_retry(self) -> None:
        assert fingerprint(SECRET, ROUTE, BODY) == fingerprint(SECRET, ROUTE, dict(BODY))

    def test_the_order_of_the_bodys_fields_does_not_matter(self) -> None:
        reordered = dict(reversed(list(BODY.items())))
        assert fingerprint(SECRET, ROUTE, BODY) == fingerprint(SECRET, ROUTE, reordered)

    def test_differs_by_route(self) -> None:
        other_route = "POST /api/payments/refund"
        assert fingerprint(SECRET, ROUTE, BODY) != fingerprint(SECRET, other_route, BODY)

    def test_differs_by_body(self) -> None:
        assert fingerprint(SECRET, ROUTE, BODY) != fingerprint(
            SECRET, ROUTE, BODY | {"courseId": 3}
        )
        assert fingerprint(SECRET, ROUTE, BODY) != fingerprint(SECRET, ROUTE, {})

    def test_is_keyed(self) -> None:
        assert fingerprint(SECRET, ROUTE, BODY) != fingerprint(b"another-secret", ROUTE, BODY)

    def test_a_hex_sha256_that_shows_nothing_of_the_body(self) -> None:
        number = "4084084084084081"
        digest = fingerprint(SECRET, ROUTE, BODY | {"cardDetails": {"number": number}})
        assert len(digest) == 64
        assert set(digest) <= set("0123456789abcdef")
        assert number not in digest
