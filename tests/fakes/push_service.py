"""A fake web-push service on loopback (what a browser vendor runs), recording what the
platform pushes; endpoints whose id is "gone" answer 410 like a revoked subscription."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request, Response

from tests.fakes.server import ThreadedServer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def browser_keys() -> tuple[str, str]:
    """The p256dh and auth a browser's Push API hands to the page."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64(point), b64(os.urandom(16))


def vapid_keys() -> tuple[str, str]:
    """(public key for the page, private key PEM for the server)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return b64(public), private


@dataclass
class Pushed:
    subscription: str
    authorization: str
    encoding: str
    body: bytes


@dataclass
class PushService:
    received: list[Pushed] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/push/{subscription}")
        async def push(subscription: str, request: Request) -> Response:
            if subscription == "gone":
                return Response(status_code=410)
            self.received.append(
                Pushed(
                    subscription,
                    request.headers.get("authorization", ""),
                    request.headers.get("content-encoding", ""),
                    await request.body(),
                )
            )
            return Response(status_code=201)

        return app


class PushServer(ThreadedServer):
    def __init__(self, port: int) -> None:
        self.service = PushService()
        super().__init__(self.service.app(), port)
