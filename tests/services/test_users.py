"""Creating users: one rule set for the CLI, the API and the admin panel."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.errors import InvalidInput
from core.passwords import has_usable_password, verify_password
from models import Role, User
from services.users import (
    EmailAlreadyRegistered,
    LastAdmin,
    OwnAccount,
    UsernameTaken,
    check_password,
    create_user,
    delete_user,
    set_active,
    update_user,
)
from tests.models.factories import make_user


@pytest.fixture
def session(db: Session) -> Session:
    """These tests talk to the database through this one session only: each runs in a
    transaction that is rolled back afterwards (``db`` in tests/conftest.py), no wipe."""
    return db


class TestCreateUser:
    def test_creates_a_student_with_an_argon2id_hash(self, session: Session) -> None:
        user = create_user(
            session, email="Ada@Example.COM ", password="s3cret-lantern-pass", name=" Ada "
        )
        assert user.user_id is not None
        assert user.email == "ada@example.com"
        assert user.name == "Ada"
        assert user.role is Role.STUDENT
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password("s3cret-lantern-pass", user.password_hash)
        assert not verify_password("wrong-pass", user.password_hash)

    def test_derives_a_unique_username_from_the_email(self, session: Session) -> None:
        first = create_user(
            session, email="j.doe@example.com", password="plum-lantern-42", name="J"
        )
        second = create_user(
            session, email="j.doe@example.org", password="plum-lantern-42", name="J"
        )
        third = create_user(
            session, email="j.doe@example.net", password="plum-lantern-42", name="J"
        )
        assert [first.username, second.username, third.username] == ["j_doe", "j_doe2", "j_doe3"]

    def test_an_email_registers_once_whatever_its_case(self, session: Session) -> None:
        create_user(session, email="ada@example.com", password="plum-lantern-42", name="Ada")
        with pytest.raises(EmailAlreadyRegistered, match="Email already registered"):
            create_user(session, email="ADA@example.com", password="plum-lantern-42", name="Ada")

    def test_an_explicit_username_must_be_free(self, session: Session) -> None:
        create_user(
            session, email="a@example.com", password="plum-lantern-42", name="A", username="ada"
        )
        with pytest.raises(UsernameTaken):
            create_user(
                session, email="b@example.com", password="plum-lantern-42", name="B", username="ada"
            )

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"email": "not-an-email"}, "email: not a valid email address"),
            ({"password": "short"}, "password: must be at least 8 characters"),
            ({"password": "ada@example.com"}, "password: must not be the email"),
            ({"password": "password"}, "password: is too easy to guess: This is a top-10 common"),
            ({"password": "weakpassword"}, "password: is too easy to guess: "),
            ({"password": "ada-lovelace"}, "password: is too easy to guess: "),
            ({"name": "   "}, "name: must not be empty"),
            ({"phone": "call me"}, "phone: not a valid phone number"),
        ],
    )
    def test_refuses_bad_input_with_a_clear_message(
        self, session: Session, values: dict[str, str], message: str
    ) -> None:
        arguments = {
            "email": "ada@example.com",
            "password": "plum-lantern-42",
            "name": "Ada Lovelace",
        } | values
        with pytest.raises(InvalidInput, match=message):
            create_user(session, **arguments)  # type: ignore[arg-type]

    def test_accepts_international_phone_numbers(self, session: Session) -> None:
        user = create_user(
            session,
            email="p@example.com",
            password="plum-lantern-42",
            name="P",
            phone="+234 803 123 4567",
        )
        assert user.phone == "+234 803 123 4567"

    def test_an_oauth_only_account_has_no_password(self, session: Session) -> None:
        user = create_user(session, email="o@example.com", password=None, name="O")
        assert not has_usable_password(user.password_hash)
        assert not verify_password("anything", user.password_hash)
        assert not verify_password(user.password_hash, user.password_hash)


class TestPasswordStrength:
    """One policy (zxcvbn, score 3 of 4) for every way a password is set."""

    def test_the_reason_comes_with_the_refusal(self) -> None:
        with pytest.raises(InvalidInput, match="is too easy to guess: This is a top-10 common"):
            check_password("password", email="ada@example.com")

    def test_the_users_own_email_and_name_count_as_guessable(self) -> None:
        check_password("zorblatquintex", email="x@example.com", name="Bob")
        with pytest.raises(InvalidInput, match="is too easy to guess"):
            check_password("zorblatquintex", email="zorblatquintex@example.com", name="Bob")

    def test_a_long_password_is_scored_quickly(self) -> None:
        started = time.perf_counter()
        check_password("correct horse battery staple " * 4, email="ada@example.com")
        assert time.perf_counter() - started < 0.5


class TestTheLastActiveAdmin:
    def test_the_only_admin_is_not_demoted_deactivated_or_deleted(self, session: Session) -> None:
        admin = make_user(session, role=Role.ADMIN)
        other = make_user(session, role=Role.INSTRUCTOR)
        with pytest.raises(LastAdmin):
            update_user(session, admin, {"role": Role.STUDENT}, admin)
        with pytest.raises(LastAdmin):
            update_user(session, admin, {"is_active": False}, other)
        with pytest.raises(LastAdmin):
            delete_user(session, admin, other)
        assert (admin.role, admin.is_active) == (Role.ADMIN, True)

    def test_nobody_deletes_or_deactivates_their_own_account(self, session: Session) -> None:
        make_user(session, role=Role.ADMIN)
        admin = make_user(session, role=Role.ADMIN)
        with pytest.raises(OwnAccount):
            delete_user(session, admin, admin)
        with pytest.raises(OwnAccount):
            update_user(session, admin, {"is_active": False}, admin)

    def test_a_deactivated_account_can_be_reactivated(self, session: Session) -> None:
        admin = make_user(session, role=Role.ADMIN)
        student = make_user(session)
        set_active(session, student, admin, active=False)
        set_active(session, student, admin, active=True)
        assert student.is_active


class TestTwoAdminsDemotingEachOther:
    def test_on_postgresql_one_of_them_stays_admin(self, engine: Engine, backend: str) -> None:
        if backend != "postgresql":
            pytest.skip("row locks are PostgreSQL's; SQLite has a single writer")
        factory = sessionmaker(engine, expire_on_commit=False)
        with factory() as setup:
            first, second = make_user(setup, role=Role.ADMIN), make_user(setup, role=Role.ADMIN)
            setup.commit()
            ids = first.user_id, second.user_id
        outcome: list[str] = []

        def demote(actor_id: int, target_id: int, hold: threading.Event | None) -> None:
            with factory() as s:
                try:
                    target, actor = s.get_one(User, target_id), s.get_one(User, actor_id)
                    update_user(s, target, {"role": Role.STUDENT}, actor)
                    if hold is not None:
                        hold.wait(5)
                    s.commit()
                    outcome.append("demoted")
                except LastAdmin:
                    s.rollback()
                    outcome.append("refused")

        release = threading.Event()
        one = threading.Thread(target=demote, args=(ids[0], ids[1], release))
        one.start()
        # The first transaction holds the admins' rows; the second must wait for it.
        two = threading.Thread(target=demote, args=(ids[1], ids[0], None))
        two.start()
        two.join(0.3)
        release.set()
        one.join()
        two.join()
        assert sorted(outcome) == ["demoted", "refused"]
        with factory() as check:
            admins = check.scalars(select(User).where(User.role == Role.ADMIN)).all()
            assert len(admins) == 1
