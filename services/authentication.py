"""Signing in: by password and through an OAuth provider.

Async, because both halves wait on something slow that must not block the event loop: the
Argon2 verification (run in a worker thread) and the provider's answer (HTTP). The API and
the admin panel's login both call these.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from core.crypto import TokenCipher
from core.errors import InvalidInput, ServiceUnavailable, Unauthorized
from core.passwords import verify_password
from integrations.oauth import (
    OAuthVerifier,
    Provider,
    ProviderNotConfigured,
    ProviderUnavailable,
    TokenRejected,
)
from models import User
from services.oauth import sign_in_with_provider
from services.users import normalize_email


class InvalidCredentials(Unauthorized):
    message = "Invalid credentials"


class ProviderOff(ServiceUnavailable):
    message = "This sign-in provider is not available"


class ProviderDown(ServiceUnavailable):
    message = "The sign-in provider is unavailable; try again shortly"


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User:
    """The active user with this email and password; the same refusal whatever was wrong."""
    try:
        normalized: str | None = normalize_email(email)
    except InvalidInput:
        normalized = None
    user = None
    if normalized is not None:
        user = await session.scalar(select(User).where(User.email == normalized))
    # Verify even when there is no such user, so timing does not reveal which emails exist.
    valid = await run_in_threadpool(verify_password, password, user.password_hash if user else None)
    if user is None or not valid or not user.is_active:
        raise InvalidCredentials()
    return user


async def authenticate_with_provider(
    session: AsyncSession,
    *,
    verifier: OAuthVerifier,
    cipher: TokenCipher,
    provider: Provider,
    provider_user_id: str,
    access_token: str,
) -> User:
    try:
        identity = await verifier.identify(provider, access_token)
    except TokenRejected as exc:
        raise InvalidCredentials() from exc
    except ProviderUnavailable as exc:
        raise ProviderDown() from exc
    except ProviderNotConfigured as exc:
        raise ProviderOff(f"Sign-in with {provider.capitalize()} is not available") from exc
    if identity.provider_user_id != provider_user_id:
        raise InvalidCredentials()
    return await session.run_sync(
        lambda sync: sign_in_with_provider(
            sync, identity=identity, access_token=access_token, cipher=cipher
        )
    )
