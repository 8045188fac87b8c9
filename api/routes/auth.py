"""The Auth Service: registration, sign-in (password or OAuth), sessions, profile, passwords."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, status
from fastapi_users import exceptions as fu
from starlette.concurrency import run_in_threadpool

from api.auth import (
    CurrentUser,
    StrategyDep,
    UserManagerDep,
    access_token_lifetime,
    refresh_token_lifetime,
)
from api.deps import SessionDep, StateDep
from api.envelope import Envelope, error_responses, ok
from api.ratelimit import client_ip, limit_auth_attempts
from api.schemas.auth import (
    ForgotPassword,
    Message,
    PasswordChange,
    PasswordLogin,
    Profile,
    ProfileUpdate,
    ProfileUpdated,
    ProviderLogin,
    RefreshRequest,
    RegisterRequest,
    ResetPassword,
    TokenPair,
    VerifyEmail,
)
from core.errors import Conflict, InvalidInput
from core.passwords import verify_password
from models import User
from services.authentication import authenticate, authenticate_with_provider
from services.sessions import (
    issue_refresh_token,
    revoke_all_for_user,
    revoke_token_family,
    rotate_refresh_token,
)
from services.users import (
    create_user,
    get_by_email,
    hash_new_password,
    normalize_email,
    set_password_hash,
    update_profile,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])


class EmailAlreadyVerified(Conflict):
    message = "Email already verified"


async def _sign_in(
    session: SessionDep, state: StateDep, strategy: StrategyDep, user: User, message: str
) -> TokenPair:
    lifetime = refresh_token_lifetime(state.settings)
    refresh = await session.run_sync(
        lambda s: issue_refresh_token(s, user_id=user.user_id, lifetime=lifetime)
    )
    return TokenPair(
        user_id=user.user_id,
        token=await strategy.write_session_token(user, refresh.family_id),
        refresh_token=refresh.token,
        expires_in=int(access_token_lifetime(state.settings).total_seconds()),
        message=message,
    )


@router.post(
    "/user/register",
    response_model=Envelope[TokenPair],
    responses=error_responses(409, 429),
    summary="Create a student account and sign it in",
)
async def register(
    body: RegisterRequest,
    request: Request,
    session: SessionDep,
    state: StateDep,
    strategy: StrategyDep,
    manager: UserManagerDep,
) -> Envelope[TokenPair]:
    await limit_auth_attempts(state, ip=client_ip(request.scope), email=body.email)
    email = normalize_email(body.email)
    password_hash = await run_in_threadpool(
        hash_new_password, body.password, email=email, name=body.name
    )
    user = await session.run_sync(
        lambda s: create_user(
            s,
            email=email,
            name=body.name,
            password_hash=password_hash,
            phone=body.phone,
            avatar_url=body.avatar_url,
            username=body.username,
        )
    )
    await manager.request_verify(user)  # the email goes out once the account is committed
    return ok(await _sign_in(session, state, strategy, user, "User registered successfully"))


@router.post(
    "/user/login",
    response_model=Envelope[TokenPair],
    responses=error_responses(401, 429, 503),
    summary="Sign in with email and password, or with an OAuth provider's access token",
)
async def login(
    body: Annotated[PasswordLogin | ProviderLogin, Body()],
    request: Request,
    session: SessionDep,
    state: StateDep,
    strategy: StrategyDep,
) -> Envelope[TokenPair]:
    ip = client_ip(request.scope)
    if isinstance(body, PasswordLogin):
        await limit_auth_attempts(state, ip=ip, email=body.email)
        user = await authenticate(session, email=body.email, password=body.password)
    else:
        await limit_auth_attempts(state, ip=ip, email=None)
        user = await authenticate_with_provider(
            session,
            verifier=state.oauth,
            cipher=state.cipher,
            provider=body.provider,
            provider_user_id=body.provider_user_id,
            access_token=body.access_token,
        )
    return ok(await _sign_in(session, state, strategy, user, "Login successful"))


@router.post(
    "/token/refresh",
    response_model=Envelope[TokenPair],
    responses=error_responses(401),
    summary="Exchange a refresh token (single use) for a new token pair",
)
async def refresh(
    body: RefreshRequest, session: SessionDep, state: StateDep, strategy: StrategyDep
) -> Envelope[TokenPair]:
    lifetime = refresh_token_lifetime(state.settings)
    user, issued = await session.run_sync(
        lambda s: rotate_refresh_token(s, token=body.refresh_token, lifetime=lifetime)
    )
    return ok(
        TokenPair(
            user_id=user.user_id,
            token=await strategy.write_session_token(user, issued.family_id),
            refresh_token=issued.token,
            expires_in=int(access_token_lifetime(state.settings).total_seconds()),
            message="Token refreshed successfully",
        )
    )


@router.post(
    "/user/logout", response_model=Envelope[Message], summary="End the session of a refresh token"
)
async def logout(body: RefreshRequest, session: SessionDep) -> Envelope[Message]:
    await session.run_sync(lambda s: revoke_token_family(s, token=body.refresh_token))
    return ok(Message(message="Logged out successfully"))


@router.get(
    "/user/profile",
    response_model=Envelope[Profile],
    responses=error_responses(401, 404),
    summary="The signed-in user's profile",
)
async def get_profile(user: CurrentUser) -> Envelope[Profile]:
    return ok(Profile.model_validate(user))


@router.put(
    "/user/profile",
    response_model=Envelope[ProfileUpdated],
    responses=error_responses(401),
    summary="Change the signed-in user's name and avatar",
)
async def put_profile(
    body: ProfileUpdate, user: CurrentUser, session: SessionDep
) -> Envelope[ProfileUpdated]:
    clear_avatar = "avatar_url" in body.model_fields_set and body.avatar_url is None
    await session.run_sync(
        lambda s: update_profile(
            s, user=user, name=body.name, avatar_url=body.avatar_url, clear_avatar=clear_avatar
        )
    )
    return ok(ProfileUpdated(user_id=user.user_id, message="Profile updated successfully"))


@router.post(
    "/user/password",
    response_model=Envelope[TokenPair],
    responses=error_responses(401),
    summary="Change the password (ends every other session)",
)
async def change_password(
    body: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    state: StateDep,
    strategy: StrategyDep,
) -> Envelope[TokenPair]:
    if not await run_in_threadpool(verify_password, body.current_password, user.password_hash):
        raise InvalidInput("is not the current password", field="current_password")
    new_hash = await run_in_threadpool(
        hash_new_password, body.new_password, email=user.email, name=user.name
    )

    def apply(s: Any) -> None:
        set_password_hash(s, user=user, password_hash=new_hash)
        revoke_all_for_user(s, user_id=user.user_id)

    await session.run_sync(apply)
    return ok(await _sign_in(session, state, strategy, user, "Password changed successfully"))


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[Message],
    responses=error_responses(429),
    summary="Email a password-reset link (the answer never says whether the email exists)",
)
async def forgot_password(
    body: ForgotPassword,
    request: Request,
    session: SessionDep,
    state: StateDep,
    manager: UserManagerDep,
) -> Envelope[Message]:
    await limit_auth_attempts(state, ip=client_ip(request.scope), email=body.email)
    try:
        email = normalize_email(body.email)
    except InvalidInput:
        email = None
    user = await session.run_sync(lambda s: get_by_email(s, email)) if email else None
    if user is not None and user.is_active:
        await manager.forgot_password(user)
    return ok(Message(message="If an account exists for this email, a reset link has been sent"))


@router.post(
    "/password/reset",
    response_model=Envelope[Message],
    summary="Set a new password with the emailed token (ends every session)",
)
async def reset_password(body: ResetPassword, manager: UserManagerDep) -> Envelope[Message]:
    try:
        await manager.reset_password(body.token, body.password)
    except fu.InvalidPasswordException as exc:
        raise InvalidInput(str(exc.reason), field="password") from exc
    except (fu.InvalidResetPasswordToken, fu.UserInactive, fu.UserNotExists) as exc:
        raise InvalidInput("is invalid or has expired", field="token") from exc
    return ok(Message(message="Password reset successfully"))


@router.post(
    "/verify/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[Message],
    responses=error_responses(401, 409),
    summary="Email a new verification link to the signed-in user",
)
async def request_verification(
    user: CurrentUser, request: Request, state: StateDep, manager: UserManagerDep
) -> Envelope[Message]:
    # Each call emails the address: limited like sign-in attempts.
    await limit_auth_attempts(state, ip=client_ip(request.scope), email=user.email)
    try:
        await manager.request_verify(user)
    except fu.UserAlreadyVerified as exc:
        raise EmailAlreadyVerified() from exc
    return ok(Message(message="Verification email sent"))


@router.post(
    "/verify",
    response_model=Envelope[Message],
    responses=error_responses(409),
    summary="Confirm an email address with the emailed token",
)
async def verify_email(body: VerifyEmail, manager: UserManagerDep) -> Envelope[Message]:
    try:
        await manager.verify(body.token)
    except fu.UserAlreadyVerified as exc:
        raise EmailAlreadyVerified() from exc
    except (fu.InvalidVerifyToken, fu.UserInactive, fu.UserNotExists) as exc:
        raise InvalidInput("is invalid or has expired", field="token") from exc
    return ok(Message(message="Email verified successfully"))
