"""Requests and answers of the auth endpoints (the seed's Auth Service, plus sessions)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.base import CamelModel
from integrations.oauth import Provider
from models import Role

# Lengths bound what reaches the services; the services check meaning (format, policy).
Email = Field(min_length=3, max_length=100)
Password = Field(min_length=1, max_length=128)


class RegisterRequest(CamelModel):
    email: str = Email
    password: str = Password
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    avatar_url: str | None = Field(default=None, max_length=255)
    username: str | None = Field(default=None, max_length=50)


class PasswordLogin(CamelModel):
    email: str = Email
    password: str = Password


class ProviderLogin(CamelModel):
    provider: Provider
    provider_user_id: str = Field(min_length=1, max_length=100)
    access_token: str = Field(min_length=1, max_length=4096)


class TokenPair(CamelModel):
    user_id: int
    token: str = Field(description="Access token (JWT), sent as `Authorization: Bearer <token>`")
    refresh_token: str = Field(description="Single-use; exchange at /api/auth/token/refresh")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth 2 token type)
    expires_in: int = Field(description="Seconds until the access token expires")
    message: str


class RefreshRequest(CamelModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class Profile(CamelModel):
    user_id: int
    username: str
    email: str
    name: str
    avatar_url: str | None
    role: Role


class ProfileUpdate(CamelModel):
    name: str | None = Field(default=None, max_length=100)
    avatar_url: str | None = Field(default=None, max_length=255)


class ProfileUpdated(CamelModel):
    user_id: int
    message: str


class PasswordChange(CamelModel):
    current_password: str = Password
    new_password: str = Password


class ForgotPassword(CamelModel):
    email: str = Email


class ResetPassword(CamelModel):
    token: str = Field(min_length=1, max_length=2048)
    password: str = Password


class VerifyEmail(CamelModel):
    token: str = Field(min_length=1, max_length=2048)


class Message(CamelModel):
    message: str
