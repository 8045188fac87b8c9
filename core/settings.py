"""The one typed settings object.

Values come, highest priority first, from keyword arguments (tests), environment variables
``LMS_<SECTION>__<KEY>``, ``settings.toml`` and the defaults below. Secrets never live in
``settings.toml``: they come from the environment, or on the embedded default from
``var/secrets.toml``, generated on first use (see :mod:`core.secrets`).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import ConfigurationError
from core.secrets import with_secrets

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "LMS_"
# The LMS_ variables that are read but are not settings: the settings file's own path, and
# the test suite's services (tests/conftest.py). Any other LMS_ variable must name a setting.
NOT_SETTINGS = frozenset({"LMS_SETTINGS_FILE", "LMS_TEST_POSTGRES", "LMS_TEST_REDIS"})


def settings_file() -> Path:
    return Path(os.environ.get("LMS_SETTINGS_FILE", PROJECT_ROOT / "settings.toml"))


class AppSettings(BaseModel):
    name: str = "Online Learning Platform"
    environment: Literal["development", "test", "production"] = "development"
    var_dir: Path = Path("var")
    public_url: str = "http://127.0.0.1:8000"
    frontend_url: str = "http://127.0.0.1:8000"


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    # The reverse proxies or load balancers in front of the API (IP addresses or CIDR
    # networks): only a connection from one of them may name the client in X-Forwarded-For
    # (and the scheme in X-Forwarded-Proto). Empty: the client is the connection's peer.
    trusted_proxies: list[str] = []

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        # uvicorn would take a malformed entry as a plain name and trust nobody with it.
        for entry in value:
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network (such as 10.0.0.0/8)"
                ) from None
        return value


class DatabaseSettings(BaseModel):
    url: str = "sqlite:///var/lms.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=20, ge=0)
    pool_timeout_seconds: float = Field(default=10, gt=0)
    # SQLite: how long a writer waits for the write lock (writers queue; past this, 503).
    sqlite_busy_timeout_seconds: float = Field(default=5, gt=0, le=60)


class RedisSettings(BaseModel):
    url: str = ""
    socket_timeout_seconds: float = Field(default=2, gt=0)


class SecuritySettings(BaseModel):
    jwt_secret: SecretStr | None = None
    encryption_key: SecretStr | None = None
    access_token_minutes: int = Field(default=15, ge=1)
    refresh_token_days: int = Field(default=14, ge=1)
    reset_token_minutes: int = Field(default=60, ge=1)
    verify_token_hours: int = Field(default=48, ge=1)


class OAuthSettings(BaseModel):
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    google_tokeninfo_url: str = "https://oauth2.googleapis.com/tokeninfo"
    google_client_id: str = ""
    facebook_graph_url: str = "https://graph.facebook.com/v19.0"
    facebook_app_id: str = ""
    facebook_app_secret: SecretStr | None = None
    timeout_seconds: float = Field(default=10, gt=0)


class RateLimitSettings(BaseModel):
    enabled: bool = True
    requests_per_minute: int = Field(default=100, ge=1)
    auth_attempts_per_minute: int = Field(default=10, ge=1)
    # The counting window: the limits above are per window of this many seconds.
    window_seconds: int = Field(default=60, ge=1)


SANDBOX_MOUNT = "/sandbox/paystack"


class PaystackSettings(BaseModel):
    # The offline sandbox this app mounts at SANDBOX_MOUNT by default; Paystack's API
    # (https://api.paystack.co) with a live secret key takes real money.
    base_url: str = "http://127.0.0.1:8000" + SANDBOX_MOUNT
    secret_key: SecretStr | None = None
    currency: str = Field(default="NGN", pattern=r"^(NGN|GHS|ZAR|KES|USD)$")
    timeout_seconds: float = Field(default=10, gt=0)
    # Where Paystack sends the payer's browser back (empty: this API's own callback), and
    # the frontend page the callback then opens with ?reference=...&status=...
    callback_url: str = ""
    result_url: str = ""
    # Reconciliation: payments still pending after this long are verified with Paystack; a
    # checkout nobody paid after abandon_after_minutes is failed.
    reconcile_after_minutes: int = Field(default=10, ge=0)
    abandon_after_minutes: int = Field(default=1440, ge=1)
    # The offline sandbox (never in production): its state file, and where it posts its
    # webhooks (empty: this API's own webhook route).
    sandbox: bool = True
    sandbox_path: Path = Path("var/paystack-sandbox.db")
    sandbox_webhook_url: str = ""


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    username: str = ""
    password: SecretStr | None = None
    starttls: bool = False
    use_tls: bool = False
    sender: str = "Online Learning Platform <no-reply@learn.example.com>"
    timeout_seconds: float = Field(default=10, gt=0)


class NotificationSettings(BaseModel):
    max_attempts: int = Field(default=5, ge=1)
    # Retries wait base, 2 x base, 4 x base... seconds.
    retry_base_seconds: float = Field(default=30, ge=0)
    # How long a worker holds a notification it is sending.
    claim_seconds: int = Field(default=300, ge=1)
    # Events older than this and still unprocessed are handed to the worker again.
    sweep_grace_seconds: int = Field(default=60, ge=0)
    reminder_idle_days: int = Field(default=7, ge=1)
    reminder_period_days: int = Field(default=7, ge=1)


class WebPushSettings(BaseModel):
    # Web push is active only when both VAPID keys are set (the private one from the
    # environment: LMS_WEBPUSH__VAPID_PRIVATE_KEY).
    vapid_public_key: str = ""
    vapid_private_key: SecretStr | None = None
    subject: str = "mailto:admin@learn.example.com"
    timeout_seconds: float = Field(default=10, gt=0)
    # Push services are public HTTPS endpoints; plain http is for a local test service only.
    allow_http_endpoints: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.vapid_public_key and self.vapid_private_key)


class StorageSettings(BaseModel):
    backend: Literal["local", "s3"] = "local"
    local_root: Path = Path("var/media")
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_region: str = "us-east-1"
    s3_endpoint_url: str = ""


class CertificateSettings(BaseModel):
    # The platform's Ed25519 key that signs every certificate's verifiable credential: 32
    # random bytes, url-safe base64 (the embedded default generates one into var/). Anyone
    # holding it can issue credentials in the platform's name: production sets it from a
    # secret store (LMS_CERTIFICATES__SIGNING_KEY) and keeps it across deploys.
    signing_key: SecretStr | None = None


class MediaSettings(BaseModel):
    # Uploads are checked by their content (magic bytes), never by name or declared type.
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    allowed_types: list[str] = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "application/pdf",
    ]


class AdminSettings(BaseModel):
    # How long a panel sign-in lasts; signing out or deactivation ends it sooner.
    session_hours: int = Field(default=12, ge=1)


class JobsSettings(BaseModel):
    sqlite_path: Path = Path("var/huey.db")
    workers: int = Field(default=2, ge=1)
    # Processes sharing a queue name share the work (Redis key prefix, SQLite table rows).
    queue_name: str = Field(default="lms", min_length=1, max_length=50)
    # Run each task at once, in the process that enqueues it, after the commit (tests,
    # debugging); never in production, where a slow channel would hold up the request.
    immediate: bool = False


class ApiSettings(BaseModel):
    max_page_size: int = Field(default=100, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    cors_origins: list[str] = []
    # The largest body of any request but an upload (uploads: media.max_upload_bytes). The
    # largest legitimate one is a full quiz: 100 questions of 1,000 characters with 10
    # choices of 300, about 0.4 MB of ASCII and 2.4 MB with every character \u-escaped.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    def page_size(self, requested: int | None) -> int:
        """The rows a page holds: the default when none is asked for, and never more than
        the maximum (a larger request is capped, not refused)."""
        return min(requested or self.default_page_size, self.max_page_size)


class LoggingSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = Field(default=False, alias="json")

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        populate_by_name=True,
    )

    app: AppSettings = AppSettings()
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    security: SecuritySettings = SecuritySettings()
    oauth: OAuthSettings = OAuthSettings()
    ratelimit: RateLimitSettings = RateLimitSettings()
    paystack: PaystackSettings = PaystackSettings()
    smtp: SmtpSettings = SmtpSettings()
    notifications: NotificationSettings = NotificationSettings()
    webpush: WebPushSettings = WebPushSettings()
    storage: StorageSettings = StorageSettings()
    media: MediaSettings = MediaSettings()
    certificates: CertificateSettings = CertificateSettings()
    admin: AdminSettings = AdminSettings()
    jobs: JobsSettings = JobsSettings()
    api: ApiSettings = ApiSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=settings_file())
        # pydantic-settings ignores a name that is no setting, so a typo would leave the
        # default in force without a word: refuse it at start-up instead.
        check_setting_names(settings_cls, environ=os.environ, file_values=toml.toml_data)
        return (init_settings, env_settings, toml)

    # Relative paths are relative to the folder holding settings.toml, not to the
    # current directory, so `lms` behaves the same wherever it is started from.
    def path(self, value: Path) -> Path:
        return value if value.is_absolute() else settings_file().resolve().parent / value

    @property
    def var_dir(self) -> Path:
        return self.path(self.app.var_dir)

    @property
    def is_production(self) -> bool:
        return self.app.environment == "production"

    @model_validator(mode="after")
    def _no_sandbox_in_production(self) -> Settings:
        # The sandbox approves any valid card number: in production it would give courses away.
        # ConfigurationError, not ValueError: pydantic would bury the words in a dump of
        # every setting.
        if self.is_production and self.paystack.sandbox:
            raise ConfigurationError(
                "paystack.sandbox approves test cards and must be off in production "
                "(LMS_PAYSTACK__SANDBOX=false)"
            )
        if self.is_production and self.paystack.base_url.rstrip("/").endswith(SANDBOX_MOUNT):
            raise ConfigurationError(
                "paystack.base_url points at the sandbox: set LMS_PAYSTACK__BASE_URL to "
                "Paystack's API (https://api.paystack.co) in production"
            )
        return self

    @property
    def paystack_callback_url(self) -> str:
        public = self.app.public_url.rstrip("/")
        return self.paystack.callback_url or f"{public}/api/payments/callback"

    @property
    def frontend_base(self) -> str:
        """The frontend's address without a trailing slash: the start of every link sent
        to users (emails, notices, redirects)."""
        return self.app.frontend_url.rstrip("/")

    @property
    def payment_result_url(self) -> str:
        return self.paystack.result_url or f"{self.frontend_base}/payments/result"

    @property
    def paystack_webhook_url(self) -> str:
        return self.paystack.sandbox_webhook_url or (
            f"{self.app.public_url.rstrip('/')}/api/payments/webhooks/paystack"
        )


def setting_keys(settings_cls: type[BaseSettings]) -> dict[str, set[str]]:
    """Every section and its keys, spelt as settings.toml and the environment spell them."""
    keys: dict[str, set[str]] = {}
    for section, field in settings_cls.model_fields.items():
        model = field.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"settings section {section} is not a model")
        keys[section] = {spec.alias or name for name, spec in model.model_fields.items()}
    return keys


def _did_you_mean(name: str, candidates: list[str]) -> str:
    match = difflib.get_close_matches(name, candidates, n=1)
    return f"; did you mean {match[0]}?" if match else ""


def _unknown_variables(environ: Mapping[str, str], keys: dict[str, set[str]]) -> list[str]:
    variables = sorted(
        f"{ENV_PREFIX}{section}__{key}".upper() for section, names in keys.items() for key in names
    )
    # LMS_<SECTION> alone is a setting too: the whole section as JSON.
    known = {*variables, *(f"{ENV_PREFIX}{section}".upper() for section in keys)}
    problems = []
    for variable in sorted(environ):
        # pydantic-settings reads the names case-insensitively.
        name = variable.upper()
        if not name.startswith(ENV_PREFIX) or name in known or name in NOT_SETTINGS:
            continue
        section, _, key = name.removeprefix(ENV_PREFIX).lower().partition("__")
        where = f"[{section}] has no key {key}" if section in keys else f"no section [{section}]"
        problems.append(f"{variable} ({where}{_did_you_mean(name, variables)})")
    return problems


def _sections_holding(key: str, keys: dict[str, set[str]]) -> str:
    """The hint for a key outside any section: every section holding the closest key
    (``port`` is in [server] and in [smtp])."""
    match = difflib.get_close_matches(
        key, sorted({name for names in keys.values() for name in names})
    )
    places = [
        f"[{section}] {match[0]}" for section, names in keys.items() if match and match[0] in names
    ]
    return f"; did you mean {' or '.join(places)}?" if places else ""


def _unknown_file_keys(file_values: Mapping[str, object], keys: dict[str, set[str]]) -> list[str]:
    known = sorted(f"[{section}] {key}" for section, names in keys.items() for key in names)
    file = settings_file()
    problems = []
    for section, table in file_values.items():
        if not isinstance(table, dict):
            if section not in keys:  # a known section that is no table fails validation
                hint = _sections_holding(section, keys)
                problems.append(f"{section} (outside any [section] in {file}{hint})")
            continue
        for key in table:
            if key not in keys.get(section, ()):
                entry = f"[{section}] {key}"
                problems.append(f"{entry} (in {file}{_did_you_mean(entry, known)})")
    return problems


def check_setting_names(
    settings_cls: type[BaseSettings],
    *,
    environ: Mapping[str, str],
    file_values: Mapping[str, object],
) -> None:
    """Raise ``ConfigurationError`` naming every LMS_ variable and settings-file key that is
    no setting, each with the closest real name."""
    keys = setting_keys(settings_cls)
    problems = _unknown_variables(environ, keys) + _unknown_file_keys(file_values, keys)
    if problems:
        raise ConfigurationError("Unknown settings: " + ", ".join(problems))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, with secrets resolved (generated on the embedded default)."""
    return with_secrets(Settings())
