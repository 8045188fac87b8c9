"""A setting's name that is a typo stops the start-up, naming the closest real setting.

pydantic-settings would ignore ``LMS_SERVER__PUBLIC_URL`` (the setting is
``LMS_APP__PUBLIC_URL``) and keep the default without a word.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from core.errors import ConfigurationError
from core.settings import NOT_SETTINGS, PROJECT_ROOT, Settings, get_settings


def refused(match: str) -> AbstractContextManager[pytest.ExceptionInfo[ConfigurationError]]:
    return pytest.raises(ConfigurationError, match=match)


class TestEnvironment:
    def test_an_unknown_key_is_refused_with_the_closest_setting(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LMS_SERVER__PUBLIC_URL", "https://learn.example.com")
        with refused(
            r"LMS_SERVER__PUBLIC_URL \(\[server\] has no key public_url; "
            r"did you mean LMS_APP__PUBLIC_URL\?\)"
        ):
            Settings()

    def test_an_unknown_section_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LMS_SERVR__PORT", "9000")
        with refused(r"LMS_SERVR__PORT \(no section \[servr\]; did you mean LMS_SERVER__PORT\?\)"):
            Settings()

    def test_a_single_underscore_is_no_setting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LMS_DATABASE_URL", "postgresql+psycopg://u@db/lms")
        with refused(r"did you mean LMS_DATABASE__URL\?"):
            Settings()

    def test_a_field_name_behind_an_alias_is_no_setting(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The logging switch is spelt "json", as in settings.toml.
        monkeypatch.setenv("LMS_LOGGING__JSON_LINES", "true")
        with refused(r"did you mean LMS_LOGGING__JSON\?"):
            Settings()

    def test_names_are_read_case_insensitively_as_pydantic_does(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("lms_server__port", "9123")
        assert Settings().server.port == 9123
        monkeypatch.setenv("lms_server__prot", "9123")
        with refused(r"lms_server__prot .*did you mean LMS_SERVER__PORT\?"):
            Settings()

    def test_every_typo_is_named_at_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LMS_REDIS__URI", "redis://cache:6379/0")
        monkeypatch.setenv("LMS_SMTP__HOSTNAME", "mail")
        with pytest.raises(ConfigurationError) as error:
            Settings()
        assert "LMS_REDIS__URI" in str(error.value)
        assert "LMS_SMTP__HOSTNAME" in str(error.value)

    def test_no_close_setting_says_only_what_is_wrong(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LMS_XYZZY", "1")
        with pytest.raises(ConfigurationError) as error:
            Settings()
        assert str(error.value) == "Unknown settings: LMS_XYZZY (no section [xyzzy])"

    def test_every_real_setting_and_whole_sections_are_accepted(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LMS_APP__PUBLIC_URL", "https://learn.example.com")
        monkeypatch.setenv("LMS_SERVER__TRUSTED_PROXIES", '["10.0.0.0/8"]')
        monkeypatch.setenv("LMS_LOGGING__JSON", "true")
        monkeypatch.setenv("LMS_RATELIMIT", '{"enabled": false}')
        settings = Settings()
        assert settings.app.public_url == "https://learn.example.com"
        assert settings.server.trusted_proxies == ["10.0.0.0/8"]
        assert settings.logging.json_lines is True
        assert settings.ratelimit.enabled is False

    @pytest.mark.parametrize("name", sorted(NOT_SETTINGS))
    def test_the_variables_that_are_no_settings_are_allowed(
        self, monkeypatch: pytest.MonkeyPatch, name: str
    ) -> None:
        value = str(PROJECT_ROOT / "settings.toml") if name == "LMS_SETTINGS_FILE" else "x"
        monkeypatch.setenv(name, value)
        Settings()

    def test_other_variables_are_not_ours(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LMSX_ANYTHING", "1")
        monkeypatch.setenv("MY_LMS_SERVER__PUBLIC_URL", "1")
        Settings()


class TestSettingsFile:
    def use_file(self, monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> Path:
        path.write_text(text)
        monkeypatch.setenv("LMS_SETTINGS_FILE", str(path))
        return path

    def test_an_unknown_key_is_refused_with_the_closest_setting(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        file = self.use_file(
            monkeypatch, tmp_path / "settings.toml", '[server]\npublic_url = "https://x"\n'
        )
        with refused(rf"\[server\] public_url \(in {file}; did you mean \[app\] public_url\?\)"):
            Settings()

    def test_an_unknown_section_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        self.use_file(monkeypatch, tmp_path / "settings.toml", "[ratelimits]\nenabled = false\n")
        with refused(r"\[ratelimits\] enabled .*did you mean \[ratelimit\] enabled\?"):
            Settings()

    def test_a_key_outside_any_section_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        self.use_file(monkeypatch, tmp_path / "settings.toml", "prot = 9000\n")
        # "port" is a key of two sections: both are named.
        with refused(
            r"prot \(outside any \[section\] .*did you mean \[server\] port or \[smtp\] port\?\)"
        ):
            Settings()

    def test_the_committed_file_names_only_settings(self) -> None:
        Settings()


class TestStartUp:
    def test_a_command_stops_with_the_message(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LMS_SERVER__PUBLIC_URL", "https://learn.example.com")
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(cli, ["migrate"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 1
        assert "did you mean LMS_APP__PUBLIC_URL?" in result.output
