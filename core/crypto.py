"""Encryption at rest for secrets we must keep (OAuth provider tokens): Fernet (AES-128-CBC +
HMAC-SHA256) with the platform's ``security.encryption_key``."""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from core.errors import ConfigurationError
from core.settings import Settings


class TokenCipher:
    def __init__(self, key: str) -> None:
        self._key = key.encode()
        try:
            self._fernet = Fernet(self._key)
        except ValueError as exc:
            raise ConfigurationError(
                "security.encryption_key must be 32 url-safe base64-encoded bytes"
            ) from exc

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCipher:
        if settings.security.encryption_key is None:
            raise ConfigurationError("security.encryption_key is not set")
        return cls(settings.security.encryption_key.get_secret_value())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("ciphertext was not made with this key or was altered") from exc

    @property
    def key_material(self) -> bytes:
        """Bytes to key a digest with (an HMAC), derived so they are not the key itself."""
        return hmac.new(self._key, b"lms digest key", hashlib.sha256).digest()
