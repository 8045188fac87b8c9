"""Signing in through an OAuth provider: find the linked user, link by verified email, or
create the user; the provider's tokens are kept encrypted in ``user_accounts``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import TokenCipher
from core.errors import Conflict, InvalidInput, Unauthorized
from core.passwords import unusable_password_hash
from integrations.oauth import ProviderIdentity
from models import User, UserAccount
from services.sessions import revoke_all_for_user
from services.users import create_user, get_by_email, normalize_email


class UnverifiedEmailCollision(Conflict):
    message = (
        "An account with this email already exists; sign in with your password, "
        "then link this provider"
    )


class AccountDeactivated(Unauthorized):
    message = "Invalid credentials"


def sign_in_with_provider(
    session: Session, *, identity: ProviderIdentity, access_token: str, cipher: TokenCipher
) -> User:
    account = session.scalars(
        select(UserAccount).where(
            UserAccount.provider == identity.provider,
            UserAccount.provider_user_id == identity.provider_user_id,
        )
    ).one_or_none()
    if account is not None:
        user = session.get(User, account.user_id)
        assert user is not None  # the foreign key guarantees it
    else:
        user = _user_for_new_link(session, identity)
        account = UserAccount(
            user_id=user.user_id,
            provider=identity.provider,
            provider_user_id=identity.provider_user_id,
        )
        session.add(account)
    if not user.is_active:
        raise AccountDeactivated()
    account.access_token = cipher.encrypt(access_token)
    session.flush()
    return user


def _user_for_new_link(session: Session, identity: ProviderIdentity) -> User:
    if not identity.email:
        raise InvalidInput("the provider did not share an email address", field="access_token")
    email = normalize_email(identity.email)
    existing = get_by_email(session, email)
    if existing is not None:
        # Linking on an address the provider has not verified would let anyone who types
        # someone else's email at the provider take over their account here.
        if not identity.email_verified:
            raise UnverifiedEmailCollision()
        if not existing.is_verified:
            # Nobody proved owning this address before; the provider just did. Whoever
            # registered it (perhaps not its owner) loses the password and sessions they set.
            existing.password_hash = unusable_password_hash()
            existing.is_verified = True
            revoke_all_for_user(session, user_id=existing.user_id)
        return existing
    return create_user(
        session,
        email=email,
        name=identity.name or email.split("@", 1)[0],
        avatar_url=identity.avatar_url if _is_http(identity.avatar_url) else None,
        is_verified=identity.email_verified,
    )


def _is_http(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("http://", "https://")) and len(str(url)) <= 255
