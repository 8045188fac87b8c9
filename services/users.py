"""Accounts: creating users with validated, normalised identity and a hashed password."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput
from core.passwords import hash_password
from models import Role, User

PASSWORD_MIN_LENGTH = 8
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,18}[0-9]$")
_USERNAME_CHARS = re.compile(r"[^a-z0-9_]+")
USERNAME_MAX = 50


class EmailAlreadyRegistered(Conflict):
    message = "Email already registered"


class UsernameTaken(Conflict):
    message = "Username already taken"


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"Invalid email address: {exc}") from exc


def check_password(password: str, *, email: str, min_length: int = PASSWORD_MIN_LENGTH) -> None:
    if len(password) < min_length:
        raise InvalidInput(f"Password must be at least {min_length} characters")
    if password.strip().lower() == email.lower():
        raise InvalidInput("Password must not be the email address")


def check_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    if not _PHONE.match(phone.strip()):
        raise InvalidInput("Invalid phone number")
    return phone.strip()


def _username_base(email: str) -> str:
    base = _USERNAME_CHARS.sub("_", email.split("@", 1)[0].lower()).strip("_")
    return (base or "user")[: USERNAME_MAX - 6]


def available_username(session: Session, email: str) -> str:
    """A username derived from the email, with the smallest free numeric suffix."""
    base = _username_base(email)
    taken = set(session.scalars(select(User.username).where(User.username.like(f"{base}%"))).all())
    if base not in taken:
        return base
    suffix = 2
    while f"{base}{suffix}" in taken:
        suffix += 1
    return f"{base}{suffix}"


def email_exists(session: Session, email: str) -> bool:
    query = select(func.count()).select_from(User).where(User.email == email)
    return bool(session.scalar(query))


def create_user(
    session: Session,
    *,
    email: str,
    password: str | None,
    name: str,
    role: Role = Role.STUDENT,
    phone: str | None = None,
    avatar_url: str | None = None,
    username: str | None = None,
) -> User:
    """Create a user; ``password=None`` makes an account that can only sign in through OAuth."""
    email = normalize_email(email)
    name = name.strip()
    if not name:
        raise InvalidInput("Name must not be empty")
    if password is not None:
        check_password(password, email=email)
    if email_exists(session, email):
        raise EmailAlreadyRegistered()
    if username is not None:
        taken = session.scalar(select(func.count()).where(User.username == username))
        if taken:
            raise UsernameTaken()
    user = User(
        email=email,
        username=username or available_username(session, email),
        password_hash=hash_password(password) if password is not None else None,
        name=name,
        role=role,
        phone=check_phone(phone),
        avatar_url=avatar_url,
    )
    session.add(user)
    session.flush()
    return user
