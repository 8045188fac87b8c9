"""OAuth providers: turn an access token sent by a client into a verified identity.

The client's word is never taken: the server asks the provider who the token belongs to
(its user-info endpoint) and, when a client id is configured, that the token was issued to
this platform and not to some other app (Google's tokeninfo, Facebook's debug_token).
Base URLs are settings, so tests point them at a fake provider on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from core.settings import OAuthSettings

Provider = Literal["google", "facebook"]
PROVIDERS: tuple[Provider, ...] = ("google", "facebook")


@dataclass(frozen=True)
class ProviderIdentity:
    provider: Provider
    provider_user_id: str
    email: str | None
    email_verified: bool
    name: str | None
    avatar_url: str | None


class TokenRejected(Exception):
    """The provider does not recognise the token, or it was issued to another app."""


class ProviderUnavailable(Exception):
    """The provider could not be asked (network error, timeout, 5xx)."""


class ProviderNotConfigured(Exception):
    """This platform has no client id for the provider: its tokens cannot be checked."""


class OAuthVerifier:
    def __init__(self, settings: OAuthSettings, client: httpx.AsyncClient) -> None:
        self._settings = settings
        self._client = client

    async def identify(self, provider: Provider, access_token: str) -> ProviderIdentity:
        # Without our client id a token issued to any other app would be accepted, and any
        # app the user ever signed into could sign in here as them.
        settings = self._settings
        configured = {
            "google": bool(settings.google_client_id),
            "facebook": bool(settings.facebook_app_id and settings.facebook_app_secret),
        }
        if not configured[provider]:
            raise ProviderNotConfigured(provider)
        if provider == "google":
            return await self._google(access_token)
        return await self._facebook(access_token)

    async def _get(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.get(url, timeout=self._settings.timeout_seconds, **kwargs)
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise ProviderUnavailable(f"provider answered {response.status_code}")
        if response.status_code != 200:
            raise TokenRejected(f"provider answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise ProviderUnavailable("provider answered with something other than JSON") from exc
        if not isinstance(data, dict):
            raise ProviderUnavailable("unexpected answer from the provider")
        return data

    async def _google(self, token: str) -> ProviderIdentity:
        client_id = self._settings.google_client_id
        info = await self._get(self._settings.google_tokeninfo_url, params={"access_token": token})
        if client_id not in (info.get("aud"), info.get("azp")):
            raise TokenRejected("token issued to another client")
        profile = await self._get(
            self._settings.google_userinfo_url, headers={"Authorization": f"Bearer {token}"}
        )
        if not profile.get("sub"):
            raise TokenRejected("no subject in the user-info answer")
        return ProviderIdentity(
            provider="google",
            provider_user_id=str(profile["sub"]),
            email=profile.get("email"),
            email_verified=profile.get("email_verified") in (True, "true"),
            name=profile.get("name"),
            avatar_url=profile.get("picture"),
        )

    async def _facebook(self, token: str) -> ProviderIdentity:
        base = self._settings.facebook_graph_url.rstrip("/")
        app_id = self._settings.facebook_app_id
        secret = self._settings.facebook_app_secret
        assert secret is not None  # identify() checked the configuration
        app_token = f"{app_id}|{secret.get_secret_value()}"
        debug = await self._get(
            f"{base}/debug_token", params={"input_token": token, "access_token": app_token}
        )
        data = debug.get("data") or {}
        if not data.get("is_valid") or str(data.get("app_id")) != app_id:
            raise TokenRejected("token issued to another app or no longer valid")
        profile = await self._get(
            f"{base}/me",
            params={"fields": "id,name,email,picture.type(large)", "access_token": token},
        )
        if not profile.get("id"):
            raise TokenRejected("no id in the profile answer")
        picture = (profile.get("picture") or {}).get("data") or {}
        return ProviderIdentity(
            provider="facebook",
            provider_user_id=str(profile["id"]),
            email=profile.get("email"),
            # Facebook only ever shares an email address its owner has confirmed.
            email_verified=bool(profile.get("email")),
            name=profile.get("name"),
            avatar_url=picture.get("url"),
        )
