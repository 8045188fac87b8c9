"""A fake Google and Facebook on loopback, speaking their token and profile endpoints over
real HTTP, so the platform's OAuth code runs exactly as in production."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Query
from fastapi.responses import JSONResponse

from tests.fakes.server import ThreadedServer

GOOGLE_CLIENT_ID = "lms-test.apps.example.com"
FACEBOOK_APP_ID = "424242"
FACEBOOK_APP_SECRET = "fake-facebook-secret"


@dataclass
class IssuedToken:
    provider: str
    user_id: str
    email: str | None
    email_verified: bool = True
    name: str = "OAuth User"
    audience: str = ""


@dataclass
class FakeProvider:
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    down: bool = False
    calls: int = 0

    def issue(self, token: str, **values: Any) -> str:
        values.setdefault(
            "audience", GOOGLE_CLIENT_ID if values["provider"] == "google" else FACEBOOK_APP_ID
        )
        self.tokens[token] = IssuedToken(**values)
        return token

    def app(self) -> FastAPI:
        app = FastAPI()

        def lookup(token: str | None, provider: str) -> IssuedToken | None:
            self.calls += 1
            issued = self.tokens.get(token or "")
            return issued if issued and issued.provider == provider else None

        def unavailable() -> JSONResponse:
            return JSONResponse({"error": "backend down"}, status_code=503)

        @app.get("/google/userinfo")
        def google_userinfo(authorization: str = Header("")) -> Any:
            if self.down:
                return unavailable()
            issued = lookup(authorization.removeprefix("Bearer "), "google")
            if issued is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            return {
                "sub": issued.user_id,
                "email": issued.email,
                "email_verified": issued.email_verified,
                "name": issued.name,
                "picture": "https://images.example.com/avatar.png",
            }

        @app.get("/google/tokeninfo")
        def google_tokeninfo(access_token: str = Query("")) -> Any:
            if self.down:
                return unavailable()
            issued = lookup(access_token, "google")
            if issued is None:
                return JSONResponse({"error": "invalid_token"}, status_code=400)
            return {"aud": issued.audience, "azp": issued.audience, "sub": issued.user_id}

        @app.get("/facebook/debug_token")
        def facebook_debug(input_token: str = Query(""), access_token: str = Query("")) -> Any:
            if access_token != f"{FACEBOOK_APP_ID}|{FACEBOOK_APP_SECRET}":
                return JSONResponse({"error": {"message": "bad app token"}}, status_code=400)
            issued = lookup(input_token, "facebook")
            if issued is None:
                return {"data": {"is_valid": False}}
            return {
                "data": {"is_valid": True, "app_id": issued.audience, "user_id": issued.user_id}
            }

        @app.get("/facebook/me")
        def facebook_me(access_token: str = Query("")) -> Any:
            issued = lookup(access_token, "facebook")
            if issued is None:
                return JSONResponse({"error": {"message": "Invalid OAuth token"}}, status_code=400)
            profile: dict[str, Any] = {"id": issued.user_id, "name": issued.name}
            if issued.email:
                profile["email"] = issued.email
            return profile

        return app


class ProviderServer(ThreadedServer):
    def __init__(self, port: int) -> None:
        self.provider = FakeProvider()
        super().__init__(self.provider.app(), port)
