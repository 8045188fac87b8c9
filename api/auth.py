"""Identity for every endpoint: fastapi-users on the seed's ``users`` table, JWT access tokens,
and the authorization helpers (current user, roles, ownership).

fastapi-users supplies the access-token strategy, the bearer transport, the current-user
dependency and the signed single-purpose tokens (password reset, email verification). Our
rules (password policy, sessions, profile) stay in ``services`` and are called from here.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi_users import BaseUserManager, FastAPIUsers, IntegerIDMixin, InvalidPasswordException
from fastapi_users import exceptions as fu
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.jwt import SecretType, generate_jwt
from fastapi_users.password import PasswordHelper
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from api.deps import SessionDep, SettingsDep
from api.ratelimit import ACCESS_TOKEN_AUDIENCE
from core.crypto import TokenCipher
from core.errors import Forbidden, InvalidInput, NotFound
from core.events import EventType
from core.passwords import password_hasher
from core.settings import Settings
from models import Role, User
from services.sessions import live_session_user, revoke_all_for_user
from services.users import account_email, check_password, parse_user_id

# Every token we read must say when it ends and whom it is for; one without is refused.
REQUIRED_CLAIMS = ["exp", "sub", "aud"]


def decode_claims(
    token: str, secret: SecretType, audience: str, *, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The claims of a token we signed, with ``exp``, ``sub`` (and ``extra``) required."""
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        audience=[audience],
        algorithms=["HS256"],
        options={"require": [*REQUIRED_CLAIMS, *extra]},
    )
    return claims


class UserDatabase(SQLAlchemyUserDatabase[User, int]):
    """fastapi-users' adapter, flushing instead of committing: the request owns the transaction."""

    async def create(self, create_dict: dict[str, Any]) -> User:
        user = User(**create_dict)
        self.session.add(user)
        await self.session.flush()
        return user

    async def update(self, user: User, update_dict: dict[str, Any]) -> User:
        for key, value in update_dict.items():
            setattr(user, key, value)
        await self.session.flush()
        return user

    async def delete(self, user: User) -> None:
        await self.session.delete(user)
        await self.session.flush()


