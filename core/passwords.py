"""Password hashing: Argon2id through pwdlib, the hasher fastapi-users uses too, so the auth
endpoints, the admin login and the CLI all read and write the same hashes."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        # Still spend the time of a verification so timing does not reveal the account.
        _hasher.hash(password)
        return False
    return _hasher.verify(password, password_hash)


def password_hasher() -> PasswordHash:
    return _hasher
