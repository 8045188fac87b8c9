"""Password hashing: Argon2id through pwdlib, the hasher fastapi-users uses too, so the auth
endpoints, the admin login and the CLI all read and write the same hashes.

Hashing is deliberately slow (tens of milliseconds of CPU); async code calls these through a
worker thread so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when an account does not exist, so a miss costs the same time as a hit.
_DUMMY_HASH = _hasher.hash("timing-equaliser")


# Marks an account with no password (made through OAuth): no password matches it.
_UNUSABLE_PREFIX = "!"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def unusable_password_hash() -> str:
    # Random, so a password-reset token made for one such account fits no other.
    return _UNUSABLE_PREFIX + secrets.token_urlsafe(32)


def has_usable_password(password_hash: str | None) -> bool:
    return bool(password_hash) and not str(password_hash).startswith(_UNUSABLE_PREFIX)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None or not has_usable_password(password_hash):
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def password_hasher() -> PasswordHash:
    return _hasher
