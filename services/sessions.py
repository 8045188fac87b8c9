"""Sign-in sessions: refresh tokens that rotate on every use, grouped in families.

One family per sign-in. ``rotate`` spends a token and issues its successor in one atomic
step (a conditional UPDATE, so two concurrent refreshes with the same token cannot both
win). Presenting a spent token again means someone else holds a copy: the whole family is
revoked and both parties must sign in again.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import Unauthorized
from models import RefreshToken, User


class InvalidRefreshToken(Unauthorized):
    message = "Invalid or expired refresh token"


class RefreshTokenReused(Unauthorized):
    message = "Refresh token already used; sign in again"
    # The family's revocation must survive the refusal.
    keep_changes = True


@dataclass(frozen=True)
class IssuedRefreshToken:
    token: str
    family_id: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_refresh_token(
    session: Session, *, user_id: int, lifetime: timedelta, family_id: str | None = None
) -> IssuedRefreshToken:
    token = secrets.token_urlsafe(48)
    family = family_id or str(uuid.uuid4())
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family,
            token_hash=_digest(token),
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return IssuedRefreshToken(token, family)


def rotate_refresh_token(
    session: Session, *, token: str, lifetime: timedelta
) -> tuple[User, IssuedRefreshToken]:
    """Spend ``token`` and return its owner with the next token of the same family."""
    now = utcnow()
    digest = _digest(token)
    spent = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == digest,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(RefreshToken.user_id, RefreshToken.family_id)
    ).one_or_none()
    if spent is None:
        _refuse(session, digest)
    user_id, family_id = spent
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidRefreshToken()
    return user, issue_refresh_token(
        session, user_id=user_id, lifetime=lifetime, family_id=family_id
    )


def _refuse(session: Session, digest: str) -> NoReturn:
    row = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == digest)).first()
    if row is not None and row.used_at is not None and row.revoked_at is None:
        revoke_family(session, family_id=row.family_id)
        raise RefreshTokenReused()
    raise InvalidRefreshToken()


def revoke_family(session: Session, *, family_id: str) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_token_family(session: Session, *, token: str) -> None:
    """Sign out: end the session the token belongs to (unknown tokens are ignored)."""
    family_id = session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == _digest(token))
    )
    if family_id is not None:
        revoke_family(session, family_id=family_id)


def revoke_all_for_user(session: Session, *, user_id: int) -> None:
    """Sign out everywhere (after a password change or reset, or deactivation)."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def live_session_user(session: Session, *, user_id: int, family_id: str) -> User | None:
    """The active user of an access token whose sign-in (``family_id``) is still alive.

    One query on every authenticated request: the user's row, only if one of the family's
    refresh tokens is neither revoked nor expired. Revoking the family (logout, password
    change or reset, deactivation) therefore ends its access tokens at once. A panel
    sign-in never backs an API token.
    """
    alive = (
        select(RefreshToken.token_id)
        .where(
            RefreshToken.family_id == family_id,
            RefreshToken.user_id == User.user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > utcnow(),
            ~RefreshToken.family_id.startswith(PANEL_FAMILY_PREFIX),
        )
        .exists()
    )
    return session.scalars(
        select(User).where(User.user_id == user_id, User.is_active.is_(True), alive)
    ).one_or_none()


# -- admin panel sign-ins ----------------------------------------------------------------------
# A panel sign-in is a row of the same table, so signing out, a password change and
# deactivation end it like any other session. It is born spent (``used_at`` set), so it can
# never be exchanged for API tokens: presenting it to the refresh endpoint counts as reuse
# and revokes it.

PANEL_FAMILY_PREFIX = "panel-"


def issue_panel_session(session: Session, *, user_id: int, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(48)
    session.add(
        RefreshToken(
            user_id=user_id,
            # Within the column's 36 characters, like the UUIDs of API sign-ins.
            family_id=f"{PANEL_FAMILY_PREFIX}{uuid.uuid4().hex[:30]}",
            token_hash=_digest(token),
            expires_at=utcnow() + lifetime,
            used_at=utcnow(),
        )
    )
    session.flush()
    return token


def panel_session_user(session: Session, *, token: str) -> User | None:
    """The active user a live panel sign-in belongs to, or None."""
    user_id = session.scalar(
        select(RefreshToken.user_id).where(
            RefreshToken.token_hash == _digest(token),
            RefreshToken.family_id.startswith(PANEL_FAMILY_PREFIX),
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > utcnow(),
        )
    )
    user = session.get(User, user_id) if user_id is not None else None
    return user if user is not None and user.is_active else None
