"""A fake web-push service on loopback (what a browser vendor runs), recording what the
platform pushes; endpoints whose id is "gone" answer 410 like a revoked subscription."""

from __future__ import annotations

import base64
import os
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request, Response


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


class PushServer:
    def __init__(self, port: int) -> None:
        self.service = PushService()
        self.base_url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            self.service.app(), host="127.0.0.1", port=port, log_level="warning", log_config=None
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake push service did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
