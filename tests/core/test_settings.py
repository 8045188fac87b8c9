"""Settings: settings.toml defaults, LMS_<SECTION>__<KEY> overrides, secrets never committed."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from core.secrets import SECRETS_FILE, with_secrets
from core.settings import PROJECT_ROOT, Settings


class TestSources:
    def test_settings_toml_holds_every_setting_with_its_default(self) -> None:
        declared = tomllib.loads((PROJECT_ROOT / "settings.toml").read_text())
        defaults = Settings.model_fields
        for section, keys in declared.items():
            assert section in defaults, f"[{section}] is not a settings section"
            model = type(getattr(Settings(), section))
            known = {field.alias or name for name, field in model.model_fields.items()}
            assert set(keys) <= known, f"unknown keys in [{section}]: {set(keys) - known}"
        for section in defaults:
            assert section in declared, f"[{section}] is missing from settings.toml"

    def test_environment_overrides_the_file(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LMS_DATABASE__URL", "postgresql+psycopg://u@db:5432/lms")
        monkeypatch.setenv("LMS_REDIS__URL", "redis://cache:6379/0")
        monkeypatch.setenv("LMS_SERVER__PORT", "9123")
        monkeypatch.setenv("LMS_LOGGING__LEVEL", "debug")
        settings = Settings()
        assert settings.database.url == "postgresql+psycopg://u@db:5432/lms"
        assert settings.redis.url == "redis://cache:6379/0"
        assert settings.server.port == 9123
        assert settings.logging.level == "DEBUG"

    def test_without_environment_the_file_defaults_apply(self) -> None:
        settings = Settings()
        assert settings.server.port == 8000
        assert settings.database.url == "sqlite:///var/lms.db"
        assert settings.redis.url == ""

    def test_an_invalid_value_is_refused_with_its_name(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LMS_SERVER__PORT", "not-a-port")
        with pytest.raises(ValueError, match="port"):
            Settings()

    def test_relative_paths_are_relative_to_the_settings_file(self) -> None:
        settings = Settings()
        assert settings.var_dir == PROJECT_ROOT / "var"
        assert settings.path(Path("/abs/x")) == Path("/abs/x")


class TestSecrets:
    def test_embedded_default_generates_secrets_once_into_var(self, tmp_path: Path) -> None:
        settings = Settings(app={"var_dir": str(tmp_path)})  # type: ignore[arg-type]
        first = with_secrets(settings)
        second = with_secrets(settings)
        assert first.security.jwt_secret is not None
        assert first.security.encryption_key is not None
        assert first.paystack.secret_key is not None
        assert first.paystack.secret_key.get_secret_value().startswith("sk_test_")
        assert first.security.jwt_secret == second.security.jwt_secret
        secrets_file = tmp_path / SECRETS_FILE
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600

    def test_secrets_from_the_environment_win(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LMS_SECURITY__JWT_SECRET", "from-the-environment")
        settings = with_secrets(Settings(app={"var_dir": str(tmp_path)}))  # type: ignore[arg-type]
        assert settings.security.jwt_secret is not None
        assert settings.security.jwt_secret.get_secret_value() == "from-the-environment"

    def test_production_refuses_to_start_without_secrets(self, tmp_path: Path) -> None:
        settings = Settings(
            app={"var_dir": str(tmp_path), "environment": "production"},  # type: ignore[arg-type]
            paystack={"sandbox": False, "base_url": "https://api.paystack.co"},  # type: ignore[arg-type]
        )
        with pytest.raises(ConfigurationError, match="LMS_SECURITY__JWT_SECRET"):
            with_secrets(settings)
        assert not (tmp_path / SECRETS_FILE).exists()

    def test_secrets_are_not_in_the_committed_settings_file(self) -> None:
        text = (PROJECT_ROOT / "settings.toml").read_text()
        for key in ("jwt_secret =", "encryption_key =", "secret_key =", "password ="):
            assert key not in text

    def test_secrets_never_show_in_repr(self, tmp_path: Path) -> None:
        settings = with_secrets(Settings(app={"var_dir": str(tmp_path)}))  # type: ignore[arg-type]
        assert settings.security.jwt_secret is not None
        assert settings.security.jwt_secret.get_secret_value() not in repr(settings)


class TestPaystackSandbox:
    def test_is_refused_in_production(self, tmp_path: Path) -> None:
        # It approves any valid test card: in production it would give courses away.
        with pytest.raises(ConfigurationError, match=r"paystack\.sandbox approves test cards"):
            Settings(app={"var_dir": str(tmp_path), "environment": "production"})  # type: ignore[arg-type]

    def test_production_may_not_call_it_either(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match=r"paystack\.base_url points at the sandbox"):
            Settings(
                app={"var_dir": str(tmp_path), "environment": "production"},  # type: ignore[arg-type]
                paystack={"sandbox": False},  # type: ignore[arg-type]
            )

    def test_production_starts_with_it_off(self, tmp_path: Path) -> None:
        settings = Settings(
            app={"var_dir": str(tmp_path), "environment": "production"},  # type: ignore[arg-type]
            paystack={"sandbox": False, "base_url": "https://api.paystack.co"},  # type: ignore[arg-type]
        )
        assert not settings.paystack.sandbox
