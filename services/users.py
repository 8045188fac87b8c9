"""Accounts: identity rules (email, password, phone, username, avatar) and the operations that
create and change users. The API, the admin panel and the CLI all come through here."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.events import EventType
from core.passwords import hash_password, unusable_password_hash
from models import Role, User
from services.notifications import notify
from services.sessions import revoke_all_for_user

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
# zxcvbn's scale runs 0-4; 3 is its "safely unguessable" (about 10^8 guesses and more).
PASSWORD_MIN_SCORE = 3
# zxcvbn's cost grows with the length; past this many characters the rest adds nothing.
PASSWORD_SCORED_CHARS = 72
# Ids are the users table's INTEGER column: anything outside it names no one.
USER_ID_MAX = 2**31 - 1
NAME_MAX = 100
URL_MAX = 255
USERNAME_MAX = 50
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,17}[0-9]$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")
_USERNAME_CHARS = re.compile(r"[^a-z0-9_]+")


class EmailAlreadyRegistered(Conflict):
    message = "Email already registered"


class UsernameTaken(Conflict):
    message = "Username already taken"


class UserNotFound(NotFound):
    message = "User not found"


class LastAdmin(Conflict):
    message = "The last active admin cannot be removed, deactivated or demoted"


class OwnAccount(Forbidden):
    message = "You cannot delete or deactivate your own account"


def parse_user_id(value: object) -> int:
    """A user id from outside (a token's ``sub``): digits, within the id column's range."""
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > len(str(USER_ID_MAX)):
        raise InvalidInput("is not a user id", field="sub")
    user_id = int(text)
    if not 1 <= user_id <= USER_ID_MAX:
        raise InvalidInput("is not a user id", field="sub")
    return user_id


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"not a valid email address ({exc})", field="email") from exc


def check_password(
    password: str,
    *,
    email: str,
    name: str | None = None,
    min_length: int = PASSWORD_MIN_LENGTH,
) -> None:
    """The password policy, for every way a password is set (registration, change, reset,
    the panel, the data API, the CLI). zxcvbn costs a few milliseconds of CPU: async
    callers run this in a worker thread (``hash_new_password`` already is)."""
    if len(password) < min_length:
        raise InvalidInput(f"must be at least {min_length} characters", field="password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(f"must be at most {PASSWORD_MAX_LENGTH} characters", field="password")
    if password.strip().lower() == email.lower():
        raise InvalidInput("must not be the email address", field="password")
    # Common passwords, the user's own email or name, keyboard walks, dates...
    inputs = [email, *email.split("@", 1)[:1], name or "", *(name or "").split()]
    result = zxcvbn(password[:PASSWORD_SCORED_CHARS], user_inputs=[i for i in inputs if i])
    if result["score"] < PASSWORD_MIN_SCORE:
        feedback = result["feedback"]
        hint = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
        hint = hint or "Add another word or two. Uncommon words are better."
        raise InvalidInput(f"is too easy to guess: {hint}", field="password")


def hash_new_password(password: str, *, email: str, name: str | None = None) -> str:
    """Check a new password against the rules and hash it (slow: async callers use a thread)."""
    check_password(password, email=email, name=name)
    return hash_password(password)


def check_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    if not _PHONE.match(phone.strip()):
        raise InvalidInput("not a valid phone number", field="phone")
    return phone.strip()


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("must not be empty", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"must be at most {NAME_MAX} characters", field="name")
    return name


def check_avatar_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("must be an http(s) URL", field="avatar_url")
    if len(url) > URL_MAX:
        raise InvalidInput(f"must be at most {URL_MAX} characters", field="avatar_url")
    return url


def check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise InvalidInput(
            "must be 3-50 letters, digits, dots, dashes or underscores", field="username"
        )
    return username


def _username_base(email: str) -> str:
    base = _USERNAME_CHARS.sub("_", email.split("@", 1)[0].lower()).strip("_")
    return (base or "user")[: USERNAME_MAX - 6].ljust(3, "_")


def available_username(session: Session, email: str) -> str:
    """A username derived from the email, with the smallest free numeric suffix."""
    base = _username_base(email)
    taken = set(session.scalars(select(User.username).where(User.username.startswith(base))).all())
    if base not in taken:
        return base
    suffix = 2
    while f"{base}{suffix}" in taken:
        suffix += 1
    return f"{base}{suffix}"


def get_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str | None = None,
    password_hash: str | None = None,
    role: Role = Role.STUDENT,
    phone: str | None = None,
    avatar_url: str | None = None,
    username: str | None = None,
    is_verified: bool = False,
    is_active: bool = True,
) -> User:
    """Create a user, all or nothing.

    Give ``password`` (checked and hashed here) or a ``password_hash`` made by
    :func:`hash_new_password` (async callers hash in a thread); neither makes an account that
    signs in only through OAuth.
    """
    email = normalize_email(email)
    user = User(
        email=email,
        name=check_name(name),
        role=role,
        phone=check_phone(phone),
        avatar_url=check_avatar_url(avatar_url),
        is_verified=is_verified,
        is_active=is_active,
        password_hash=password_hash or unusable_password_hash(),
    )
    if password is not None:
        user.password_hash = hash_new_password(password, email=email, name=name)
    if get_by_email(session, email) is not None:
        raise EmailAlreadyRegistered()
    if username is not None:
        if session.scalar(select(func.count()).where(User.username == check_username(username))):
            raise UsernameTaken()
        user.username = username
    else:
        user.username = available_username(session, email)
    # The checks above answer the common case; the unique constraints decide the races.
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as exc:
        if get_by_email(session, email) is not None:
            raise EmailAlreadyRegistered() from exc
        raise UsernameTaken() from exc
    return user


def update_profile(
    session: Session,
    *,
    user: User,
    name: str | None = None,
    avatar_url: str | None = None,
    clear_avatar: bool = False,
) -> User:
    if name is None and avatar_url is None and not clear_avatar:
        raise InvalidInput("give at least one of name or avatarUrl", field="body")
    if name is not None:
        user.name = check_name(name)
    if avatar_url is not None or clear_avatar:
        user.avatar_url = check_avatar_url(avatar_url)
    session.flush()
    return user


def set_password_hash(session: Session, *, user: User, password_hash: str) -> None:
    user.password_hash = password_hash
    session.flush()


def hash_password_field(values: dict[str, Any]) -> dict[str, Any]:
    """Replace a new account's ``password`` by its ``password_hash`` (checked against the
    rules first). Slow on purpose (Argon2): callers run it in a worker thread."""
    password = values.pop("password", None)
    if password is not None:
        email = normalize_email(str(values.get("email", "")))
        name = values.get("name")
        values["password_hash"] = hash_new_password(
            password, email=email, name=str(name) if name is not None else None
        )
    return values


def create_user_as_admin(session: Session, values: dict[str, Any], actor: User) -> User:
    """An admin creates an account of any role (without a password, its owner sets one
    through the password-reset email). A password comes hashed (``hash_password_field``);
    a plain one is hashed here, for sync callers."""
    return create_user(
        session,
        email=values["email"],
        name=values["name"],
        password=values.get("password"),
        password_hash=values.get("password_hash"),
        role=values.get("role") or Role.STUDENT,
        phone=values.get("phone"),
        avatar_url=values.get("avatar_url"),
        username=values.get("username"),
        is_verified=bool(values.get("is_verified", False)),
        # An admin may create an account switched off (to open it later).
        is_active=bool(values.get("is_active", True)),
    )


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse when ``user`` is the last active admin.

    The active admins' rows are locked (SELECT ... FOR UPDATE on PostgreSQL) before they are
    counted: two admins demoting each other at once are serialised, and the second one
    counts again after the first has committed, so the platform never ends up with none.
    (SQLite has one writer at a time: the second write waits or fails, never both pass.)
    """
    admins = session.scalars(
        select(User.user_id)
        .where(User.role == Role.ADMIN, User.is_active.is_(True))
        .with_for_update()
    ).all()
    if set(admins) <= {user.user_id}:
        raise LastAdmin()


