"""Secrets: from the environment in production, generated once into ``var/`` otherwise.

A new developer must not have to invent a JWT secret to try the platform, yet no secret may
ever be committed. On the embedded default the missing ones are generated into
``var/secrets.toml`` (git-ignored, mode 0600) and reused on every later start, so tokens and
encrypted columns survive restarts.
"""

from __future__ import annotations

import base64
import os
import secrets
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, SecretStr

from core.errors import ConfigurationError

if TYPE_CHECKING:  # core.settings calls this module to resolve its secrets
    from core.settings import Settings

SECRETS_FILE = "secrets.toml"

# (section, key) -> generator of a fresh value for the embedded default.
_GENERATED: dict[tuple[str, str], object] = {
    ("security", "jwt_secret"): lambda: secrets.token_urlsafe(48),
    # A Fernet key: 32 random bytes, url-safe base64.
    ("security", "encryption_key"): lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    # An Ed25519 private key (its 32-byte seed), for the certificates' credentials.
    ("certificates", "signing_key"): lambda: (
        base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    ),
    # A key of Paystack's test shape, for development (production sets its own).
    ("paystack", "secret_key"): lambda: "sk_test_" + secrets.token_hex(20),
}


def _missing(settings: Settings) -> list[tuple[str, str]]:
    return [
        (section, key)
        for section, key in _GENERATED
        if getattr(getattr(settings, section), key) is None
    ]


def _load_or_create(path: Path, wanted: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    stored: dict[str, dict[str, str]] = {}
    if path.exists():
        stored = tomllib.loads(path.read_text())
    changed = False
    for section, key in wanted:
        if key not in stored.get(section, {}):
            generator = _GENERATED[(section, key)]
            stored.setdefault(section, {})[key] = generator()  # type: ignore[operator]
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["# Generated secrets of this machine's embedded platform. Never commit this file."]
        for section, values in stored.items():
            lines.append(f"\n[{section}]")
            lines.extend(f'{key} = "{value}"' for key, value in values.items())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
    return stored


def with_secrets(settings: Settings) -> Settings:
    """Return ``settings`` with every secret set, or fail in production if one is missing."""
    missing = _missing(settings)
    if not missing:
        return settings
    if settings.is_production:
        names = ", ".join(f"LMS_{s.upper()}__{k.upper()}" for s, k in missing)
        raise ConfigurationError(f"Missing secrets in production: set {names}")
    stored = _load_or_create(settings.var_dir / SECRETS_FILE, missing)
    updates: dict[str, BaseModel] = {}
    for section, key in missing:
        current: BaseModel = updates.get(section) or getattr(settings, section)
        updates[section] = current.model_copy(update={key: SecretStr(stored[section][key])})
    return settings.model_copy(update=updates)
