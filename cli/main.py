"""``lms``: run, serve, migrate, seed and administer the platform from a shell.

Every command reads the same settings (``settings.toml`` + ``LMS_*`` variables) and exits
non-zero with a one-line message when it cannot do what was asked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypedDict

import typer
import uvicorn

from api.openapi import write_openapi
from core import migrations
from core.crypto import TokenCipher
from core.database import make_sync_engine, sync_session_factory, unit_of_work, units_of_work
from core.errors import ConfigurationError, DomainError
from core.logging import configure_logging
from core.settings import PROJECT_ROOT, Settings, get_settings
from integrations.storage import make_storage, storage_info
from jobs.tasks import build_jobs
from models import Role
from services.certificate_flows import issue_owed
from services.demo import DEMO_LOGINS, seed_demo
from services.users import create_user

app = typer.Typer(
    name="lms",
    help="Online learning platform: API, admin panel and job worker.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = get_settings()
    except (ConfigurationError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    configure_logging(settings)
    return settings


def _migrate(settings: Settings) -> tuple[str | None, str | None]:
    engine = make_sync_engine(settings)
    try:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        return before, migrations.current_revision(engine)
    finally:
        engine.dispose()


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema (does nothing when already there)."""
    settings = _settings()
    before, after = _migrate(settings)
    if before == after:
        typer.echo(f"Database already at revision {after}; nothing to do.")
    else:
        typer.echo(f"Database migrated from {before or 'empty'} to {after}.")


def _seed(settings: Settings) -> bool:
    cipher = TokenCipher.from_settings(settings)
    engine = make_sync_engine(settings)
    storage = make_storage(settings)
    try:
        sessions = sync_session_factory(engine, info=storage_info(storage))
        with unit_of_work(sessions) as session:
            loaded = seed_demo(session, cipher=cipher, public_url=settings.app.public_url)
        # The demo learners' certificates, rendered and stored as the job issues them (their
        # notices wait in the outbox for the worker).
        issued = issue_owed(units_of_work(sessions), storage, settings, older_than=timedelta(0))
        if issued:
            typer.echo(f"{issued} demo certificates issued.")
        return loaded
    finally:
        engine.dispose()


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo catalog, users, enrollments, payments and events (once)."""
    settings = _settings()
    if _seed(settings):
        typer.echo("Demo data loaded.")
    else:
        typer.echo("Demo data already present; nothing to do.")


@app.command("create-user")
def create_user_command(
    email: Annotated[str, typer.Option(help="Sign-in email address.")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[Role, typer.Option(case_sensitive=False)] = Role.STUDENT,
) -> None:
    """Create a user with the given role (the way to make the first admin)."""
    settings = _settings()
    engine = make_sync_engine(settings)
    try:
        with unit_of_work(sync_session_factory(engine)) as session:
            user = create_user(session, email=email, password=password, name=name, role=role)
            user_id, username = user.user_id, user.username
    except DomainError as exc:
        raise _fail(str(exc)) from exc
    finally:
        engine.dispose()
    typer.echo(f"Created {role.value} #{user_id} {username} <{email.strip().lower()}>.")


@app.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = PROJECT_ROOT
    / "docs"
    / "api-spec.yaml",
) -> None:
    """Write the OpenAPI 3 document of the API (docs/api-spec.yaml by default)."""
    write_openapi(output)
    typer.echo(f"OpenAPI document written to {output}.")


class ServerOptions(TypedDict):
    host: str
    port: int
    log_config: None
    proxy_headers: bool


def server_options(host: str, port: int) -> ServerOptions:
    """uvicorn's options for ``lms serve`` and ``lms run``.

    uvicorn's own proxy headers stay off: by default they believe X-Forwarded-For from any
    local peer, so a client could pick its address (and its per-IP rate limit). The app reads
    those headers itself, from ``server.trusted_proxies`` only (api/app.py).
    """
    return {"host": host, "port": port, "log_config": None, "proxy_headers": False}


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="API processes.")] = None,
) -> None:
    """Serve the API only (stateless: run as many as you like behind a load balancer)."""
    settings = _settings()
    uvicorn.run(
        "api.main:app",
        workers=workers or settings.server.workers,
        **server_options(host or settings.server.host, port or settings.server.port),
    )


@app.command()
def worker(
    workers: Annotated[int | None, typer.Option(min=1, help="Worker threads.")] = None,
) -> None:
    """Run the background job consumer (Huey)."""
    settings = _settings()
    jobs = build_jobs(settings)
    consumer = jobs.huey.create_consumer(
        workers=workers or settings.jobs.workers, worker_type="thread"
    )
    try:
        consumer.run()
    finally:
        jobs.close()


def _banner(settings: Settings, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        f"{settings.app.name} is running.",
        f"  API            {base}/api   (OpenAPI docs: {base}/docs)",
        f"  Admin panel    {base}/admin   (admins and instructors sign in there)",
        f"  Health         {base}/healthz   {base}/readyz",
        *(
            [f"  Paystack       {settings.paystack.base_url}   (offline sandbox, test cards)"]
            if settings.paystack.sandbox
            else []
        ),
        "  Job worker     running (Huey, "
        + ("Redis" if settings.redis.url else "SQLite in var/")
        + ")",
        "Demo logins:",
        *(f"  {login.role.value:<11}{login.email}  /  {login.password}" for login in DEMO_LOGINS),
        "Press Ctrl+C to stop.",
        "",
    ]
    return "\n".join(lines)


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
) -> None:
    """Everything on one machine: migrate, load the demo once, start the API and the worker."""
    settings = _settings()
    host = host or settings.server.host
    port = port or settings.server.port
    _, revision = _migrate(settings)
    typer.echo(f"Database ready at revision {revision}.")
    if _seed(settings):
        typer.echo("Demo data loaded.")
    worker_process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"], env=os.environ.copy()
    )
    config = uvicorn.Config("api.main:app", **server_options(host, port))
    server = uvicorn.Server(config)

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.1)
        if server.started:
            typer.echo(_banner(settings, host, port))

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()
    finally:
        worker_process.send_signal(signal.SIGINT)
        try:
            worker_process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker_process.kill()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