def _loses_admin(user: User, values: dict[str, Any]) -> bool:
    if user.role is not Role.ADMIN or not user.is_active:
        return False
    demoted = "role" in values and values["role"] != Role.ADMIN
    deactivated = "is_active" in values and not values["is_active"]
    return demoted or deactivated


def update_user(session: Session, user: User, values: dict[str, Any], actor: User) -> None:
    """An admin changes an account; deactivating it ends its sessions at once.

    Nobody deactivates their own account, and the last active admin stays one.
    """
    if "is_active" in values and not values["is_active"] and user.user_id == actor.user_id:
        raise OwnAccount()
    if _loses_admin(user, values):
        _keep_an_admin(session, user)
    if "email" in values:
        email = normalize_email(values["email"])
        other = get_by_email(session, email)
        if other is not None and other.user_id != user.user_id:
            raise EmailAlreadyRegistered()
        user.email = email
    if "username" in values:
        username = check_username(values["username"])
        taken = session.scalar(
            select(func.count()).where(User.username == username, User.user_id != user.user_id)
        )
        if taken:
            raise UsernameTaken()
        user.username = username
    if "name" in values:
        user.name = check_name(values["name"])
    if "phone" in values:
        user.phone = check_phone(values["phone"])
    if "avatar_url" in values:
        user.avatar_url = check_avatar_url(values["avatar_url"])
    for flag in ("role", "is_verified"):
        if flag in values:
            setattr(user, flag, values[flag])
    if "is_active" in values:
        user.is_active = bool(values["is_active"])
        if not user.is_active:
            revoke_all_for_user(session, user_id=user.user_id)
    session.flush()


def set_active(session: Session, user: User, actor: User, *, active: bool) -> None:
    """Deactivate (every session ends at once) or re-activate an account."""
    update_user(session, user, {"is_active": active}, actor)


def delete_user(session: Session, user: User, actor: User) -> None:
    """Delete an account: never one's own, never the last active admin."""
    if user.user_id == actor.user_id:
        raise OwnAccount()
    if user.role is Role.ADMIN and user.is_active:
        _keep_an_admin(session, user)
    session.execute(delete(User).where(User.user_id == user.user_id))


_ACCOUNT_MESSAGES = {
    EventType.ACCOUNT_PASSWORD_RESET: (
        "Reset your password",
        "We sent you a link to reset your password.",
    ),
    EventType.ACCOUNT_VERIFY_EMAIL: (
        "Confirm your email address",
        "We sent you a link to confirm your email.",
    ),
}


def account_email(
    session: Session, kind: EventType, *, user_id: int, token_ciphertext: str
) -> None:
    """A password-reset or verification email; the token travels encrypted and is never
    part of a stored message."""
    subject, message = _ACCOUNT_MESSAGES[kind]
    notify(session, kind, user_id=user_id, subject=subject, message=message, token=token_ciphertext)
