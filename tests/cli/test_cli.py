"""The ``lms`` command line: clear messages, non-zero exits on bad arguments."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.openapi import render_openapi
from cli.main import app
from core.settings import PROJECT_ROOT, Settings
from models import Role, User

runner = CliRunner()


class TestCreateUser:
    def test_creates_an_admin(self, cli_env: Settings, session: Session) -> None:
        result = runner.invoke(
            app,
            [
                "create-user",
                "--email",
                "Root@Example.com",
                "--password",
                "long-enough-root-pass",
                "--name",
                "Root",
                "--role",
                "admin",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "Created admin" in result.output
        user = session.scalars(select(User).where(User.email == "root@example.com")).one()
        assert user.role is Role.ADMIN

    def test_a_duplicate_email_fails_with_a_message(self, cli_env: Settings) -> None:
        args = [
            "create-user",
            "--email",
            "a@example.com",
            "--password",
            "long-enough-root-pass",
            "--name",
            "A",
        ]
        assert runner.invoke(app, args).exit_code == 0
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "Email already registered" in result.output

    def test_a_weak_password_fails_with_a_message(self, cli_env: Settings) -> None:
        result = runner.invoke(
            app, ["create-user", "--email", "a@example.com", "--password", "short", "--name", "A"]
        )
        assert result.exit_code == 1
        assert "at least 8 characters" in result.output

    def test_a_common_password_fails_with_a_message(self, cli_env: Settings) -> None:
        result = runner.invoke(
            app,
            ["create-user", "--email", "a@example.com", "--password", "password", "--name", "A"],
        )
        assert result.exit_code == 1
        assert "too easy to guess" in result.output

    def test_an_unknown_role_is_a_usage_error(self, cli_env: Settings) -> None:
        result = runner.invoke(
            app,
            [
                "create-user",
                "--email",
                "a@example.com",
                "--password",
                "long-enough-root-pass",
                "--name",
                "A",
                "--role",
                "superuser",
            ],
        )
        assert result.exit_code == 2
        assert "superuser" in result.output

    def test_missing_options_are_a_usage_error(self, cli_env: Settings) -> None:
        result = runner.invoke(app, ["create-user", "--email", "a@example.com"])
        assert result.exit_code == 2
        assert "Missing option" in result.output


class TestMigrateAndSeed:
    def test_migrate_on_an_up_to_date_database_changes_nothing(self, cli_env: Settings) -> None:
        result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output
        assert "nothing to do" in result.output

    def test_seed_demo_loads_once(self, cli_env: Settings) -> None:
        first = runner.invoke(app, ["seed-demo"])
        second = runner.invoke(app, ["seed-demo"])
        assert first.exit_code == second.exit_code == 0
        assert "Demo data loaded." in first.output
        assert "already present" in second.output


class TestOpenApi:
    def test_writes_the_document(self, tmp_path: Path) -> None:
        target = tmp_path / "spec.yaml"
        result = runner.invoke(app, ["openapi", "--output", str(target)])
        assert result.exit_code == 0, result.output
        document = yaml.safe_load(target.read_text())
        assert document["openapi"].startswith("3.")
        assert "/readyz" in document["paths"]

    def test_the_committed_document_is_up_to_date(self) -> None:
        committed = (PROJECT_ROOT / "docs" / "api-spec.yaml").read_text()
        assert committed == render_openapi(), "docs/api-spec.yaml is stale: run `make openapi`"


def test_unknown_commands_fail() -> None:
    result = runner.invoke(app, ["launch-rockets"])
    assert result.exit_code == 2
