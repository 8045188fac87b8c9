"""Creating users: one rule set for the CLI, the API and the admin panel."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from core.errors import InvalidInput
from core.passwords import has_usable_password, verify_password
from models import Role
from services.users import EmailAlreadyRegistered, UsernameTaken, create_user


@pytest.fixture
def session(db: Session) -> Session:
    """These tests talk to the database through this one session only: each runs in a
    transaction that is rolled back afterwards (``db`` in tests/conftest.py), no wipe."""
    return db


class TestCreateUser:
    def test_creates_a_student_with_an_argon2id_hash(self, session: Session) -> None:
        user = create_user(session, email="Ada@Example.COM ", password="s3cret-pass", name=" Ada ")
        assert user.user_id is not None
        assert user.email == "ada@example.com"
        assert user.name == "Ada"
        assert user.role is Role.STUDENT
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert verify_password("s3cret-pass", user.password_hash)
        assert not verify_password("wrong-pass", user.password_hash)

    def test_derives_a_unique_username_from_the_email(self, session: Session) -> None:
        first = create_user(session, email="j.doe@example.com", password="password1", name="J")
        second = create_user(session, email="j.doe@example.org", password="password1", name="J")
        third = create_user(session, email="j.doe@example.net", password="password1", name="J")
        assert [first.username, second.username, third.username] == ["j_doe", "j_doe2", "j_doe3"]

    def test_an_email_registers_once_whatever_its_case(self, session: Session) -> None:
        create_user(session, email="ada@example.com", password="password1", name="Ada")
        with pytest.raises(EmailAlreadyRegistered, match="Email already registered"):
            create_user(session, email="ADA@example.com", password="password1", name="Ada")

    def test_an_explicit_username_must_be_free(self, session: Session) -> None:
        create_user(session, email="a@example.com", password="password1", name="A", username="ada")
        with pytest.raises(UsernameTaken):
            create_user(
                session, email="b@example.com", password="password1", name="B", username="ada"
            )

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"email": "not-an-email"}, "email: not a valid email address"),
            ({"password": "short"}, "password: must be at least 8 characters"),
            ({"password": "ada@example.com"}, "password: must not be the email"),
            ({"name": "   "}, "name: must not be empty"),
            ({"phone": "call me"}, "phone: not a valid phone number"),
        ],
    )
    def test_refuses_bad_input_with_a_clear_message(
        self, session: Session, values: dict[str, str], message: str
    ) -> None:
        arguments = {"email": "ada@example.com", "password": "password1", "name": "Ada"} | values
        with pytest.raises(InvalidInput, match=message):
            create_user(session, **arguments)  # type: ignore[arg-type]

    def test_accepts_international_phone_numbers(self, session: Session) -> None:
        user = create_user(
            session,
            email="p@example.com",
            password="password1",
            name="P",
            phone="+234 803 123 4567",
        )
        assert user.phone == "+234 803 123 4567"

    def test_an_oauth_only_account_has_no_password(self, session: Session) -> None:
        user = create_user(session, email="o@example.com", password=None, name="O")
        assert not has_usable_password(user.password_hash)
        assert not verify_password("anything", user.password_hash)
        assert not verify_password(user.password_hash, user.password_hash)
