"""The OpenAPI document, committed as docs/api-spec.yaml (the seed asks for it there)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import yaml
from cryptography.fernet import Fernet

from api.app import create_app
from core.settings import Settings


def openapi_document() -> dict[str, Any]:
    # Throw-away secrets: the app is built only to describe it, and the document must not
    # depend on this machine's generated secrets.
    security = {"jwt_secret": secrets.token_urlsafe(32), "encryption_key": Fernet.generate_key()}
    paystack = {"secret_key": "sk_test_" + secrets.token_hex(20)}
    certificates = {"signing_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}
    settings = Settings(security=security, paystack=paystack, certificates=certificates)
    return create_app(settings).openapi()


def render_openapi() -> str:
    return yaml.safe_dump(openapi_document(), sort_keys=False, allow_unicode=True)


def write_openapi(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_openapi())
