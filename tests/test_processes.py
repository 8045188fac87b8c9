"""The real processes, as a developer starts them: `lms run`, `lms serve`, `lms worker`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from models import Course, User
from services.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.conftest import free_port

pytestmark = pytest.mark.slow

LMS = [sys.executable, "-m", "cli.main"]
STARTUP_SECONDS = 90


def env_for(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_")}
    env |= {
        "LMS_APP__VAR_DIR": str(var_dir),
        "LMS_DATABASE__URL": f"sqlite:///{var_dir}/lms.db",
        "LMS_JOBS__SQLITE_PATH": str(var_dir / "huey.db"),
        "LMS_REDIS__URL": "",
    }
    return env | extra


@contextmanager
def running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def wait_until_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"process exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"not healthy after {STARTUP_SECONDS}s:\n{log.read_text()}")


def children(pid: int) -> list[str]:
    output = subprocess.run(
        ["ps", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return output.stdout.splitlines()


def test_lms_run_starts_everything_with_demo_data(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "run.log"
    with running([*LMS, "run", "--port", str(port)], env_for(tmp_path), log) as process:
        wait_until_healthy(base, process, log)
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["data"]["database"] == "ok"
        assert any("cli.main worker" in line for line in children(process.pid))
        deadline = time.monotonic() + 10
        while "Demo logins" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        printed = log.read_text()
        assert f"{base}/api" in printed
        for login in DEMO_LOGINS:
            assert login.email in printed
        assert DEMO_PASSWORD in printed
    assert process.returncode is not None
    engine = create_engine(f"sqlite:///{tmp_path}/lms.db")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(User)) > 10
        assert conn.scalar(select(func.count()).select_from(Course)) > 5
    engine.dispose()
    # A second start finds the demo data and the schema in place and changes nothing.
    port = free_port()
    log2 = tmp_path / "run2.log"
    with running([*LMS, "run", "--port", str(port)], env_for(tmp_path), log2) as again:
        wait_until_healthy(f"http://127.0.0.1:{port}", again, log2)
    assert "Demo data loaded." not in log2.read_text()


def test_lms_serve_on_postgresql_and_redis(
    tmp_path: Path, postgres_databases: object, redis_url: str
) -> None:
    from core import migrations
    from core.database import make_sync_engine
    from tests.conftest import PostgresDatabases, base_settings

    assert isinstance(postgres_databases, PostgresDatabases)
    url = postgres_databases.create()
    engine = make_sync_engine(base_settings(tmp_path, url))
    migrations.upgrade(engine)
    engine.dispose()
    port = free_port()
    env = env_for(tmp_path, LMS_DATABASE__URL=url, LMS_REDIS__URL=redis_url)
    log = tmp_path / "serve.log"
    args = [*LMS, "serve", "--port", str(port), "--workers", "2"]
    with running(args, env, log) as process:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert ready.json()["data"] == {"database": "ok", "redis": "ok"}


def test_lms_worker_starts_and_stops_cleanly(tmp_path: Path, redis_url: str) -> None:
    log = tmp_path / "worker.log"
    env = env_for(tmp_path, LMS_REDIS__URL=redis_url)
    with running([*LMS, "worker"], env, log) as process:
        deadline = time.monotonic() + 30
        while "consumer" not in log.read_text().lower() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        assert process.poll() is None
    assert process.returncode == 0, log.read_text()