class UserManager(IntegerIDMixin, BaseUserManager[User, int]):
    def __init__(self, user_db: UserDatabase, settings: Settings) -> None:
        super().__init__(user_db, PasswordHelper(password_hasher()))
        secret = jwt_secret(settings)
        self.reset_password_token_secret = secret
        self.verification_token_secret = secret
        self.reset_password_token_lifetime_seconds = settings.security.reset_token_minutes * 60
        self.verification_token_lifetime_seconds = settings.security.verify_token_hours * 3600
        self.session: AsyncSession = user_db.session
        self.cipher = TokenCipher.from_settings(settings)

    def parse_id(self, value: Any) -> int:
        # A ``sub`` outside the id column's range must be a refusal, not an OverflowError.
        try:
            return parse_user_id(value)
        except InvalidInput as exc:
            raise fu.InvalidID() from exc

    async def verify(self, token: str, request: Request | None = None) -> User:
        # fastapi-users accepts a verification token without ``exp``: refuse it first.
        try:
            decode_claims(
                token,
                self.verification_token_secret,
                self.verification_token_audience,
                extra=("email",),
            )
        except jwt.PyJWTError as exc:
            raise fu.InvalidVerifyToken() from exc
        return await super().verify(token, request)

    # fastapi-users hashes inside its async methods, on the event loop (an Argon2 hash
    # stalls every request for about 0.1 s). These two are its own steps, with the hashing
    # moved to a worker thread; the tokens are the same.
    async def forgot_password(self, user: User, request: Request | None = None) -> None:
        if not user.is_active:
            raise fu.UserInactive()
        fingerprint = await run_in_threadpool(self.password_helper.hash, user.hashed_password)
        token = generate_jwt(
            {
                "sub": str(user.id),
                "password_fgpt": fingerprint,
                "aud": self.reset_password_token_audience,
            },
            self.reset_password_token_secret,
            self.reset_password_token_lifetime_seconds,
        )
        await self.on_after_forgot_password(user, token, request)

    async def reset_password(
        self, token: str, password: str, request: Request | None = None
    ) -> User:
        try:
            data = decode_claims(
                token,
                self.reset_password_token_secret,
                self.reset_password_token_audience,
                extra=("password_fgpt",),
            )
            user = await self.get(self.parse_id(data["sub"]))
            fingerprint = str(data["password_fgpt"])
        except (jwt.PyJWTError, KeyError, fu.InvalidID) as exc:
            raise fu.InvalidResetPasswordToken() from exc
        valid, _ = await run_in_threadpool(
            self.password_helper.verify_and_update, user.hashed_password, fingerprint
        )
        if not valid:
            raise fu.InvalidResetPasswordToken()
        if not user.is_active:
            raise fu.UserInactive()
        await self.validate_password(password, user)
        new_hash = await run_in_threadpool(self.password_helper.hash, password)
        updated = await self.user_db.update(user, {"hashed_password": new_hash})
        await self.on_after_reset_password(user, request)
        return updated

    async def validate_password(self, password: str, user: Any) -> None:
        # zxcvbn is CPU work: off the event loop, like the hash that follows.
        try:
            await run_in_threadpool(
                check_password, password, email=user.email, name=getattr(user, "name", None)
            )
        except InvalidInput as exc:
            raise InvalidPasswordException(reason=exc.problem) from exc

    async def on_after_forgot_password(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        await self._account_email(EventType.ACCOUNT_PASSWORD_RESET, user, token)

    async def on_after_request_verify(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        await self._account_email(EventType.ACCOUNT_VERIFY_EMAIL, user, token)

    async def _account_email(self, kind: EventType, user: User, token: str) -> None:
        # Through the outbox, in this request's transaction: the email waits out a queue
        # outage. The token is stored encrypted, and only until the email is sent.
        ciphertext = self.cipher.encrypt(token)
        await self.session.run_sync(
            lambda sync: account_email(
                sync, kind, user_id=user.user_id, token_ciphertext=ciphertext
            )
        )

    async def on_after_reset_password(self, user: User, request: Request | None = None) -> None:
        # A reset password means the old one may be known: end every session.
        await self.session.run_sync(lambda s: revoke_all_for_user(s, user_id=user.user_id))


def jwt_secret(settings: Settings) -> str:
    if settings.security.jwt_secret is None:
        raise RuntimeError("security.jwt_secret is not set")
    return settings.security.jwt_secret.get_secret_value()


def access_token_lifetime(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.security.access_token_minutes)


def refresh_token_lifetime(settings: Settings) -> timedelta:
    return timedelta(days=settings.security.refresh_token_days)


def get_user_db(session: SessionDep) -> UserDatabase:
    return UserDatabase(session, User)


def get_user_manager(
    user_db: Annotated[UserDatabase, Depends(get_user_db)], settings: SettingsDep
) -> UserManager:
    return UserManager(user_db, settings)


SESSION_CLAIM = "sid"


class SessionJWTStrategy(JWTStrategy[User, int]):
    """Access tokens bound to their sign-in: the ``sid`` claim names the refresh-token family.

    Reading a token loads its user only while that sign-in is alive and the user active, in
    one query: logout, a password change or reset and deactivation end the access tokens
    of the sessions they end at once, not when the tokens expire.
    """

    async def write_token(self, user: User) -> str:
        raise TypeError("an access token belongs to a sign-in: use write_session_token")

    async def write_session_token(self, user: User, session_id: str) -> str:
        claims = {"sub": str(user.user_id), "aud": self.token_audience, SESSION_CLAIM: session_id}
        return generate_jwt(claims, self.encode_key, self.lifetime_seconds, self.algorithm)

    async def read_token(
        self, token: str | None, user_manager: BaseUserManager[User, int]
    ) -> User | None:
        if token is None or not isinstance(user_manager, UserManager):
            return None
        try:
            claims = decode_claims(
                token, self.decode_key, ACCESS_TOKEN_AUDIENCE, extra=(SESSION_CLAIM,)
            )
            user_id = user_manager.parse_id(claims["sub"])
        except (jwt.PyJWTError, fu.InvalidID):
            return None
        session_id = claims[SESSION_CLAIM]
        if not isinstance(session_id, str):
            return None
        return await user_manager.session.run_sync(
            lambda s: live_session_user(s, user_id=user_id, family_id=session_id)
        )


def get_jwt_strategy(settings: SettingsDep) -> SessionJWTStrategy:
    return SessionJWTStrategy(
        secret=jwt_secret(settings),
        lifetime_seconds=int(access_token_lifetime(settings).total_seconds()),
        token_audience=[ACCESS_TOKEN_AUDIENCE],
    )


bearer = BearerTransport(tokenUrl="/api/auth/user/login")
auth_backend = AuthenticationBackend(name="jwt", transport=bearer, get_strategy=get_jwt_strategy)
fastapi_users = FastAPIUsers[User, int](get_user_manager, [auth_backend])

# Missing, invalid, expired token, or a deactivated user: 401.
current_user = fastapi_users.current_user(active=True)
optional_user = fastapi_users.current_user(active=True, optional=True)

CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
UserManagerDep = Annotated[UserManager, Depends(get_user_manager)]
StrategyDep = Annotated[SessionJWTStrategy, Depends(get_jwt_strategy)]


def require_roles(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency: the signed-in user, who must hold one of ``roles`` (else 403)."""

    async def dependency(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden()
        return user

    return dependency


def ensure_owner_or_admin(user: User, owner_id: int | None, not_found: NotFound) -> None:
    """Another user's private record answers exactly like a missing one: existence is not leaked."""
    if user.role is not Role.ADMIN and owner_id != user.user_id:
        raise not_found
